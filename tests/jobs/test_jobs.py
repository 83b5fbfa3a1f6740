"""Durable jobs: enqueue in the caller's transaction, claim once, retry with back-off."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.db.engine import Database
from safezone.jobs.models import Job
from safezone.jobs.service import Registry, claim, enqueue, enqueue_periodic, run_one, run_worker


def test_a_job_enqueued_in_a_rolled_back_transaction_never_exists(db: Database) -> None:
    def failing_change() -> None:
        with db.session() as session:
            enqueue(session, "noop")
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with db.session() as session:
        assert session.scalar(select(Job)) is None


def test_run_one_runs_the_handler_and_marks_done(db: Database) -> None:
    seen: list[dict[str, Any]] = []
    registry = Registry()

    @registry.handler("greet")
    def greet(session: Session, payload: dict[str, Any]) -> None:
        seen.append(payload)

    with db.session() as session:
        enqueue(session, "greet", {"to": "Phú Yên"})
    assert run_one(db, registry) is True
    assert run_one(db, registry) is False
    assert seen == [{"to": "Phú Yên"}]
    with db.session() as session:
        job = session.scalars(select(Job)).one()
        assert job.done_at is not None
        assert job.attempts == 1


def test_failures_back_off_and_give_up(db: Database) -> None:
    registry = Registry()

    @registry.handler("boom")
    def boom(session: Session, payload: dict[str, Any]) -> None:
        raise ValueError("broken")

    with db.session() as session:
        enqueue(session, "boom")
    assert run_one(db, registry, max_attempts=2)
    with db.session() as session:
        job = session.scalars(select(Job)).one()
        assert job.last_error == "ValueError: broken"
        assert job.run_after > dt.datetime.now(dt.UTC)
        assert job.failed_at is None
        job.run_after = dt.datetime.now(dt.UTC)  # retry now
    assert run_one(db, registry, max_attempts=2)
    with db.session() as session:
        assert session.scalars(select(Job)).one().failed_at is not None
    assert run_one(db, registry) is False


def test_unknown_kinds_fail_instead_of_vanishing(db: Database) -> None:
    with db.session() as session:
        enqueue(session, "mystery")
    assert run_one(db, Registry())
    with db.session() as session:
        assert "no handler" in (session.scalars(select(Job)).one().last_error or "")


def test_dedupe_key_and_periodic_slots(db: Database) -> None:
    with db.session() as session:
        assert enqueue(session, "x", dedupe_key="k") is not None
    with db.session() as session:
        assert enqueue(session, "x", dedupe_key="k") is None
    registry = Registry()
    registry.every("tick", dt.timedelta(hours=1))
    now = dt.datetime(2026, 11, 28, 10, 5, tzinfo=dt.UTC)
    assert enqueue_periodic(db, registry, now=now) == 1
    assert enqueue_periodic(db, registry, now=now + dt.timedelta(minutes=30)) == 0
    assert enqueue_periodic(db, registry, now=now + dt.timedelta(hours=1)) == 1


def test_a_claimed_job_is_not_claimed_again_until_its_lease_ends(db: Database) -> None:
    with db.session() as session:
        enqueue(session, "slow")
    with db.session() as session:
        assert claim(session) is not None
    with db.session() as session:
        assert claim(session) is None
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        again = claim(session, now=later)
        assert again is not None
        assert again.attempts == 2


def test_concurrent_claims_take_different_jobs(db: Database) -> None:
    """On PostgreSQL, SKIP LOCKED lets two open transactions claim two different rows."""
    if not db.is_postgresql:
        pytest.skip("SQLite serialises writers; row locks exist only on PostgreSQL")
    with db.session() as session:
        enqueue(session, "a")
        enqueue(session, "b")
    first = db.sessionmaker()
    second = db.sessionmaker()
    try:
        one = claim(first)
        two = claim(second)
        assert one is not None
        assert two is not None
        assert one.id != two.id
    finally:
        first.rollback()
        second.rollback()
        first.close()
        second.close()


def test_worker_loop_stops_when_asked(db: Database) -> None:
    registry = Registry()
    done = threading.Event()

    @registry.handler("signal")
    def signal(session: Session, payload: dict[str, Any]) -> None:
        done.set()

    with db.session() as session:
        enqueue(session, "signal")
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(db, registry), kwargs={"stop": stop, "poll_seconds": 0.05}
    )
    thread.start()
    assert done.wait(10)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()


def test_a_restricted_registry_schedules_only_its_kinds_and_runs_any(db: Database) -> None:
    registry = Registry()
    ran: list[str] = []
    for kind in ("a", "b"):
        registry.handler(kind)(lambda _session, _payload, kind=kind: ran.append(kind))
        registry.every(kind, dt.timedelta(hours=1))
    only_b = registry.restricted_to("b")
    assert [p.kind for p in only_b.periodic] == ["b"]
    assert [p.kind for p in registry.periodic] == ["a", "b"]  # the original is unchanged
    assert enqueue_periodic(db, only_b) == 1
    while run_one(db, only_b):
        pass
    assert ran == ["b"]
