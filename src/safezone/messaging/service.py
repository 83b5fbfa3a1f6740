"""Send campaigns: compose, preview, submit, approve by a second officer, cancel; progress
and the funnel. Every lookup goes through the caller's unit scope (out of scope = not found).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope, record
from safezone.db.base import utcnow
from safezone.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from safezone.messaging import planner
from safezone.messaging.base import APP_CODES, Policy
from safezone.messaging.models import (
    CHANNEL_POLICIES,
    CONTACT_SOURCES,
    Link,
    Message,
    SendCampaign,
    Template,
)
from safezone.messaging.templating import Preview, preview
from safezone.units.models import Unit

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


@dataclass(frozen=True, slots=True)
class CampaignIn:
    """A send as composed by an officer."""

    name: str
    template_id: int
    unit_code: str
    starts_on: dt.date
    send_time: str = "09:00"
    app_code: str | None = None
    sources: tuple[str, ...] = ()
    channel_policy: str = "sms_only"
    interval_days: int = 3
    max_sends: int = 1
    valid_hours: int = 24
    campaign_ref: int | None = None


def not_found() -> NotFound:
    """The one answer for a campaign that is missing or out of scope."""
    return NotFound.single("id", "campaign_not_found", "Không tìm thấy đợt gửi.", "No such send.")


def _field(field_name: str, code: str, vi: str, en: str) -> FieldError:
    return FieldError(field_name, code, vi, en)


def validate(session: Session, scope: Scope, data: CampaignIn, today: dt.date) -> list[FieldError]:
    """Every problem with a composed send, by field."""
    errors: list[FieldError] = []
    if not data.name.strip() or len(data.name) > 120:
        errors.append(
            _field(
                "name",
                "invalid",
                "Tên phải có 1 đến 120 ký tự.",
                "The name needs 1 to 120 characters.",
            )
        )
    if session.get(Template, data.template_id) is None:
        errors.append(
            _field("template_id", "unknown", "Không có mẫu tin này.", "No such template.")
        )
    unit = session.get(Unit, data.unit_code)
    if unit is None or not scope.contains(unit):
        errors.append(
            _field(
                "unit_code",
                "out_of_scope",
                "Đơn vị không thuộc địa bàn của bạn.",
                "The unit is not in your area.",
            )
        )
    if data.app_code is not None and data.app_code not in APP_CODES:
        errors.append(
            _field("app_code", "invalid_choice", "Ứng dụng không hợp lệ.", "Unknown app.")
        )
    bad_sources = [s for s in data.sources if s not in CONTACT_SOURCES]
    if bad_sources:
        errors.append(_field("sources", "invalid_choice", "Nguồn không hợp lệ.", "Unknown source."))
    if data.channel_policy not in CHANNEL_POLICIES:
        errors.append(
            _field(
                "channel_policy", "invalid_choice", "Kênh không hợp lệ.", "Unknown channel policy."
            )
        )
    if not _TIME.match(data.send_time):
        errors.append(
            _field(
                "send_time", "invalid", "Giờ gửi phải dạng HH:MM.", "The send time must be HH:MM."
            )
        )
    if data.starts_on < today:
        errors.append(
            _field("starts_on", "in_past", "Ngày bắt đầu đã qua.", "The start day is in the past.")
        )
    if data.starts_on > today + dt.timedelta(days=366):
        errors.append(
            _field(
                "starts_on", "too_far", "Ngày bắt đầu quá xa.", "The start day is too far ahead."
            )
        )
    if not 1 <= data.interval_days <= 60:
        errors.append(
            _field(
                "interval_days",
                "out_of_range",
                "Khoảng cách từ 1 đến 60 ngày.",
                "The interval is 1 to 60 days.",
            )
        )
    if not 1 <= data.max_sends <= 20:
        errors.append(
            _field(
                "max_sends", "out_of_range", "Số lần gửi từ 1 đến 20.", "Between 1 and 20 sends."
            )
        )
    if not 1 <= data.valid_hours <= 72:
        errors.append(
            _field(
                "valid_hours",
                "out_of_range",
                "Hiệu lực từ 1 đến 72 giờ.",
                "Valid for 1 to 72 hours.",
            )
        )
    return errors


def compose(
    session: Session,
    policy: Policy,
    scope: Scope,
    actor: str,
    data: CampaignIn,
    *,
    now: dt.datetime | None = None,
) -> SendCampaign:
    """A new draft send, after full validation (nothing stored on error)."""
    now = now or utcnow()
    errors = validate(session, scope, data, policy.local_day(now))
    if errors:
        raise InvalidInput(*errors)
    campaign = SendCampaign(
        name=data.name.strip(),
        campaign_ref=data.campaign_ref,
        template_id=data.template_id,
        unit_code=data.unit_code,
        app_code=data.app_code,
        sources=planner.pack(list(data.sources)),
        channel_policy=data.channel_policy,
        starts_on=data.starts_on,
        send_time=data.send_time,
        interval_days=data.interval_days,
        max_sends=data.max_sends,
        valid_hours=data.valid_hours,
        status="draft",
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    session.flush()
    record(
        session,
        actor=actor,
        action="messaging.compose",
        object_type="msg_campaign",
        object_id=campaign.id,
        unit_code=campaign.unit_code,
    )
    return campaign


def get(session: Session, scope: Scope, campaign_id: int) -> SendCampaign:
    """A send inside the caller's scope; NotFound otherwise."""
    row = session.execute(
        select(SendCampaign)
        .join(Unit, Unit.code == SendCampaign.unit_code)
        .where(SendCampaign.id == campaign_id, scope.where(Unit.path))
    ).scalar_one_or_none()
    if row is None:
        raise not_found()
    return row


