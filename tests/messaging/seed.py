"""Messaging data for the page walk (tests/browser/test_pages.py): contacts, a template, an
approved send with planned reminders, some sent, delivered and clicked, and a live link."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from safezone.accounts.service import Scope
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.messaging import contacts, delivery, links, service
from safezone.messaging.base import Policy
from safezone.messaging.models import Message
from safezone.messaging.templating import TemplateIn, create_template
from safezone.units.models import Unit

COMMUNES = ("22015", "22021")


def seed_messaging(
    settings: Settings, db: Database, *, officer: str, district: str
) -> dict[str, object]:
    """Returns the path values: ``msg_campaign_id`` and ``link_token``."""
    policy = Policy.from_settings(settings)
    now = utcnow()
    with db.session() as session:
        for n in range(12):
            contacts.upsert_contact(
                session,
                f"+8498{n:07d}",
                COMMUNES[n % 2],
                "vi" if n % 3 else "en",
                "visit",
                now - dt.timedelta(days=3),
                "volunteer-1",
                vault=policy.vault,
            )
        template = create_template(
            session,
            TemplateIn(
                name="nhac-cai-bluezone",
                klass="public_health",
                body_vi="Sở Y tế Phú Yên: hãy cài {{ app }} để phòng dịch COVID-19: {{ link }}",
                body_en="Phu Yen Health Department: please install {{ app }}: {{ link }}",
                app_code="bluezone",
            ),
            unit=session.get_one(Unit, "54"),
            actor=officer,
        )
        scope = Scope(district, session.get_one(Unit, district).path)
        campaign = service.compose(
            session,
            policy,
            scope,
            officer,
            service.CampaignIn(
                name="Nhắc cài Bluezone",
                template_id=template.id,
                unit_code=district,
                starts_on=policy.local_day(now),
                send_time="09:00",
                app_code="bluezone",
                max_sends=3,
                interval_days=2,
            ),
        )
        service.submit(session, policy, campaign, officer)
        messages = list(
            session.scalars(select(Message).where(Message.step == 0).order_by(Message.contact_id))
        )
        token = ""
        for i, message in enumerate(messages[:8]):
            rendered = delivery.render_message(session, policy, message)
            message.status = "delivered" if i < 6 else "sent"
            message.rank = 2 if i < 6 else 1
            message.sent_at = now - dt.timedelta(hours=1)
            if i < 6:
                message.delivered_at = now
            token = rendered.text.rsplit("/i/", 1)[1]
        session.flush()
        first = messages[0]
        first_token = links.message_token(policy, first.id)
        links.open_link(session, first_token)
        links.confirm(session, first_token)
        return {"msg_campaign_id": campaign.id, "link_token": token}
