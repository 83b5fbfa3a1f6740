"""The planner: a campaign's schedule -> outbox rows, in bulk, idempotently.

Each step ``k`` of a campaign is due on ``starts_on + k * interval_days`` at the campaign's
local send time. For every step due from today up to ``plan_days_ahead`` days ahead, one
``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` writes a row per eligible contact: active,
consent recorded, in the unit subtree, from the chosen sources, and not having installed the
campaign's app. The idempotency key (campaign, step, contact, day) makes a re-run, a double
click or a restarted planner write nothing twice. The law is checked again when a sender
claims a row (:func:`safezone.messaging.law.decide`), so a contact who opts out or installs
after planning gets nothing more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    and_,
    exists,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from safezone.db.base import UtcDateTime, utcnow
from safezone.messaging.base import Policy
from safezone.messaging.law import next_window_start
from safezone.messaging.models import (
    STATUS_RANK,
    Contact,
    ContactApp,
    Message,
    SendCampaign,
)
from safezone.units.models import Unit
from safezone.units.service import subtree_of

#: Campaign statuses whose schedule the planner expands.
PLANNABLE = ("approved",)


def unpack(packed: str) -> list[str]:
    """``",visit,import,"`` -> ``["visit", "import"]``."""
    return [item for item in packed.split(",") if item]


def pack(items: list[str] | tuple[str, ...]) -> str:
    """The inverse of :func:`unpack` (a LIKE-friendly packed list)."""
    return "," + ",".join(items) + "," if items else ""


def step_day(campaign: SendCampaign, step: int) -> dt.date:
    """The local day step ``step`` is due."""
    return campaign.starts_on + dt.timedelta(days=step * campaign.interval_days)


def due_instant(campaign: SendCampaign, day: dt.date, policy: Policy) -> dt.datetime:
    """The campaign's local send time on ``day``, in UTC."""
    hour, minute = (int(part) for part in campaign.send_time.split(":"))
    local = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=policy.zone)
    return local.astimezone(dt.UTC)


def first_channel(campaign: SendCampaign) -> str:
    """The channel a message starts on under the campaign's policy."""
    return "zns" if campaign.channel_policy in ("zns_then_sms", "zns_only") else "sms"


def audience(campaign: SendCampaign, unit_path: str) -> Select[int, str]:
    """Contacts a campaign may message now: (contact id, unit code)."""
    query = (
        select(Contact.id, Contact.unit_code)
        .join(Unit, Unit.code == Contact.unit_code)
        .where(
            subtree_of(Unit.path, unit_path),
            Contact.status == "active",
            Contact.consent_at.is_not(None),
        )
    )
    sources = unpack(campaign.sources)
    if sources:
        query = query.where(Contact.source.in_(sources))
    if campaign.app_code:
        query = query.where(
            ~exists().where(
                and_(ContactApp.contact_id == Contact.id, ContactApp.app_code == campaign.app_code)
            )
        )
    return query


def _rows_for_step(
    campaign: SendCampaign,
    unit_path: str,
    step: int,
    day: dt.date,
    policy: Policy,
    now: dt.datetime,
) -> Select[*tuple[Any, ...]]:
    due = due_instant(campaign, day, policy)
    not_after = due + dt.timedelta(hours=campaign.valid_hours)
    eligible = audience(campaign, unit_path).subquery()
    stamp = UtcDateTime()
    return (
        select(
            literal(campaign.id, Integer()),
            literal(step, Integer()),
            eligible.c.id,
            literal(day, Date()),
            eligible.c.unit_code,
            literal(campaign.template_id, Integer()),
            literal(first_channel(campaign), String()),
            literal("queued", String()),
            literal(STATUS_RANK["queued"], Integer()),
            literal(0, Integer()),
            literal(due, stamp),
            literal(due, stamp),
            literal(not_after, stamp),
            literal(now, stamp),
            literal(now, stamp),
        )
        .select_from(eligible)
        .where(true())
    )  # SQLite: "WHERE" keeps ON CONFLICT unambiguous


_COLUMNS = (
    "campaign_id",
    "step",
    "contact_id",
    "day",
    "unit_code",
    "template_id",
    "channel",
    "status",
    "rank",
    "attempts",
    "due_at",
    "next_attempt_at",
    "not_after",
    "created_at",
    "updated_at",
)


def _insert(session: Session, rows: Select[*tuple[Any, ...]]) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Message)
        .from_select(list(_COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=["campaign_id", "step", "contact_id", "day"])
    )
    # SQLAlchemy keeps an INSERT's row count only when asked (preserve_rowcount).
    result = session.connection().execute(statement, execution_options={"preserve_rowcount": True})
    return int(getattr(result, "rowcount", 0) or 0)


