"""What the gateways tell us, applied to the outbox: delivery reports, MOs, ZNS events; and the
gateways' own state (ZNS tokens, per-channel daily quota). No HTTP here (see gateway_api.py).

Status moves are monotonic: one ``UPDATE ... WHERE rank < :new_rank``. Kannel sends DLR 8
(SMSC accepted) and DLR 1 (delivered) concurrently, so 1 often arrives first; the late 8 then
matches no row and changes nothing. The first final status (delivered or failed) wins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.keyring import KeyRing
from safezone.messaging.channels.kannel import DLR_STATUS
from safezone.messaging.channels.models import ChannelDay, GatewayEvent, ZnsToken
from safezone.messaging.channels.zns import TokenSource, ZnsClient
from safezone.messaging.models import STATUS_RANK, Message
from safezone.vault import Vault

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
_TOKEN_LABEL = "safezone-messaging-zns-token"  # noqa: S105 - a key purpose, not a secret


def local_day(instant: dt.datetime) -> dt.date:
    """The Asia/Ho_Chi_Minh day of ``instant`` (quotas reset at local midnight)."""
    return instant.astimezone(VIETNAM).date()


def move_status(
    session: Session,
    message_id: int,
    status: str,
    *,
    at: dt.datetime | None = None,
    error_code: str | None = None,
    error: str | None = None,
    gateway_id: str | None = None,
) -> bool:
    """Move a message forward to ``status``; False when it is already there or beyond."""
    at = at or utcnow()
    rank = STATUS_RANK[status]
    values: dict[str, Any] = {"status": status, "rank": rank, "updated_at": at}
    # A final report may come before we recorded "sent": sent_at is filled in either way. A
    # refusal is no send: the funnel counts sent_at.
    if status in {"sent", "delivered"}:
        values["sent_at"] = func.coalesce(Message.sent_at, at)
    if status == "delivered":
        values["delivered_at"] = at
    elif status == "failed":
        values["failed_at"] = at
        values["error_code"] = error_code
        values["error"] = (error or "")[:300] or None
    if gateway_id is not None:
        values["gateway_id"] = gateway_id
    result = session.execute(
        update(Message)
        .where(Message.id == message_id, Message.rank < rank)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def record_dlr(session: Session, message_id: int, dlr_type: int, answer: str = "") -> bool:
    """Apply one Kannel DLR; False when unknown message or no forward move."""
    # INSERT ... SELECT: one statement that logs the report only for a message that exists
    # (no read first: reports come at twice the send rate).
    now = utcnow()
    logged = session.execute(
        insert(GatewayEvent).from_select(
            ["message_id", "channel", "code", "answer", "received_at"],
            select(
                Message.id,
                literal("sms"),
                literal(str(dlr_type)),
                literal(answer[:120]),
                literal(now, type_=GatewayEvent.__table__.c.received_at.type),
            ).where(Message.id == message_id),
        )
    )
    if not getattr(logged, "rowcount", 0):
        return False
    status = DLR_STATUS.get(dlr_type)
    if status is None:
        return False
    return move_status(
        session,
        message_id,
        status,
        error_code=f"dlr_{dlr_type}" if status == "failed" else None,
        error=answer if status == "failed" else None,
        at=now,
    )


def has_report(session: Session, message_id: int) -> bool:
    """Whether any gateway report came for ``message_id`` (so the gateway has it)."""
    found = session.scalar(
        select(GatewayEvent.id).where(GatewayEvent.message_id == message_id).limit(1)
    )
    return found is not None


# --- ZNS webhook ---------------------------------------------------------------------------


def zns_signature(app_id: str, body: bytes, timestamp: str, secret: str) -> str:
    """Zalo's event signature: ``mac=`` + SHA-256 hex of app id, raw body, timestamp, secret."""
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode())
    return "mac=" + digest.hexdigest()


