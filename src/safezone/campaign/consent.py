"""Consents given at the door become messaging contacts (``safezone.messaging``'s service)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from safezone.campaign.visits import ConsentGiven, ConsentHook
from safezone.config import Settings
from safezone.messaging import base as messaging_base
from safezone.messaging import contacts as messaging_contacts


def to_messaging(settings: Settings) -> ConsentHook:
    """A hook creating (or updating) the contact of each consent, with the apps installed."""
    vault = messaging_base.vault_for(settings)

    def hook(session: Session, given: ConsentGiven) -> None:
        messaging_contacts.upsert_contact(
            session,
            given.phone,
            given.unit_code,
            "vi",
            "visit",
            given.at,
            given.volunteer,
            vault=vault,
            consent_method=given.source,
        )
        for app_code in given.installed:
            messaging_contacts.mark_installed(session, given.phone, app_code, "visit", vault=vault)

    return hook
