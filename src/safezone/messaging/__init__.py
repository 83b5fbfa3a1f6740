"""Messaging: contacts and consent, templates, the outbox, the law (quiet hours, caps,
opt-out), the reminder planner and install-confirmation links.

Used by the rollout campaign (and later by declarations); it knows nothing of them beyond a
campaign id and the "contact installed" callback (see :mod:`safezone.messaging.hooks`).
"""

from safezone.messaging.contacts import rekey

__all__ = ["rekey"]
