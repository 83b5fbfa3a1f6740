"""Fixtures for the messaging tests: the policy, contacts, templates, campaigns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.messaging import contacts
from safezone.messaging.base import Policy
from safezone.messaging.models import Contact, SendCampaign, Template
from safezone.messaging.templating import TemplateIn, create_template
from safezone.units.models import Unit

#: Phường 1 and Phường 2 of Tuy Hòa (district 555); Xã Xuân Lâm is in Sông Cầu (557).
COMMUNE = "22015"
OTHER_COMMUNE_SAME_DISTRICT = "22021"
DISTRICT = "555"
OTHER_DISTRICT = "557"
OTHER_DISTRICT_COMMUNE = "22052"
#: 10:00 local on a Monday, inside the window.
MORNING = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)
CONSENT = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)


def phone(n: int) -> str:
    """A distinct valid Viettel number per ``n``."""
    return f"+8498{n:07d}"


@pytest.fixture
def policy(settings: Settings) -> Policy:
    """The messaging policy of the test settings."""
    return Policy.from_settings(settings)


MakeContact = Callable[..., int]


@pytest.fixture
def make_contact(db: Database, policy: Policy) -> MakeContact:
    """Create a contact with consent: ``make_contact(1, unit=COMMUNE)`` -> its id."""

    def factory(
        n: int,
        unit: str = COMMUNE,
        language: str = "vi",
        source: str = "visit",
        consent: dt.datetime | None = CONSENT,
    ) -> int:
        with db.session() as session:
            contact, _ = contacts.upsert_contact(
                session,
                phone(n),
                unit,
                language,
                source,
                consent,
                "volunteer-7",
                vault=policy.vault,
                now=MORNING,
            )
            return contact.id

    return factory


@pytest.fixture
def template_id(db: Database) -> int:
    """A public-health reminder about Bluezone with a confirmation link."""
    with db.session() as session:
        unit = session.get_one(Unit, "54")
        template = create_template(
            session,
            TemplateIn(
                name="nhac-bluezone",
                klass="public_health",
                body_vi="Hãy cài {{ app }} để phòng dịch: {{ link }}",
                body_en="Please install {{ app }}: {{ link }}",
                app_code="bluezone",
            ),
            unit=unit,
            actor="officer",
        )
        return template.id


MakeCampaign = Callable[..., int]


@pytest.fixture
def make_campaign(db: Database, template_id: int) -> MakeCampaign:
    """An approved campaign: ``make_campaign(unit=DISTRICT, max_sends=5)`` -> its id."""

    def factory(
        unit: str = DISTRICT,
        starts_on: dt.date = dt.date(2026, 11, 30),
        send_time: str = "09:00",
        interval_days: int = 3,
        max_sends: int = 5,
        status: str = "approved",
        app_code: str | None = "bluezone",
        sources: str = "",
    ) -> int:
        with db.session() as session:
            campaign = SendCampaign(
                name="Nhắc cài Bluezone",
                template_id=template_id,
                unit_code=unit,
                app_code=app_code,
                sources=sources,
                channel_policy="sms_only",
                starts_on=starts_on,
                send_time=send_time,
                interval_days=interval_days,
                max_sends=max_sends,
                status=status,
                created_by="officer",
            )
            session.add(campaign)
            session.flush()
            return campaign.id

    return factory


def get_contact(db: Database, contact_id: int) -> Contact:
    """A detached copy of a contact."""
    with db.session() as session:
        contact = session.get_one(Contact, contact_id)
        session.expunge(contact)
        return contact


__all__ = ["Template"]
