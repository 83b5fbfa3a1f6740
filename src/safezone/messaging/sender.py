"""The sender: claims outbox rows in batches, applies the law at claim time, sends, records.

One round (:meth:`Sender.run_once`):

1. **Claim** (one transaction): the oldest ready rows (``rank = 0``, ``next_attempt_at <= now``,
   no live lease) ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite serialises writers), and the
   rows of their contacts ``FOR UPDATE`` in id order, so two workers never decide caps for the
   same number at once. For each message, :func:`safezone.messaging.law.decide` with the
   contact's status *now*, its installed apps and the send times of every message to the number
   in the cap window (in-flight ones included): cancel (opted out, installed, too old), defer
   (quiet hours, cap: ``next_attempt_at`` moves, the row is not dropped), or send. A row to send
   gets ``submitted_at`` and a lease, and the transaction commits *before* any gateway call.
2. **Send** (no transaction): each message through the channel its campaign's policy picks,
   paced by the channel's shared token bucket; ZNS "no Zalo account" and quota answers fall back
   to SMS within the same attempt when the policy allows.
3. **Record** (one transaction): monotonic status moves (a DLR may already have moved the row
   further), backoff for retries (``backoff x 2^attempts``) until ``not_after`` or
   ``max_attempts``, and nothing at all for ambiguous attempts but a later re-check.

A row with ``submitted_at`` set that is claimed again had an attempt whose fate we do not know
(a timeout, or a sender killed mid-batch). It is never resent blindly: if a gateway report came
it is marked sent; else it waits ``ambiguous_grace_seconds`` after the attempt for a late DLR,
then asks Kannel whether it still holds any message; only an empty gateway means the message
was never taken and may go again. ZNS offers no such check: its ambiguous rows fail (reason
``ambiguous``) rather than risk a second copy.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.messaging import law
from safezone.messaging.channels.base import Outgoing, SendResult
from safezone.messaging.gateway import count_sent, has_report, move_status, stop_channel
from safezone.messaging.models import Contact, ContactApp, Message, SendCampaign
from safezone.messaging.throttle import SharedRate

log = structlog.get_logger(__name__)


class Channel(Protocol):
    """A gateway client: one attempt per call, outcomes instead of exceptions."""

    def send(self, outgoing: Outgoing) -> SendResult:
        """Submit one message."""
        ...


class Composer(Protocol):
    """Builds the gateway-ready message (number in clear, rendered text, ZNS data)."""

    def __call__(self, session: Session, message: Message, contact: Contact) -> Outgoing:
        """The outgoing form of ``message`` to ``contact``."""
        ...


@dataclass(frozen=True, slots=True)
class SenderPolicy:
    """Retry and lease settings (``GatewaysConfig`` in production)."""

    batch_size: int = 50
    lease: dt.timedelta = dt.timedelta(seconds=120)
    max_attempts: int = 6
    backoff: dt.timedelta = dt.timedelta(seconds=30)
    ambiguous_grace: dt.timedelta = dt.timedelta(seconds=300)
    concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Attempt:
    """One message to send in this round."""

    message_id: int
    outgoing: Outgoing
    channels: tuple[str, ...]  # first choice, then fallback


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one attempt."""

    message_id: int
    channel: str
    result: SendResult
    quota_stopped: bool = False


@dataclass
class RoundReport:
    """Counts of one round (for logs, tests and the benchmark)."""

    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0
    ambiguous: int = 0
    reasons: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class _Batch:
    """What the decisions of one claimed batch read (loaded in bulk) and the gateway answer
    cached for the round."""

    contacts: dict[int, Contact]
    installed: set[tuple[int, str]]
    campaigns: dict[int, SendCampaign]
    times: dict[int, list[tuple[int, dt.datetime]]]
    zns_stopped: bool
    gateway_empty: bool | None = None
    asked: bool = False


