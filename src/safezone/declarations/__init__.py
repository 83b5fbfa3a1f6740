"""Health declarations: citizen form and API, daily updates, QR pass, staff review, privacy."""
