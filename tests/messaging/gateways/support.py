"""Seeding and composing for the gateway tests (no dependency on the contacts service).

Contacts are sealed with a test vault; every message text is unique (it carries the message
id), so the fake SMSC's count per (number, text) is a count per message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.messaging.base import vault_for
from safezone.messaging.channels.base import Outgoing
from safezone.messaging.models import Contact, Message, SendCampaign, Template
from safezone.messaging.sender import Composer
from safezone.vault import Vault

COMMUNE = "22015"


def phone_of(n: int) -> str:
    """The n-th test number (Viettel-like prefix 090)."""
    return f"+8490{5000000 + n:07d}"


def text_for(message_id: int) -> str:
    """The unique Vietnamese text of a message."""
    return f"SafeZone #{message_id}: Hãy cài đặt Bluezone để bảo vệ bạn và gia đình."


def composer(settings: Settings) -> Composer:
    """Test composer: number from messaging's vault, text unique per message."""
    vault = vault_for(settings)

    def compose(session: Session, message: Message, contact: Contact) -> Outgoing:
        return Outgoing(
            message_id=message.id,
            phone=str(vault.get(contact, "contact_phone")),
            text=text_for(message.id),
            zns_template_id="tpl-1",
            zns_data={"message": str(message.id)},
        )

    return compose


@dataclass
class Seeded:
    """What :func:`seed` made."""

    campaign_id: int
    contact_ids: list[int]
    message_ids: list[int]
    phones: dict[int, str]  # contact id -> number


def seed(
    db: Database,
    vault: Vault,
    *,
    contacts: int,
    policy: str = "sms_only",
    app_code: str | None = "bluezone",
    due: dt.datetime | None = None,
    valid: dt.timedelta = dt.timedelta(days=1),
    first: int = 0,
    messages_per_contact: int = 1,
) -> Seeded:
    """A template, a campaign and ``contacts`` contacts with one queued message each."""
    due = due or utcnow()
    with db.session() as session:
        template = Template(
            name=f"t{first}-{policy}",
            body_vi="Hãy cài đặt Bluezone",
            unit_code=COMMUNE,
            created_by="tester",
            app_code=app_code,
            zns_template_id="tpl-1",
        )
        session.add(template)
        session.flush()
        campaign = SendCampaign(
            name="reminders",
            template_id=template.id,
            unit_code=COMMUNE,
            app_code=app_code,
            channel_policy=policy,
            starts_on=due.date(),
            created_by="tester",
            status="approved",
        )
        session.add(campaign)
        session.flush()
        phones: dict[int, str] = {}
        contact_ids: list[int] = []
        message_ids: list[int] = []
        for index in range(first, first + contacts):
            contact = Contact(unit_code=COMMUNE, source="import", language="vi", status="active")
            vault.seal(contact, contact_phone=phone_of(index))
            session.add(contact)
            session.flush()
            phones[contact.id] = phone_of(index)
            contact_ids.append(contact.id)
            for step in range(messages_per_contact):
                message = Message(
                    campaign_id=campaign.id,
                    step=step,
                    contact_id=contact.id,
                    day=due.date(),
                    unit_code=COMMUNE,
                    template_id=template.id,
                    due_at=due,
                    next_attempt_at=due,
                    not_after=due + valid,
                )
                session.add(message)
                session.flush()
                message_ids.append(message.id)
        return Seeded(campaign.id, contact_ids, message_ids, phones)


def statuses(db: Database, ids: list[int]) -> dict[int, str]:
    """Message id -> status."""
    with db.read_session() as session:
        return {m.id: m.status for m in session.query(Message).filter(Message.id.in_(ids))}