def _keep_quota(quota: dict[str, tuple[int | None, int | None]], item: Result) -> None:
    """Remember the lowest remaining quota a channel reported in this batch."""
    if item.result.remaining_quota is None:
        return
    low = quota.get(item.channel, (None, None))[1]
    remaining = item.result.remaining_quota
    quota[item.channel] = (
        item.result.daily_quota,
        remaining if low is None else min(low, remaining),
    )


def policy_channels(policy: str, zns_stopped: bool) -> tuple[str, ...]:
    """The channels to try, in order, for a campaign's channel policy."""
    if policy == "zns_then_sms":
        return ("sms",) if zns_stopped else ("zns", "sms")
    if policy == "zns_only":
        return () if zns_stopped else ("zns",)
    return ("sms",)


def worker_name() -> str:
    """A name for this sender process (host, pid, random suffix)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Sender:
    """One sender worker (run several: they share the database and the token buckets)."""

    db: Database
    channels: dict[str, Channel]
    compose: Composer
    rates: dict[str, SharedRate] = field(default_factory=dict)
    rules: law.Rules = law.DEFAULT_RULES
    policy: SenderPolicy = SenderPolicy()
    clock: Callable[[], dt.datetime] = utcnow
    name: str = field(default_factory=worker_name)
    # Asked before resending an ambiguous SMS: True when the gateway holds nothing.
    sms_gateway_empty: Callable[[], bool | None] = lambda: None
    _pool: ThreadPoolExecutor | None = None

    # --- claim ---------------------------------------------------------------------------

    def _claim_rows(self, session: Session, now: dt.datetime) -> Sequence[Message]:
        query = (
            select(Message)
            .where(
                Message.rank == 0,
                Message.next_attempt_at <= now,
                or_(Message.claimed_until.is_(None), Message.claimed_until < now),
            )
            .order_by(Message.next_attempt_at, Message.id)
            .limit(self.policy.batch_size)
            .with_for_update(skip_locked=True)
        )
        return session.scalars(query).all()

    def _sent_times(
        self, session: Session, contact_ids: set[int], now: dt.datetime
    ) -> dict[int, list[tuple[int, dt.datetime]]]:
        since = now - self.rules.cap_window
        at = func.coalesce(Message.sent_at, Message.submitted_at)
        rows = session.execute(
            select(Message.contact_id, Message.id, at).where(
                Message.contact_id.in_(contact_ids),
                or_(
                    and_(Message.status.in_(("sent", "delivered")), Message.sent_at >= since),
                    and_(Message.rank == 0, Message.submitted_at >= since),
                ),
            )
        ).all()
        times: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
        for contact_id, message_id, when in rows:
            times[contact_id].append((message_id, when))
        return times

    def claim(self, report: RoundReport) -> list[Attempt]:
        """Claim a batch, decide each row, and return the ones to send now."""
        now = self.clock()
        attempts: list[Attempt] = []
        with self.db.session() as session:
            rows = self._claim_rows(session, now)
            report.claimed = len(rows)
            if not rows:
                return []
            batch = self._load(session, rows, now)
            for row in rows:
                attempt = self._claim_one(session, row, batch, now, report)
                if attempt is not None:
                    attempts.append(attempt)
        return attempts

    def _load(self, session: Session, rows: Sequence[Message], now: dt.datetime) -> _Batch:
        """Everything the decisions of a claimed batch need, in a few bulk queries."""
        from safezone.messaging.gateway import channel_stopped

        contact_ids = {row.contact_id for row in rows}
        # Lock the numbers too (id order: no deadlock between workers).
        session.execute(
            select(Contact.id)
            .where(Contact.id.in_(contact_ids))
            .order_by(Contact.id)
            .with_for_update()
        ).all()
        contacts = {
            c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
        }
        installed: set[tuple[int, str]] = {
            (contact_id, app)
            for contact_id, app in session.execute(
                select(ContactApp.contact_id, ContactApp.app_code).where(
                    ContactApp.contact_id.in_(contact_ids)
                )
            )
        }
        campaign_ids = {row.campaign_id for row in rows}
        campaigns = {
            c.id: c
            for c in session.scalars(select(SendCampaign).where(SendCampaign.id.in_(campaign_ids)))
        }
        return _Batch(
            contacts=contacts,
            installed=installed,
            campaigns=campaigns,
            times=self._sent_times(session, contact_ids, now),
            zns_stopped=channel_stopped(session, "zns", now),
        )

    def _claim_one(
        self,
        session: Session,
        row: Message,
        batch: _Batch,
        now: dt.datetime,
        report: RoundReport,
    ) -> Attempt | None:
        contact = batch.contacts[row.contact_id]
        campaign = batch.campaigns[row.campaign_id]
        if row.submitted_at is not None and not self._may_resend(session, row, batch, now):
            report.ambiguous += 1
            return None
        decision = self._decide(row, contact, campaign, batch, now)
        if decision.action == "cancel":
            self._end(row, "cancelled", decision.reason, now)
            report.cancelled += 1
            report.reasons[decision.reason] += 1
            return None
        if decision.action == "defer":
            assert decision.at is not None
            row.next_attempt_at = decision.at
            row.reason = decision.reason
            row.claimed_by = row.claimed_until = None
            row.updated_at = now
            report.deferred += 1
            report.reasons[decision.reason] += 1
            return None
        order = policy_channels(campaign.channel_policy, batch.zns_stopped)
        order = tuple(name for name in order if name in self.channels)
        if not order:
            self._end(row, "failed", "no_channel", now)
            report.failed += 1
            return None
        row.submitted_at = now
        row.attempts += 1
        row.channel = order[0]
        row.claimed_by = self.name
        row.claimed_until = now + self.policy.lease
        row.reason = None
        row.updated_at = now
        batch.times[contact.id].append((row.id, now))
        return Attempt(row.id, self.compose(session, row, contact), order)

    def _may_resend(self, session: Session, row: Message, batch: _Batch, now: dt.datetime) -> bool:
        """An earlier attempt's fate is unknown: True only when the gateway says it has
        nothing (asked at most once a round)."""
        verdict = self._recheck(session, row, now, batch.gateway_empty, asked=batch.asked)
        if verdict == "ask":
            batch.gateway_empty, batch.asked = self.sms_gateway_empty(), True
            verdict = self._recheck(session, row, now, batch.gateway_empty, asked=True)
        return verdict == "resend"

    def _decide(
        self,
        row: Message,
        contact: Contact,
        campaign: SendCampaign,
        batch: _Batch,
        now: dt.datetime,
    ) -> law.Decision:
        if campaign.status in ("cancelled", "paused"):
            return law.Decision(
                "defer" if campaign.status == "paused" else "cancel",
                f"campaign_{campaign.status}",
                now + dt.timedelta(hours=1),
            )
        app = campaign.app_code
        return law.decide(
            now,
            contact_status=contact.status,
            installed=app is not None and (contact.id, app) in batch.installed,
            sent_times=[when for mid, when in batch.times[contact.id] if mid != row.id],
            not_after=row.not_after,
            rules=self.rules,
        )

    def _recheck(
        self,
        session: Session,
        row: Message,
        now: dt.datetime,
        gateway_empty: bool | None,
        *,
        asked: bool,
    ) -> str:
        """An earlier attempt's fate is unknown: "resend", "ask" (the gateway), or handled."""
        assert row.submitted_at is not None
        if has_report(session, row.id):
            move_status(session, row.id, "sent", at=row.submitted_at)
            row.claimed_by = row.claimed_until = None
            return "done"
        waited_enough = now >= row.submitted_at + self.policy.ambiguous_grace
        if row.channel == "sms" and waited_enough:
            if not asked:
                return "ask"
            if gateway_empty:
                row.submitted_at = None  # the gateway never took it: a fresh attempt
                return "resend"
        elif row.channel != "sms" and waited_enough:
            self._end(row, "failed", "ambiguous", now)
            return "done"
        if now > row.not_after:
            self._end(row, "failed", "ambiguous", now)
            return "done"
        row.next_attempt_at = max(now, row.submitted_at) + self.policy.ambiguous_grace
        row.claimed_by = row.claimed_until = None
        row.reason = "unconfirmed"
        return "wait"

    @staticmethod
    def _end(row: Message, status: str, reason: str, now: dt.datetime) -> None:
        row.status = status
        row.rank = 2
        row.reason = reason
        row.claimed_by = row.claimed_until = None
        row.updated_at = now
        if status == "failed":
            row.failed_at = now

    # --- send ----------------------------------------------------------------------------

    def _send_one(self, attempt: Attempt, ahead: int = 1) -> Result:
        quota_stopped = False
        result = SendResult("retry", error_code="no_channel")
        used = attempt.channels[0]
        for position, name in enumerate(attempt.channels):
            used = name
            rate = self.rates.get(name)
            if rate is not None:
                rate.take_one(ahead)
            try:
                result = self.channels[name].send(attempt.outgoing)
            except Exception as error:  # a channel bug must not kill the batch
                log.exception("sender.channel_error", channel=name)
                result = SendResult("retry", error_code="exception", detail=type(error).__name__)
            quota_stopped = quota_stopped or result.outcome == "quota"
            last = position == len(attempt.channels) - 1
            if result.outcome in {"fallback", "quota"} and not last:
                continue
            break
        return Result(attempt.message_id, used, result, quota_stopped)

    def send(self, attempts: list[Attempt]) -> list[Result]:
        """Send a claimed batch (in parallel up to ``policy.concurrency``)."""
        if not attempts:
            return []
        total = len(attempts)
        if self.policy.concurrency <= 1 or total == 1:
            return [self._send_one(a, total - i) for i, a in enumerate(attempts)]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.policy.concurrency, "sender")
        return list(self._pool.map(self._send_one, attempts, range(total, 0, -1)))

    # --- record --------------------------------------------------------------------------

    def record(self, results: list[Result], report: RoundReport) -> None:
        """Apply the outcomes in one transaction."""
        if not results:
            return
        now = self.clock()
        with self.db.session() as session:
            per_channel: dict[str, int] = defaultdict(int)
            quota: dict[str, tuple[int | None, int | None]] = {}
            if any(item.quota_stopped for item in results):
                stop_channel(session, "zns", now, "quota")
            # Accepted SMS (no gateway id) in bulk: two statements per channel, not per row.
            plain: dict[str, list[int]] = defaultdict(list)
            for item in results:
                if item.result.outcome == "accepted" and item.result.gateway_id is None:
                    plain[item.channel].append(item.message_id)
            for name, ids in plain.items():
                self._accept_many(session, name, ids, now)
                per_channel[name] += len(ids)
                report.sent += len(ids)
            for item in results:
                outcome = item.result.outcome
                base = update(Message).where(Message.id == item.message_id, Message.rank == 0)
                if outcome == "accepted" and item.result.gateway_id is None:
                    continue
                if outcome == "accepted":
                    session.execute(base.values(channel=item.channel, claimed_by=None))
                    move_status(
                        session, item.message_id, "sent", at=now, gateway_id=item.result.gateway_id
                    )
                    per_channel[item.channel] += 1
                    _keep_quota(quota, item)
                    report.sent += 1
                elif outcome == "ambiguous":
                    session.execute(
                        base.values(
                            channel=item.channel,
                            claimed_by=None,
                            claimed_until=None,
                            next_attempt_at=now + self.policy.ambiguous_grace,
                            reason="unconfirmed",
                            error_code=item.result.error_code,
                        )
                    )
                    report.ambiguous += 1
                elif outcome == "retry":
                    self._retry(session, item, now, report)
                else:  # rejected, or fallback/quota with nothing left to fall back to
                    self._fail(session, item, now)
                    report.failed += 1
            for name, count in per_channel.items():
                daily, remaining = quota.get(name, (None, None))
                count_sent(session, name, now, count, daily_quota=daily, remaining_quota=remaining)

    @staticmethod
    def _fail(session: Session, item: Result, now: dt.datetime) -> None:
        move_status(
            session,
            item.message_id,
            "failed",
            at=now,
            error_code=item.result.error_code,
            error=item.result.detail,
        )
        session.execute(
            update(Message)
            .where(Message.id == item.message_id)
            .values(channel=item.channel, claimed_by=None, reason=item.result.outcome)
        )

    @staticmethod
    def _accept_many(session: Session, channel: str, ids: list[int], now: dt.datetime) -> None:
        # Same effect as move_status(..., "sent") for each: forward only, sent_at kept if a DLR
        # filled it first; the lease ends either way.
        session.execute(
            update(Message)
            .where(Message.id.in_(ids), Message.rank < 1)
            .values(
                status="sent",
                rank=1,
                sent_at=func.coalesce(Message.sent_at, now),
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(channel=channel, claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )

    def _retry(self, session: Session, item: Result, now: dt.datetime, report: RoundReport) -> None:
        row = session.get(Message, item.message_id)
        if row is None or row.rank != 0:
            return
        delay = self.policy.backoff * 2 ** max(0, row.attempts - 1)
        later = now + delay
        if row.attempts >= self.policy.max_attempts or later > row.not_after:
            self._end(row, "failed", "too_old" if later > row.not_after else "attempts", now)
            row.error_code = item.result.error_code
            report.failed += 1
            return
        row.submitted_at = None  # nothing reached the gateway
        row.next_attempt_at = later
        row.claimed_by = row.claimed_until = None
        row.error_code = item.result.error_code
        row.error = item.result.detail[:300] or None
        row.reason = "retry"
        row.updated_at = now
        report.retried += 1

    # --- loop ----------------------------------------------------------------------------

    def run_once(self) -> RoundReport:
        """One claim-send-record round."""
        report = RoundReport()
        attempts = self.claim(report)
        results = self.send(attempts)
        self.record(results, report)
        return report

    def run(self, stop: threading.Event, *, idle_seconds: float = 1.0) -> None:
        """Rounds until ``stop``; sleeps when a round claimed nothing."""
        log.info("sender.start", worker=self.name, channels=sorted(self.channels))
        # Pipelined: the next batch is claimed while the current one is on the wire, so the
        # gateway never waits for our database. Safety is unchanged: a claimed row's
        # submitted_at is committed before its send, whatever the interleaving.
        sending = ThreadPoolExecutor(1, "sender-batch")
        in_flight: tuple[Future[list[Result]], RoundReport] | None = None
        try:
            while not stop.is_set():
                try:
                    report = RoundReport()
                    attempts = self.claim(report)
                    if in_flight is not None:
                        future, previous = in_flight
                        in_flight = None
                        self.record(future.result(), previous)
                    if attempts:
                        in_flight = (sending.submit(self.send, attempts), report)
                    elif report.claimed == 0:
                        stop.wait(idle_seconds)
                except Exception:  # a database hiccup must not end the worker; rows stay safe
                    log.exception("sender.round_failed", worker=self.name)
                    stop.wait(idle_seconds)
            if in_flight is not None:
                self.record(in_flight[0].result(), in_flight[1])
        finally:
            sending.shutdown(wait=True)
            self.close()
        log.info("sender.stop", worker=self.name)

    def close(self) -> None:
        """Stop the thread pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def summary(report: RoundReport) -> dict[str, Any]:
    """A report as a plain dict (logs)."""
    data = {key: getattr(report, key) for key in ("claimed", "sent", "deferred", "cancelled")}
    data.update(failed=report.failed, retried=report.retried, ambiguous=report.ambiguous)
    return data


def build_sender(settings: Any, db: Database, compose: Composer, **overrides: Any) -> Sender:
    """A sender wired from settings: Kannel (and ZNS when an app id is set), shared token
    buckets in the installation's counter store, the law's rules and the retry policy."""
    from safezone.messaging.channels.kannel import KannelChannel, dlr_key
    from safezone.messaging.channels.zns import ZnsChannel, ZnsClient
    from safezone.messaging.gateway import DbTokenSource, token_vault
    from safezone.ratelimit import store_for

    config = settings.messaging.gateways
    kannel = config.kannel
    sms = KannelChannel(
        sendsms_url=kannel.sendsms_url,
        username=kannel.username,
        password=kannel.password.get_secret_value(),
        callback_base_url=config.callback_base_url,
        dlr_key=dlr_key(settings.keyring),
        sender=kannel.sender,
        smsc_id=kannel.smsc_id,
        timeout_seconds=kannel.timeout_seconds,
        admin_url=kannel.admin_url,
        admin_password=kannel.admin_password.get_secret_value(),
    )
    channels: dict[str, Channel] = {"sms": sms}
    store = store_for(settings, db.engine)
    rates = {"sms": SharedRate(store, "sms", kannel.messages_per_second)}
    zns = config.zns
    if zns.app_id:
        client = ZnsClient(
            api_url=zns.api_url,
            oauth_url=zns.oauth_url,
            app_id=zns.app_id,
            app_secret=zns.app_secret.get_secret_value(),
            timeout_seconds=zns.timeout_seconds,
        )
        tokens = DbTokenSource(
            db,
            token_vault(settings.keyring),
            client,
            zns.app_id,
            bootstrap_refresh=zns.refresh_token.get_secret_value(),
        )
        channels["zns"] = ZnsChannel(client, tokens)
        rates["zns"] = SharedRate(store, "zns", zns.messages_per_second)
    policy = SenderPolicy(
        batch_size=config.batch_size,
        lease=dt.timedelta(seconds=config.lease_seconds),
        max_attempts=config.max_attempts,
        backoff=dt.timedelta(seconds=config.backoff_seconds),
        ambiguous_grace=dt.timedelta(seconds=config.ambiguous_grace_seconds),
    )
    values: dict[str, Any] = {
        "db": db,
        "channels": channels,
        "compose": compose,
        "rates": rates,
        "rules": rules_for(settings),
        "policy": policy,
        "sms_gateway_empty": sms.gateway_queue_empty,
    }
    values.update(overrides)
    return Sender(**values)


def rules_for(settings: Any) -> law.Rules:
    """The law's rules configured in ``settings.messaging``."""
    from safezone.messaging.base import rules_from

    return rules_from(settings.messaging)


def default_composer(settings: Any) -> Composer:
    """The production composer: messaging's ``render_message`` (the number from the vault, the
    template in the contact's language, its personal link, ZNS parameters)."""
    from safezone.messaging.base import Policy
    from safezone.messaging.delivery import render_message

    policy = Policy.from_settings(settings)

    def compose(session: Session, message: Message, contact: Contact) -> Outgoing:
        del contact  # render_message reads it itself
        rendered = render_message(session, policy, message)
        message.segments = rendered.parts
        return Outgoing(
            message_id=message.id,
            phone=rendered.phone,
            text=rendered.text,
            zns_template_id=rendered.zns_template_id,
            zns_data=dict(rendered.template_data),
        )

    return compose


def run_sender(settings: Any, stop: threading.Event, *, idle_seconds: float = 1.0) -> None:
    """One production sender process until ``stop`` (what ``safezone messaging sender`` runs;
    start several for more throughput: they share the token buckets)."""
    db = Database(settings.sqlalchemy_url)
    try:
        build_sender(settings, db, default_composer(settings)).run(stop, idle_seconds=idle_seconds)
    finally:
        db.dispose()
