"""Tables of the gateways (prefix ``msg_``): ZNS tokens, per-channel daily state, DLR log.

No personal data: tokens are the OA's credentials (encrypted with the vault's cipher), the
event log holds our message id, the gateway's status code and answer, never a number or text.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow


class ZnsToken(Base):
    """The OA's current access and refresh tokens (AES-GCM sealed). One row per Zalo app.

    Refreshing takes this row's lock, so only one worker spends the single-use refresh token.
    """

    __tablename__ = "msg_zns_tokens"

    app_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    access_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    refresh_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[dt.datetime | None]
    refreshed_at: Mapped[dt.datetime | None]
    refreshes: Mapped[int] = mapped_column(default=0)


class ChannelDay(Base):
    """One channel on one local day: messages handed over, the quota the gateway reported, and
    whether the channel is stopped for the rest of the day (ZNS quota errors)."""

    __tablename__ = "msg_channel_days"

    channel: Mapped[str] = mapped_column(String(4), primary_key=True)
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    sent: Mapped[int] = mapped_column(default=0)
    daily_quota: Mapped[int | None]
    remaining_quota: Mapped[int | None]
    stopped_at: Mapped[dt.datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(40))


class GatewayEvent(Base):
    """A delivery report as received (Kannel DLR, ZNS webhook), for audit and for the check
    made before any resend after an ambiguous attempt."""

    __tablename__ = "msg_gateway_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("msg_outbox.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(4))
    code: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