def list_campaigns(session: Session, scope: Scope, limit: int = 100) -> list[SendCampaign]:
    """Sends inside the caller's scope, newest first."""
    return list(
        session.scalars(
            select(SendCampaign)
            .join(Unit, Unit.code == SendCampaign.unit_code)
            .where(scope.where(Unit.path))
            .order_by(SendCampaign.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True, slots=True)
class CampaignPreview:
    """Everything the officer sees before sending."""

    reach: planner.Reach
    texts: list[Preview]
    needs_approval: bool
    cost: dict[str, int] = field(default_factory=dict)  # channel -> VND for every recipient


def preview_campaign(
    session: Session, policy: Policy, campaign: SendCampaign, *, now: dt.datetime | None = None
) -> CampaignPreview:
    """Recipients after consent, opt-out, installs and caps; text, segments, cost; earliest
    send time; whether a second officer must approve."""
    reach = planner.reach(session, campaign, policy, now=now)
    template = session.get_one(Template, campaign.template_id)
    texts = preview(template, policy.config.prices)
    sends = reach.eligible * campaign.max_sends  # at most: reminders stop for installers
    worst = max(texts, key=lambda p: p.segments.parts)
    cost = {channel: price * sends for channel, price in worst.cost.items()}
    return CampaignPreview(
        reach=reach,
        texts=texts,
        needs_approval=reach.eligible > policy.config.approval_threshold,
        cost=cost,
    )


def _conflict(vi: str, en: str) -> Conflict:
    return Conflict.single("status", "wrong_status", vi, en)


def submit(
    session: Session,
    policy: Policy,
    campaign: SendCampaign,
    actor: str,
    *,
    now: dt.datetime | None = None,
) -> SendCampaign:
    """Send a draft: straight to approved (and planned) when small enough, else it waits for
    a second officer's approval."""
    now = now or utcnow()
    if campaign.status != "draft":
        raise _conflict("Đợt gửi không còn là bản nháp.", "The send is no longer a draft.")
    reach = planner.reach(session, campaign, policy, now=now)
    campaign.recipient_count = reach.eligible
    campaign.updated_at = now
    if reach.eligible > policy.config.approval_threshold:
        campaign.status = "pending_approval"
    else:
        campaign.status = "approved"
        campaign.approved_by = actor
        campaign.approved_at = now
    record(
        session,
        actor=actor,
        action="messaging.submit",
        object_type="msg_campaign",
        object_id=campaign.id,
        unit_code=campaign.unit_code,
        detail={"recipients": reach.eligible, "status": campaign.status},
    )
    if campaign.status == "approved":
        planner.plan(session, campaign, policy, now=now)
    return campaign


def approve(
    session: Session,
    policy: Policy,
    campaign: SendCampaign,
    approver: str,
    *,
    now: dt.datetime | None = None,
) -> SendCampaign:
    """A second officer approves a large send; the composer cannot approve their own."""
    now = now or utcnow()
    if campaign.status != "pending_approval":
        raise _conflict("Đợt gửi không chờ duyệt.", "The send is not waiting for approval.")
    if approver == campaign.created_by:
        raise Forbidden.single(
            "approver",
            "same_officer",
            "Người soạn không thể tự duyệt; cần một cán bộ khác.",
            "The composer cannot approve their own send; another officer must.",
        )
    campaign.status = "approved"
    campaign.approved_by = approver
    campaign.approved_at = now
    campaign.updated_at = now
    record(
        session,
        actor=approver,
        action="messaging.approve",
        object_type="msg_campaign",
        object_id=campaign.id,
        unit_code=campaign.unit_code,
    )
    planner.plan(session, campaign, policy, now=now)
    return campaign


def cancel(
    session: Session, campaign: SendCampaign, actor: str, *, now: dt.datetime | None = None
) -> int:
    """Stop a send: nothing more is planned, queued messages are cancelled; returns how many."""
    now = now or utcnow()
    if campaign.status in ("cancelled", "finished"):
        raise _conflict("Đợt gửi đã kết thúc.", "The send has ended.")
    campaign.status = "cancelled"
    campaign.updated_at = now
    record(
        session,
        actor=actor,
        action="messaging.cancel",
        object_type="msg_campaign",
        object_id=campaign.id,
        unit_code=campaign.unit_code,
    )
    return planner.cancel_campaign_queue(session, campaign.id, "campaign_cancelled", now=now)


# --- progress and funnel ------------------------------------------------------------------------


def progress(session: Session, campaign_id: int) -> dict[str, int]:
    """Messages of a send by status (every status present, zero when none)."""
    counts = dict.fromkeys(("queued", "sent", "delivered", "failed", "cancelled"), 0)
    for status, count in session.execute(
        select(Message.status, func.count())
        .where(Message.campaign_id == campaign_id)
        .group_by(Message.status)
    ):
        counts[status] = count
    return counts


STAGES: tuple[str, ...] = ("planned", "sent", "delivered", "clicked", "confirmed")


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """The funnel of one unit and template."""

    unit_code: str
    template_id: int
    planned: int
    sent: int
    delivered: int
    clicked: int
    confirmed: int

    def stages(self) -> list[int]:
        """The counts in funnel order."""
        return [self.planned, self.sent, self.delivered, self.clicked, self.confirmed]


def funnel(session: Session, scope: Scope, *, campaign_id: int | None = None) -> list[FunnelRow]:
    """planned -> sent -> delivered -> clicked -> confirmed installed, per unit and template,
    inside the caller's scope (cancelled messages were never planned to go out: excluded)."""
    query = (
        select(
            Message.unit_code,
            Message.template_id,
            func.count(),
            func.count(Message.sent_at),  # handed to a gateway, whatever came after
            func.sum(case((Message.status == "delivered", 1), else_=0)),
        )
        .join(Unit, Unit.code == Message.unit_code)
        .where(scope.where(Unit.path), Message.status != "cancelled")
        .group_by(Message.unit_code, Message.template_id)
    )
    link_query = (
        select(
            Link.unit_code,
            Link.template_id,
            func.count(Link.clicked_at),
            func.count(Link.confirmed_at),
        )
        .join(Unit, Unit.code == Link.unit_code)
        .where(scope.where(Unit.path), Link.message_id.is_not(None))
        .group_by(Link.unit_code, Link.template_id)
    )
    if campaign_id is not None:
        query = query.where(Message.campaign_id == campaign_id)
        link_query = link_query.where(Link.campaign_id == campaign_id)
    clicks = {(u, t): (c, k) for u, t, c, k in session.execute(link_query)}
    rows = []
    for unit_code, template_id, planned, sent_count, delivered in session.execute(query):
        clicked, confirmed = clicks.get((unit_code, template_id), (0, 0))
        rows.append(
            FunnelRow(
                unit_code,
                template_id,
                int(planned),
                int(sent_count or 0),
                int(delivered or 0),
                int(clicked),
                int(confirmed),
            )
        )
    return sorted(rows, key=lambda r: (r.unit_code, r.template_id))


def totals(rows: list[FunnelRow]) -> list[int]:
    """The funnel summed over rows, in stage order."""
    return [sum(row.stages()[i] for row in rows) for i in range(len(STAGES))]
