"""Tables of the messaging domain (prefix ``msg_``).

Phone numbers live encrypted in ``phone_enc`` with a blind index (``phone_index``, unique: one
contact per number). Everything the planner, the sender and the funnel must query in bulk is a
plain column: unit, language, status, app installs, message status and timestamps.

The outbox (:class:`Message`) is the single source of truth of what is sent: one row per
(campaign, step, contact, day), written in the same transaction as the decision to send it.
``rank`` mirrors ``status`` as a number so a status update can be made monotonic in SQL
(``UPDATE ... WHERE rank < :new_rank``): a late delivery report never moves a message back.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow
from safezone.vault import Personal

#: Contact statuses. "installed" is per app (:class:`ContactApp`), not a status.
CONTACT_STATUSES: tuple[str, ...] = ("active", "opted_out", "invalid")
#: Where a contact came from.
CONTACT_SOURCES: tuple[str, ...] = ("visit", "declaration", "import")
LANGUAGES: tuple[str, ...] = ("vi", "en")
#: Template classes; advertising carries the ``[QC]`` label (Decree 91/2020).
TEMPLATE_CLASSES: tuple[str, ...] = ("public_health", "advertising")
CHANNELS: tuple[str, ...] = ("sms", "zns")
#: Channel policies of a campaign.
CHANNEL_POLICIES: tuple[str, ...] = ("sms_only", "zns_then_sms", "zns_only")
#: Campaign lifecycle (approval by a second officer above a configurable size).
CAMPAIGN_STATUSES: tuple[str, ...] = (
    "draft",
    "pending_approval",
    "approved",
    "paused",
    "finished",
    "cancelled",
)

#: Message statuses and their rank. Terminal statuses share the top rank: the first terminal
#: status wins and nothing moves a message back.
STATUS_RANK: dict[str, int] = {
    "queued": 0,
    "sent": 1,
    "delivered": 2,
    "failed": 2,
    "cancelled": 2,
}
MESSAGE_STATUSES: tuple[str, ...] = tuple(STATUS_RANK)
TERMINAL_RANK = 2


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Contact(Base):
    """A person who may receive messages: one row per phone number (E.164).

    The consent record says when, how (``consent_method``: the source's own word, e.g.
    ``door_to_door``, ``declaration_form``, ``import:<file>``) and by whom (a user name, a
    volunteer id or ``citizen``) consent was given.
    """

    __tablename__ = "msg_contacts"
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("contact_phone", "phone_enc", index="phone_index"),
    )
    __table_args__ = (
        CheckConstraint(f"status IN ({_quoted(CONTACT_STATUSES)})", name="status"),
        CheckConstraint(f"source IN ({_quoted(CONTACT_SOURCES)})", name="source"),
        CheckConstraint(f"language IN ({_quoted(LANGUAGES)})", name="language"),
        Index("ix_msg_contacts_unit_status", "unit_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_index: Mapped[str] = mapped_column(String(64), unique=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    # Carrier by number prefix (data file), e.g. "viettel"; None when the prefix is unknown.
    carrier: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(2), default="vi")
    source: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(10), default="active")
    consent_at: Mapped[dt.datetime | None]
    consent_method: Mapped[str | None] = mapped_column(String(60))
    consent_by: Mapped[str | None] = mapped_column(String(64))
    opted_out_at: Mapped[dt.datetime | None]
    opt_out_source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ContactApp(Base):
    """An app a contact has installed (``ncovi``, ``bluezone``, ``safezone``), and who said so."""

    __tablename__ = "msg_contact_apps"
    __table_args__ = (UniqueConstraint("contact_id", "app_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("msg_contacts.id", ondelete="CASCADE"))
    app_code: Mapped[str] = mapped_column(String(20), index=True)
    # visit | mo | link | import | staff
    source: Mapped[str] = mapped_column(String(20))
    installed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Template(Base):
    """A message text in Vietnamese and English with ``{{ variables }}`` (sandboxed Jinja2)."""

    __tablename__ = "msg_templates"
    __table_args__ = (CheckConstraint(f"klass IN ({_quoted(TEMPLATE_CLASSES)})", name="klass"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    klass: Mapped[str] = mapped_column(String(16), default="public_health")
    body_vi: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text, default="")
    # Send the text without Vietnamese diacritics (GSM-7: cheaper, 160 characters a part).
    strip_diacritics: Mapped[bool] = mapped_column(default=False)
    # The app the template promotes; its store links go to the confirmation page.
    app_code: Mapped[str | None] = mapped_column(String(20))
    # ZNS: the template id approved by Zalo; template_data is built from the same variables.
    zns_template_id: Mapped[str | None] = mapped_column(String(40))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SendCampaign(Base):
    """A send or a reminder schedule: who (unit subtree, app not yet installed, statuses,
    sources), what (template), how (channel policy) and when (first send, repeat interval,
    local send time, how many times at most). A one-off send is ``max_sends = 1``.

    ``campaign_ref`` is the rollout campaign's own id, if any: messaging never reads its tables.
    """

    __tablename__ = "msg_campaigns"
    __table_args__ = (
        CheckConstraint(f"status IN ({_quoted(CAMPAIGN_STATUSES)})", name="status"),
        CheckConstraint(f"channel_policy IN ({_quoted(CHANNEL_POLICIES)})", name="policy"),
        CheckConstraint("max_sends >= 1", name="max_sends"),
        CheckConstraint("interval_days >= 1", name="interval_days"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    campaign_ref: Mapped[int | None] = mapped_column(index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("msg_templates.id", ondelete="RESTRICT"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    # Target: contacts who have not installed this app (None: everyone matching).
    app_code: Mapped[str | None] = mapped_column(String(20))
    sources: Mapped[str] = mapped_column(String(60), default="")  # packed ",visit,import,"
    channel_policy: Mapped[str] = mapped_column(String(16), default="sms_only")
    starts_on: Mapped[dt.date]
    send_time: Mapped[str] = mapped_column(String(5), default="09:00")  # local HH:MM
    interval_days: Mapped[int] = mapped_column(default=3)
    max_sends: Mapped[int] = mapped_column(default=1)
    # A message not sent this long after it was due is "too old to send" (not_after).
    valid_hours: Mapped[int] = mapped_column(default=24)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    recipient_count: Mapped[int] = mapped_column(default=0)  # at the last preview
    created_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[dt.datetime | None]
    planned_through: Mapped[dt.date | None]  # the planner wrote rows up to this day
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message in the outbox. Unique per (campaign, step, contact, day).

    ``due_at`` is when the planner wants it out; ``next_attempt_at`` is when a sender may next
    claim it (moved by quiet hours, caps and backoff); past ``not_after`` it is too old to send.
    ``claimed_by``/``claimed_until`` are a sender's lease; ``submitted_at`` is set just before a
    gateway call, so a row with ``submitted_at`` but still ``queued`` had an ambiguous attempt
    that must be checked with the gateway before any resend.
    """

    __tablename__ = "msg_outbox"
    __table_args__ = (
        UniqueConstraint("campaign_id", "step", "contact_id", "day", name="uq_msg_outbox_key"),
        CheckConstraint(f"status IN ({_quoted(MESSAGE_STATUSES)})", name="status"),
        CheckConstraint(f"channel IN ({_quoted(CHANNELS)})", name="channel"),
        Index("ix_msg_outbox_claim", "rank", "next_attempt_at"),
        Index("ix_msg_outbox_contact_sent", "contact_id", "sent_at"),
        Index("ix_msg_outbox_funnel", "campaign_id", "unit_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("msg_campaigns.id", ondelete="CASCADE"))
    step: Mapped[int]  # 0 for the first send, 1 for the first reminder, ...
    contact_id: Mapped[int] = mapped_column(ForeignKey("msg_contacts.id", ondelete="CASCADE"))
    day: Mapped[dt.date]  # local (Asia/Ho_Chi_Minh) day the message is due
    # Copied at planning so the funnel and the scope need no join; no personal data.
    unit_code: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[int] = mapped_column(ForeignKey("msg_templates.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(4), default="sms")
    status: Mapped[str] = mapped_column(String(10), default="queued")
    rank: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None]
    submitted_at: Mapped[dt.datetime | None]
    # The gateway's own id (ZNS msg_id; Kannel answers none, our id goes in the dlr-url).
    gateway_id: Mapped[str | None] = mapped_column(String(100), index=True)
    segments: Mapped[int | None]
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(String(300))
    # Why a message waits (quiet_hours, cap) or ended (opted_out, installed, too_old, ...).
    reason: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Link(Base):
    """A personal install-confirmation link ``/i/{token}``: only the token's SHA-256 is stored.

    Single purpose (confirm one app for one contact), expiring; the first click and the
    confirmation are recorded for the funnel.
    """

    __tablename__ = "msg_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="confirm_install")
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("msg_contacts.id", ondelete="CASCADE"), index=True
    )
    app_code: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("msg_outbox.id", ondelete="SET NULL"), unique=True
    )
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("msg_campaigns.id", ondelete="CASCADE"), index=True
    )
    template_id: Mapped[int | None]
    unit_code: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[dt.datetime]
    clicked_at: Mapped[dt.datetime | None]
    confirmed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