def plan(
    session: Session, campaign: SendCampaign, policy: Policy, *, now: dt.datetime | None = None
) -> int:
    """Write the outbox rows of every step due from today to the planning horizon; returns
    how many rows were new. Past steps are not back-filled: a reminder is about its day."""
    if campaign.status not in PLANNABLE:
        return 0
    now = now or utcnow()
    today = policy.local_day(now)
    horizon = today + dt.timedelta(days=policy.config.plan_days_ahead)
    unit = session.get(Unit, campaign.unit_code)
    if unit is None:  # pragma: no cover - a foreign key keeps it
        return 0
    written = 0
    for step in range(campaign.max_sends):
        day = step_day(campaign, step)
        if day > horizon:
            break
        if day < today:
            continue
        written += _insert(session, _rows_for_step(campaign, unit.path, step, day, policy, now))
    last_day = step_day(campaign, campaign.max_sends - 1)
    campaign.planned_through = min(horizon, last_day)
    campaign.updated_at = now
    return written


def plan_all(session: Session, policy: Policy, *, now: dt.datetime | None = None) -> int:
    """Plan every approved campaign (the periodic planner job)."""
    campaigns = session.scalars(
        select(SendCampaign).where(SendCampaign.status.in_(PLANNABLE)).order_by(SendCampaign.id)
    ).all()
    return sum(plan(session, campaign, policy, now=now) for campaign in campaigns)


# --- what a send would do ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reach:
    """Recipients of a campaign before it is sent: why people are left out, who waits."""

    in_units: int  # contacts in the unit subtree (and sources)
    no_consent: int
    opted_out: int
    invalid: int
    installed: int
    eligible: int  # will be messaged
    capped: int  # of the eligible, how many wait for the rolling cap at the first send
    first_send: dt.datetime  # the first due time, moved into the window
    earliest_send: dt.datetime  # when the first message can go out given quiet hours


def reach(
    session: Session, campaign: SendCampaign, policy: Policy, *, now: dt.datetime | None = None
) -> Reach:
    """Counts for the preview: recipients after consent, opt-out, installs and caps."""
    now = now or utcnow()
    unit = session.get(Unit, campaign.unit_code)
    assert unit is not None
    base = (
        select(Contact.status, Contact.consent_at.is_(None), func.count())
        .join(Unit, Unit.code == Contact.unit_code)
        .where(subtree_of(Unit.path, unit.path))
        .group_by(Contact.status, Contact.consent_at.is_(None))
    )
    sources = unpack(campaign.sources)
    if sources:
        base = base.where(Contact.source.in_(sources))
    counts = {"active": 0, "opted_out": 0, "invalid": 0}
    no_consent = 0
    for status, missing_consent, count in session.execute(base):
        if missing_consent and status == "active":
            no_consent += count
        else:
            counts[status] = counts.get(status, 0) + count
    eligible_ids = audience(campaign, unit.path).subquery()
    eligible = session.scalar(select(func.count()).select_from(eligible_ids)) or 0
    installed = max(counts["active"] - eligible, 0)
    today = policy.local_day(now)
    first_day = max(campaign.starts_on, today)
    first_due = max(due_instant(campaign, first_day, policy), now)
    earliest = next_window_start(first_due, policy.rules)
    window_start = earliest - policy.rules.cap_window
    recent = (
        select(Message.contact_id)
        .where(
            Message.contact_id.in_(select(eligible_ids.c.id)),
            Message.sent_at > window_start,
            Message.sent_at <= earliest,
        )
        .group_by(Message.contact_id)
        .having(func.count() >= policy.rules.cap)
        .subquery()
    )
    capped = session.scalar(select(func.count()).select_from(recent)) or 0
    return Reach(
        in_units=sum(counts.values()) + no_consent,
        no_consent=no_consent,
        opted_out=counts["opted_out"],
        invalid=counts["invalid"],
        installed=installed,
        eligible=eligible,
        capped=capped,
        first_send=first_due,
        earliest_send=earliest,
    )


def cancel_campaign_queue(
    session: Session, campaign_id: int, reason: str, *, now: dt.datetime | None = None
) -> int:
    """Cancel a campaign's messages that no sender has touched yet."""
    now = now or utcnow()
    result = session.execute(
        update(Message)
        .where(
            Message.campaign_id == campaign_id,
            Message.rank == STATUS_RANK["queued"],
            Message.submitted_at.is_(None),
        )
        .values(status="cancelled", rank=STATUS_RANK["cancelled"], reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
