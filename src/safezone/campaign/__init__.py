"""The rollout campaign: apps promoted, targets, adoption figures and coverage, organisations,
and the door-to-door drive (households, teams, visits). See docs/campaign.md."""
