"""The planner: schedule -> outbox rows, idempotent, only for who may still be messaged."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.messaging import contacts, planner
from safezone.messaging.base import Policy
from safezone.messaging.models import Message, SendCampaign
from tests.messaging.conftest import (
    MORNING,
    OTHER_DISTRICT_COMMUNE,
    MakeCampaign,
    MakeContact,
    phone,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _plan(db: Database, policy: Policy, campaign_id: int, now: dt.datetime = MORNING) -> int:
    with db.session() as session:
        return planner.plan(session, session.get_one(SendCampaign, campaign_id), policy, now=now)


def _messages(db: Database) -> list[Message]:
    with db.session() as session:
        rows = list(session.scalars(select(Message).order_by(Message.step, Message.contact_id)))
        session.expunge_all()
        return rows


def test_schedule_becomes_rows_once(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    for n in range(3):
        make_contact(n)
    campaign_id = make_campaign(max_sends=5, interval_days=3, send_time="09:00")
    # Horizon 7 days from 30/11: steps on 30/11, 03/12, 06/12.
    assert _plan(db, policy, campaign_id) == 9
    assert _plan(db, policy, campaign_id) == 0  # idempotent
    rows = _messages(db)
    assert {(m.step, m.day) for m in rows} == {
        (0, dt.date(2026, 11, 30)),
        (1, dt.date(2026, 12, 3)),
        (2, dt.date(2026, 12, 6)),
    }
    first = rows[0]
    assert first.due_at.astimezone(VN).time() == dt.time(9, 0)
    assert first.next_attempt_at == first.due_at
    assert first.not_after == first.due_at + dt.timedelta(hours=24)
    assert (first.status, first.rank, first.channel, first.attempts) == ("queued", 0, "sms", 0)
    # A week later the rest is planned; nothing is written twice.
    assert _plan(db, policy, campaign_id, MORNING + dt.timedelta(days=7)) == 6
    assert len(_messages(db)) == 15


def test_only_consenting_active_uninstalled_contacts_in_the_subtree(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    keep = make_contact(1)
    make_contact(2, consent=None)
    make_contact(3, unit=OTHER_DISTRICT_COMMUNE)
    make_contact(4)
    make_contact(5)
    make_contact(6, source="import")
    with db.session() as session:
        contacts.opt_out(session, phone(4), "staff:x", vault=policy.vault)
        contacts.mark_installed(session, phone(5), "bluezone", "visit", vault=policy.vault)
    campaign_id = make_campaign(max_sends=1, sources=",visit,")
    assert _plan(db, policy, campaign_id) == 1
    assert [m.contact_id for m in _messages(db)] == [keep]
    with db.session() as session:
        reach = planner.reach(
            session, session.get_one(SendCampaign, campaign_id), policy, now=MORNING
        )
    assert (reach.in_units, reach.no_consent, reach.opted_out, reach.installed, reach.eligible) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert reach.earliest_send == MORNING  # 10:00 local: now, inside the window


def test_draft_campaigns_are_not_planned_and_past_steps_not_backfilled(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    make_contact(1)
    draft = make_campaign(status="draft")
    assert _plan(db, policy, draft) == 0
    late = make_campaign(starts_on=dt.date(2026, 11, 20), interval_days=3, max_sends=5)
    # Steps on 20, 23, 26, 29/11 are past; 02/12 is the one left.
    assert _plan(db, policy, late) == 1
    assert [m.step for m in _messages(db)] == [4]


def test_reach_counts_capped_contacts_and_quiet_hours(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    contact_id = make_contact(1)
    make_contact(2)
    other = make_campaign(max_sends=1, app_code=None)
    _plan(db, policy, other)
    with db.session() as session:
        for message in session.scalars(select(Message).where(Message.contact_id == contact_id)):
            message.status, message.rank = "sent", 1
            message.sent_at = MORNING - dt.timedelta(hours=1)
        # Two more sends earlier today from other campaigns (written as sent rows).
        for step in (7, 8):
            session.add(
                Message(
                    campaign_id=other,
                    step=step,
                    contact_id=contact_id,
                    day=dt.date(2026, 11, 30),
                    unit_code="22015",
                    template_id=session.get_one(SendCampaign, other).template_id,
                    status="sent",
                    rank=1,
                    due_at=MORNING,
                    next_attempt_at=MORNING,
                    not_after=MORNING,
                    sent_at=MORNING - dt.timedelta(hours=2),
                )
            )
    campaign_id = make_campaign(max_sends=1, send_time="23:00")
    with db.session() as session:
        reach = planner.reach(
            session, session.get_one(SendCampaign, campaign_id), policy, now=MORNING
        )
        count = session.scalar(select(func.count()).select_from(Message))
    assert reach.eligible == 2
    assert reach.capped == 1
    # Due 23:00 local: the earliest send is 07:00 the next morning.
    assert reach.earliest_send.astimezone(VN) == dt.datetime(2026, 12, 1, 7, 0, tzinfo=VN)
    assert count == 4


def test_the_worker_plans_every_approved_send(
    db: Database, settings: object, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    from safezone.messaging.tasks import PLAN_JOB
    from safezone.runtime import build_registry

    make_contact(1)
    make_campaign(starts_on=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1), max_sends=1)
    registry = build_registry(settings)  # type: ignore[arg-type]
    with db.session() as session:
        registry.handlers[PLAN_JOB](session, {})
    assert len(_messages(db)) == 1
