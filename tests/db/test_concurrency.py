"""Concurrent writers on both databases: every acknowledged write is stored, none fails.

On SQLite a transaction that read before writing used to start with a deferred ``BEGIN``; when
another connection committed in between, its first write failed at once with "database is
locked" (a 500 for the client). These tests reproduce that interleaving.
"""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from safezone.app import create_app
from safezone.config import Settings
from safezone.db.engine import Database, is_retryable
from safezone.declarations.models import Declaration
from safezone.jobs.models import Job
from safezone.jobs.service import enqueue
from tests.conftest import free_port
from tests.declarations.conftest import make_body


def _jobs(db: Database) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(Job)) or 0


def test_transactions_that_read_then_write_all_commit_under_contention(db: Database) -> None:
    writers = 4
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            with db.session() as session:
                session.scalar(select(func.count()).select_from(Job))  # the snapshot
                # Without BEGIN IMMEDIATE every writer gets here holding a read snapshot, then
                # all write at once; with it, the others wait for the lock and the barrier
                # times out (the wait cannot complete while the first writer holds the lock).
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=0.5)
                enqueue(session, "probe", {"number": number})
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _jobs(db) == writers


@pytest.fixture
def live_server(settings: Settings, db: Database) -> Iterator[str]:
    """The app on a real uvicorn server (its thread pool runs requests concurrently)."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db),
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_concurrent_clients_posting_declarations_get_no_error_and_all_are_stored(
    live_server: str, db: Database
) -> None:
    clients, each = 8, 8
    acked: list[int] = []
    failures: list[str] = []

    def client(index: int) -> None:
        with httpx.Client(base_url=live_server, timeout=120) as http:
            for n in range(each):
                body = make_body(id_number=f"0540{index:04d}{n:04d}")
                response = http.post("/api/v1/declarations", json=body)
                if response.status_code == 201:
                    acked.append(response.json()["id"])
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(acked) == clients * each
    with db.read_session() as session:
        stored = set(session.scalars(select(Declaration.id)))
    assert stored == set(acked)


def test_read_session_refuses_writes_and_stores_nothing(db: Database) -> None:
    def write_in_a_read_session() -> None:
        with db.read_session() as session:
            enqueue(session, "probe")
            session.flush()

    with pytest.raises(DBAPIError):
        write_in_a_read_session()
    assert _jobs(db) == 0
    # The pooled connection goes back to writing for the next read-write session.
    with db.session() as session:
        enqueue(session, "probe")
    assert _jobs(db) == 1


def test_read_session_does_not_wait_for_an_open_writer(db: Database) -> None:
    with db.session() as writer:
        enqueue(writer, "probe")
        writer.flush()  # the writer holds SQLite's write lock from here to its commit
        with db.read_session() as reader:
            assert reader.scalar(select(func.count()).select_from(Job)) == 0
    assert _jobs(db) == 1


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


def test_run_retries_a_transaction_the_database_rolled_back(db: Database) -> None:
    attempts: list[int] = []

    def work(session: Session) -> int:
        attempts.append(1)
        enqueue(session, "probe", {"attempt": len(attempts)})
        session.flush()
        if len(attempts) == 1:
            raise _locked()
        return len(attempts)

    assert db.run(work) == 2
    with db.read_session() as session:
        assert [job.payload for job in session.scalars(select(Job))] == [{"attempt": 2}]


def test_run_gives_up_after_its_attempts_and_never_retries_other_errors(db: Database) -> None:
    calls: list[int] = []

    def always_locked(session: Session) -> None:
        calls.append(1)
        raise _locked()

    with pytest.raises(OperationalError):
        db.run(always_locked, attempts=3)
    assert len(calls) == 3

    calls.clear()

    def duplicate(session: Session) -> None:
        calls.append(1)
        enqueue(session, "probe", dedupe_key="same")
        session.flush()
        session.add(Job(kind="probe", dedupe_key="same"))
        session.flush()

    with pytest.raises(IntegrityError):
        db.run(duplicate)
    assert len(calls) == 1
    assert _jobs(db) == 0


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_locked(), True),
        (OperationalError("x", None, sqlite3.OperationalError("no such table: t")), False),
        (ValueError("database is locked"), False),
    ],
)
def test_is_retryable(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


def test_postgresql_deadlocks_and_serialization_failures_are_retryable(db: Database) -> None:
    if not db.is_postgresql:
        pytest.skip("PostgreSQL error codes")
    with pytest.raises(DBAPIError) as caught, db.session() as session:
        session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$"))
    assert is_retryable(caught.value)
    with pytest.raises(DBAPIError) as other, db.session() as session:
        session.execute(text("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '23505'; END $$"))
    assert not is_retryable(other.value)


def test_an_abandoned_write_session_does_not_block_the_next_writer(db: Database) -> None:
    abandoned = db.sessionmaker()
    enqueue(abandoned, "probe")
    abandoned.flush()  # holds the write lock; then dropped without commit, rollback or close
    del abandoned
    gc.collect()  # SQLite itself stays locked until the pool gets the connection back
    with db.session() as session:  # waited for the lock until the timeout when it leaked
        enqueue(session, "probe")
    assert _jobs(db) == 1