def check_zns_signature(app_id: str, secret: str, body: bytes, header: str) -> dict[str, Any]:
    """The event if ``header`` signs ``body``; raises ValueError otherwise."""
    if not secret:
        raise ValueError("no ZNS app secret configured")
    try:
        event = json.loads(body)
    except ValueError as error:
        raise ValueError("body is not JSON") from error
    if not isinstance(event, dict):
        raise ValueError("body is not an object")
    expected = zns_signature(app_id, body, str(event.get("timestamp", "")), secret)
    if not hmac.compare_digest(expected, header.strip()):
        raise ValueError("bad signature")
    return event


def apply_zns_event(session: Session, event: dict[str, Any]) -> bool:
    """Apply a ``user_received_message`` event (by our tracking id, else by ZNS msg_id)."""
    if event.get("event_name") != "user_received_message":
        return False
    message = event.get("message") or {}
    row: Message | None = None
    tracking = str(message.get("tracking_id") or "")
    if tracking.isdigit():
        row = session.get(Message, int(tracking))
    if row is None and message.get("msg_id"):
        row = session.scalar(select(Message).where(Message.gateway_id == str(message["msg_id"])))
    if row is None or row.channel != "zns":
        return False
    session.add(GatewayEvent(message_id=row.id, channel="zns", code="received"))
    return move_status(session, row.id, "delivered")


# --- per-channel daily state ----------------------------------------------------------------


def insert_ignore(session: Session, model: Any, values: dict[str, Any], keys: list[Any]) -> None:
    """``INSERT ... ON CONFLICT DO NOTHING`` on either database (rows several workers may
    create at once)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(
            pg_insert(model).values(**values).on_conflict_do_nothing(index_elements=keys)
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as lite_insert

        statement = lite_insert(model).values(**values)
        session.execute(statement.on_conflict_do_nothing(index_elements=keys))


def _channel_day(session: Session, channel: str, day: dt.date) -> ChannelDay:
    row = session.get(ChannelDay, (channel, day), with_for_update=True)
    if row is None:
        insert_ignore(
            session,
            ChannelDay,
            {"channel": channel, "day": day, "sent": 0},
            [ChannelDay.channel, ChannelDay.day],
        )
        row = session.get_one(ChannelDay, (channel, day), with_for_update=True)
    return row


def channel_stopped(session: Session, channel: str, now: dt.datetime) -> bool:
    """Whether ``channel`` is stopped for the rest of today (local day)."""
    row = session.get(ChannelDay, (channel, local_day(now)))
    return row is not None and row.stopped_at is not None


def stop_channel(session: Session, channel: str, now: dt.datetime, reason: str) -> None:
    """Stop ``channel`` until local midnight."""
    row = _channel_day(session, channel, local_day(now))
    if row.stopped_at is None:
        row.stopped_at = now
        row.stop_reason = reason[:40]


def count_sent(
    session: Session,
    channel: str,
    now: dt.datetime,
    count: int,
    *,
    daily_quota: int | None = None,
    remaining_quota: int | None = None,
) -> None:
    """Add ``count`` messages handed to ``channel`` today; keep the quota the gateway reported
    (the lowest remaining figure seen today: answers of parallel sends arrive in any order)."""
    row = _channel_day(session, channel, local_day(now))
    row.sent += count
    if daily_quota is not None:
        row.daily_quota = daily_quota
    if remaining_quota is not None:
        row.remaining_quota = (
            remaining_quota
            if row.remaining_quota is None
            else min(row.remaining_quota, remaining_quota)
        )


# --- ZNS tokens --------------------------------------------------------------------------------


def token_vault(ring: KeyRing) -> Vault:
    """The cipher sealing the OA's tokens (its own key purpose)."""
    return Vault.from_ring(ring, encryption_label=_TOKEN_LABEL, index_label=_TOKEN_LABEL + "-ix")


