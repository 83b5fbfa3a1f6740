"""Enqueue, claim and run jobs.

A job is a row written in the same transaction as the change that needs it. The worker claims
one at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never take the same
row; SQLite serialises writers anyway), runs its handler, and marks it done. Handlers must be
idempotent: a job whose worker died is retried after its lease expires.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.jobs.models import Job

log = structlog.get_logger(__name__)

Handler = Callable[[Session, dict[str, Any]], None]
LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job the worker enqueues every ``every`` (one per time slot, thanks to the dedupe key)."""

    kind: str
    every: dt.timedelta
    payload: dict[str, Any] = field(default_factory=dict)


class Registry:
    """Job kinds and their handlers; domains register theirs at start-up."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.periodic: list[Periodic] = []

    def handler(self, kind: str) -> Callable[[Handler], Handler]:
        """Decorator registering ``kind``'s handler."""

        def register(function: Handler) -> Handler:
            self.handlers[kind] = function
            return function

        return register

    def every(self, kind: str, every: dt.timedelta, **payload: Any) -> None:
        """Run ``kind`` periodically."""
        self.periodic.append(Periodic(kind, every, payload))

    def restricted_to(self, *kinds: str) -> Registry:
        """The same handlers with only ``kinds`` scheduled: a worker dedicated to some jobs
        (and tests of one job, which need not wait for every unit's report)."""
        restricted = Registry()
        restricted.handlers = dict(self.handlers)
        restricted.periodic = [p for p in self.periodic if p.kind in kinds]
        return restricted


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: dt.datetime | None = None,
    dedupe_key: str | None = None,
) -> Job | None:
    """Add a job in the caller's transaction; None when ``dedupe_key`` is already queued."""
    if dedupe_key is not None:
        existing = session.scalar(select(Job).where(Job.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    job = Job(
        kind=kind, payload=payload or {}, run_after=run_after or utcnow(), dedupe_key=dedupe_key
    )
    session.add(job)
    return job


def claim(session: Session, *, now: dt.datetime | None = None) -> Job | None:
    """Take the oldest ready job and lease it to this worker (commit to make the lease stick)."""
    now = now or utcnow()
    query = (
        select(Job)
        .where(Job.done_at.is_(None), Job.failed_at.is_(None), Job.run_after <= now)
        .where((Job.locked_until.is_(None)) | (Job.locked_until < now))
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    job = session.scalar(query)
    if job is not None:
        job.locked_until = now + LEASE
        job.attempts += 1
    return job


def enqueue_periodic(db: Database, registry: Registry, *, now: dt.datetime | None = None) -> int:
    """Enqueue each periodic job's current slot once; returns how many were added."""
    now = now or utcnow()
    added = 0
    for periodic in registry.periodic:
        seconds = int(periodic.every.total_seconds())
        slot = int(now.timestamp()) // seconds * seconds
        try:
            with db.session() as session:
                job = enqueue(
                    session,
                    periodic.kind,
                    dict(periodic.payload),
                    dedupe_key=f"{periodic.kind}@{slot}",
                )
                added += job is not None
        except IntegrityError:
            continue  # another worker enqueued the same slot first
    return added


def run_one(db: Database, registry: Registry, *, max_attempts: int = 5) -> bool:
    """Claim and run one job; returns False when none was ready."""
    with db.session() as session:
        job = claim(session)
        if job is None:
            return False
        job_id, kind, payload = job.id, job.kind, dict(job.payload)
    handler = registry.handlers.get(kind)
    try:
        if handler is None:
            raise LookupError(f"no handler for job kind {kind!r}")
        with db.session() as session:
            handler(session, payload)
            session.get_one(Job, job_id).done_at = utcnow()
        log.info("job.done", job_id=job_id, kind=kind)
    except Exception as error:  # noqa: BLE001 - one failing job must not stop the worker
        with db.session() as session:
            row = session.get_one(Job, job_id)
            row.last_error = f"{type(error).__name__}: {error}"[:2000]
            row.locked_until = None
            # Back off before the next try; give up after max_attempts.
            row.run_after = utcnow() + dt.timedelta(seconds=30 * 2 ** min(row.attempts, 8))
            if row.attempts >= max_attempts:
                row.failed_at = utcnow()
        log.warning("job.failed", job_id=job_id, kind=kind, error=type(error).__name__)
    return True


def run_worker(
    db: Database,
    registry: Registry,
    *,
    stop: threading.Event,
    poll_seconds: float = 2.0,
    max_attempts: int = 5,
) -> None:
    """The worker loop: enqueue periodic jobs, run ready ones, sleep when idle, until ``stop``."""
    log.info("worker.start", kinds=sorted(registry.handlers))
    while not stop.is_set():
        enqueue_periodic(db, registry)
        while not stop.is_set() and run_one(db, registry, max_attempts=max_attempts):
            pass
        stop.wait(poll_seconds)
    log.info("worker.stop")
