"""Shared rate-limit counters: atomic across processes, sliding windows, opaque client keys."""

from __future__ import annotations

import multiprocessing
import sqlite3
import uuid
from pathlib import Path

import pytest

from safezone import ratelimit
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.keyring import KeyRing
from tests.conftest import REDIS_URL, redis_client_or_skip


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sliding_window_counts_and_refuses(counter_store: ratelimit.CounterStore) -> None:
    clock = Clock(60 * 16_667.0)  # the start of a 60 s slot
    limit = ratelimit.SlidingWindow(counter_store, "t", limit=3, window_seconds=60, clock=clock)
    assert [limit.hit("a").allowed for _ in range(4)] == [True, True, True, False]
    assert limit.hit("b").allowed  # another key has its own window
    refused = limit.peek("a")
    assert not refused.allowed
    assert 1 <= refused.retry_after_seconds <= 60


def test_sliding_window_weights_the_previous_slot(counter_store: ratelimit.CounterStore) -> None:
    clock = Clock(60 * 16_667.0)  # the start of a 60 s slot
    limit = ratelimit.SlidingWindow(counter_store, "w", limit=10, window_seconds=60, clock=clock)
    limit.hit("a", amount=10)
    clock.now += 60 + 15  # a quarter into the next slot: 3/4 of the old count still counts
    assert limit.peek("a").count == pytest.approx(7.5)
    clock.now += 45  # the old slot has left the window
    assert limit.peek("a").count == 0


def _hammer(args: tuple[str, str, str, int]) -> None:
    kind, url, prefix, times = args
    if kind == "redis":
        import redis

        store: ratelimit.CounterStore = ratelimit.RedisCounterStore(
            redis.Redis.from_url(url), prefix=prefix
        )
    else:
        settings = Settings(database_url=url, secret_key="x" * 40)
        store = ratelimit.store_for(settings, Database(settings.sqlalchemy_url).engine)
    for _ in range(times):
        store.add("shared", 0, 1, 3600)


@pytest.mark.parametrize("kind", ["sql", "redis"])
def test_processes_share_one_exact_count(kind: str, settings: Settings, db: Database) -> None:
    prefix = f"safezone-test:{uuid.uuid4().hex}:"
    if kind == "redis":
        client = redis_client_or_skip()
        url = REDIS_URL
        store: ratelimit.CounterStore = ratelimit.RedisCounterStore(client, prefix=prefix)
    else:
        url = settings.database_url
        store = ratelimit.store_for(settings, db.engine)
    context = multiprocessing.get_context("fork")  # each child opens its own connections
    with context.Pool(4) as pool:
        pool.map(_hammer, [(kind, url, prefix, 50)] * 4)
    assert store.get("shared", 0) == 200  # no lost update across four processes


def test_purge_drops_expired_counters(settings: Settings, db: Database) -> None:
    store = ratelimit.store_for(settings, db.engine)
    store.add("old", 0, 1, 10)
    store.add("new", 2_000_000_000, 1, 10)
    assert store.purge(1_000) == 1
    assert store.get("old", 0) == 0
    assert store.get("new", 2_000_000_000) == 1


def test_sqlite_counters_live_beside_the_database(settings: Settings, db: Database) -> None:
    if not settings.is_sqlite:
        pytest.skip("PostgreSQL keeps counters in the main database")
    ratelimit.store_for(settings, db.engine).add("k", 0, 1, 60)
    main = Path(settings.database_url.removeprefix("sqlite:///"))
    side = main.with_name(main.stem + "-limits.db")
    assert side.is_file()
    assert side.stat().st_mode & 0o077 == 0  # private, like the main database
    with sqlite3.connect(side) as connection:
        assert connection.execute("SELECT count FROM rate_counters").fetchall() == [(1,)]
    # The main file's writer lock does not block counters: hold it and count anyway.
    raw = db.engine.raw_connection()
    try:
        raw.cursor().execute("BEGIN IMMEDIATE")
        assert ratelimit.store_for(settings, db.engine).add("k", 0, 1, 60) == 2
        raw.cursor().execute("ROLLBACK")
    finally:
        raw.close()


def test_client_keys_are_opaque_and_day_scoped() -> None:
    ring = KeyRing(b"s" * 40)
    day = 20_000 * 86_400.0
    first = ratelimit.client_key(ring, "203.0.113.7", now=day)
    assert first == ratelimit.client_key(ring, "203.0.113.7", now=day + 3600)
    assert first != ratelimit.client_key(ring, "203.0.113.8", now=day)
    assert first != ratelimit.client_key(ring, "203.0.113.7", now=day + 86_400)
    assert first != ratelimit.client_key(KeyRing(b"t" * 40), "203.0.113.7", now=day)
    assert "203" not in first