@dataclass
class DbTokenSource(TokenSource):
    """OA tokens stored encrypted in ``msg_zns_tokens``; refreshing holds the row's lock.

    ``bootstrap_refresh`` is the refresh token from the OA authorisation, used when no row
    exists yet. A worker that finds the stored access token differs from the one that was
    refused uses the stored one: another worker refreshed in the meantime.
    """

    db: Database
    vault: Vault
    client: ZnsClient
    app_id: str
    bootstrap_refresh: str = ""
    refreshes: int = 0  # in this process (tests count them)
    _local: threading.Lock = field(default_factory=threading.Lock)

    def _open(self, row: ZnsToken) -> tuple[str, str]:
        access = self.vault.decrypt("zns_access", row.access_enc) if row.access_enc else ""
        return str(access), str(self.vault.decrypt("zns_refresh", row.refresh_enc))

    def current(self) -> str:
        """The stored access token, refreshing first when there is none."""
        with self.db.read_session() as session:
            row = session.get(ZnsToken, self.app_id)
            if row is not None and row.access_enc:
                return self._open(row)[0]
        return self.refresh(stale="")

    def _ensure_row(self) -> None:
        # The lock is the row's: it must exist before two workers race for it (a missing row
        # locks nothing on PostgreSQL). The bootstrap refresh token seeds it once.
        if not self.bootstrap_refresh:
            return
        with self.db.session() as session:
            insert_ignore(
                session,
                ZnsToken,
                {
                    "app_id": self.app_id,
                    "refresh_enc": self.vault.encrypt("zns_refresh", self.bootstrap_refresh),
                    "refreshes": 0,
                },
                [ZnsToken.app_id],
            )

    def refresh(self, stale: str) -> str:
        """A new access token (one refresh at a time, across threads and processes)."""
        with self._local:
            self._ensure_row()
            return self._refresh_locked(stale)

    def _refresh_locked(self, stale: str) -> str:
        with self.db.session() as session:
            row = session.get(ZnsToken, self.app_id, with_for_update=True)
            if row is None:
                raise ValueError("no ZNS refresh token (set SAFEZONE_GATEWAYS__ZNS__REFRESH_TOKEN)")
            access, refresh_token = self._open(row)
            if access and access != stale:
                return access  # someone refreshed while we waited for the lock
            pair = self.client.refresh(refresh_token)
            now = utcnow()
            row.access_enc = self.vault.encrypt("zns_access", pair.access_token)
            row.refresh_enc = self.vault.encrypt("zns_refresh", pair.refresh_token)
            row.expires_at = now + dt.timedelta(seconds=pair.expires_in)
            row.refreshed_at = now
            row.refreshes += 1
            self.refreshes += 1
            return pair.access_token


# --- MO ----------------------------------------------------------------------------------------


def is_wide(charset: str) -> bool:
    """Whether Kannel's ``%C`` names UCS-2 / UTF-16 (an MO without ``mo-recode``)."""
    name = charset.lower()
    return "utf-16" in name or "ucs-2" in name or "ucs2" in name


def decode_mo(body: bytes, charset: str) -> str:
    """An MO body in the charset Kannel names (UTF-16BE without ``mo-recode``, else UTF-8)."""
    name = charset.lower()
    if is_wide(name):
        return body.decode("utf-16-be", "replace")
    if "8-bit" in name or "iso-8859" in name or "latin" in name:
        return body.decode("latin-1")
    return body.decode("utf-8", "replace")


def normalise_sender(number: str) -> str | None:
    """Kannel's ``%p`` (``0905…``, ``84905…``, ``+84905…``) as E.164, or None."""
    import phonenumbers

    raw = number.strip()
    if raw.isdigit() and raw.startswith("84") and len(raw) >= 11:
        raw = "+" + raw
    try:
        parsed = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def handle_mo(session: Session, settings: Any, sender: str, text: str) -> str:
    """Act on one MO: opt out, or mark an app installed. Returns the intent's kind.

    Unknown numbers and other texts change nothing (and the answer says nothing either way).
    """
    from safezone.messaging import keywords

    config = settings.messaging.gateways
    intent = keywords.parse(
        text,
        opt_out=config.opt_out_keywords,
        installed=config.install_keywords,
        apps=config.app_aliases,
    )
    if intent.kind == "none":
        return "none"
    phone = normalise_sender(sender)
    if phone is None:
        return "none"
    from safezone.messaging import contacts
    from safezone.messaging.base import vault_for

    vault = vault_for(settings)
    if intent.kind == "opt_out":
        contacts.opt_out(session, phone, "mo", vault=vault)
    else:
        assert intent.app is not None
        contacts.mark_installed(session, phone, intent.app, "mo", vault=vault)
    return intent.kind
