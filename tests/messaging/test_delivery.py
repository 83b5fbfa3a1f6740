"""What the sender asks at claim time: the law with the contact's state now."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select

from safezone.db.engine import Database
from safezone.messaging import contacts, delivery, law, planner
from safezone.messaging.base import Policy
from safezone.messaging.models import Message, SendCampaign
from tests.messaging.conftest import MakeCampaign, MakeContact, phone

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = dt.date(2026, 11, 30)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=VN).astimezone(dt.UTC)


def _setup(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> tuple[int, int]:
    contact_id = make_contact(1)
    campaign_id = make_campaign(starts_on=DAY, max_sends=1, send_time="21:59")
    with db.session() as session:
        planner.plan(session, session.get_one(SendCampaign, campaign_id), policy, now=at(8))
        message_id = session.scalars(select(Message.id)).one()
    return contact_id, message_id


def _check(db: Database, policy: Policy, message_id: int, now: dt.datetime) -> law.Decision:
    with db.session() as session:
        return delivery.check(session, policy, session.get_one(Message, message_id), now=now)


def test_due_at_21_59_and_not_out_by_22_00_waits_until_07_00(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    _, message_id = _setup(db, policy, make_contact, make_campaign)
    assert _check(db, policy, message_id, at(21, 59)) == law.Decision("send")
    assert _check(db, policy, message_id, at(22, 0)) == law.Decision(
        "defer", "quiet_hours", at(7, 0, DAY + dt.timedelta(days=1))
    )


def test_the_cap_counts_every_campaign_and_in_flight_messages(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    contact_id, message_id = _setup(db, policy, make_contact, make_campaign)
    other = make_campaign(starts_on=DAY, max_sends=1, app_code=None)
    with db.session() as session:
        template_id = session.get_one(SendCampaign, other).template_id
        for step, (sent, submitted) in enumerate(
            [(at(9), None), (at(10), None), (None, at(11))]  # the third is still in flight
        ):
            session.add(
                Message(
                    campaign_id=other,
                    step=step + 10,
                    contact_id=contact_id,
                    day=DAY,
                    unit_code="22015",
                    template_id=template_id,
                    status="sent" if sent else "queued",
                    rank=1 if sent else 0,
                    due_at=at(9),
                    next_attempt_at=at(9),
                    not_after=at(23),
                    sent_at=sent,
                    submitted_at=submitted,
                )
            )
    decision = _check(db, policy, message_id, at(21, 59))
    assert decision == law.Decision("defer", "cap", at(9, 0, DAY + dt.timedelta(days=1)))


def test_opt_out_and_install_cancel_at_claim_time(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    _, message_id = _setup(db, policy, make_contact, make_campaign)
    with db.session() as session:
        # Written directly (as if an opt-out raced the claim): the check still sees it.
        contact = contacts.find(session, policy.vault, phone(1))
        assert contact is not None
        contact.status = "opted_out"
    assert _check(db, policy, message_id, at(12)) == law.Decision("cancel", "opted_out")
    with db.session() as session:
        contact = contacts.find(session, policy.vault, phone(1))
        assert contact is not None
        contact.status = "active"
        contacts.mark_contact_installed(session, contact, "bluezone", "mo")
    assert _check(db, policy, message_id, at(12)) == law.Decision("cancel", "installed")


def test_a_cancelled_send_cancels_at_claim_time(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    _, message_id = _setup(db, policy, make_contact, make_campaign)
    with db.session() as session:
        session.scalars(select(SendCampaign)).one().status = "cancelled"
    assert _check(db, policy, message_id, at(12)).action == "cancel"
