"""Rate-limit counters that every process shares: PostgreSQL (or SQLite) by default, Redis if set.

Limits kept in one process's memory reset on restart and multiply with the number of workers.
Here a counter lives in a store all processes see:

- :class:`SqlCounterStore` — a ``rate_counters`` table, one row per (key, time slot), bumped with
  one atomic upsert. On PostgreSQL it is a table of the main database. On SQLite it lives in a
  separate file next to the database (``<name>-limits.db``), because SQLite has one writer per
  file: a counter bumped while a request holds the main file's write lock would wait for itself.
- :class:`RedisCounterStore` — ``INCRBY`` + ``EXPIRE`` in one transaction, when
  ``SAFEZONE_REDIS_URL`` is set.

:class:`SlidingWindow` turns counters into a limit over a sliding window (the previous slot's
count weighted by how much of it still overlaps the window, plus the current slot's), which has
no burst at slot boundaries and needs two counters per check.

Keys are opaque: callers pass digests, never addresses or account names in clear
(:func:`client_key` makes one from a client address).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import BigInteger, Integer, String, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base
from safezone.db.engine import build_engine

if TYPE_CHECKING:
    from safezone.config import Settings
    from safezone.keyring import KeyRing

_CLIENT_KEY_PURPOSE = "safezone-ratelimit-client"


class RateCounter(Base):
    """One counter: how many events ``key`` had in the time slot starting at ``slot``."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # unix seconds of its start
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds; purge after


class CounterStore(Protocol):
    """Counters per (key, slot), shared by every process of an installation."""

    def add(self, key: str, slot: int, amount: int, ttl_seconds: int) -> int:
        """Add ``amount`` to the counter and return its new value (atomically)."""
        ...

    def get(self, key: str, slot: int) -> int:
        """The counter's value (0 when absent)."""
        ...

    def purge(self, now: float) -> int:
        """Drop counters whose time has passed; the number dropped (0 where the store expires
        them itself)."""
        ...


class SqlCounterStore:
    """Counters in a SQL table (atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def _insert(self) -> Any:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if self._dialect == "postgresql" else sqlite
        return dialect.insert(RateCounter)

    def add(self, key: str, slot: int, amount: int, ttl_seconds: int) -> int:
        """Add ``amount`` to the counter and return its new value (atomically)."""
        statement = self._insert().values(
            key=key, slot=slot, count=amount, expires=slot + ttl_seconds
        )
        statement = statement.on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.slot],
            set_={"count": RateCounter.count + amount},
        ).returning(RateCounter.count)
        with self._engine.begin() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, key: str, slot: int) -> int:
        """The counter's value (0 when absent)."""
        with self._engine.connect() as connection:
            value = connection.execute(
                select(RateCounter.count).where(RateCounter.key == key, RateCounter.slot == slot)
            ).scalar()
        return int(value or 0)

    def purge(self, now: float) -> int:
        """Delete expired counters; the number deleted."""
        with self._engine.begin() as connection:
            result = connection.execute(delete(RateCounter).where(RateCounter.expires < int(now)))
        return int(result.rowcount or 0)


class RedisCounterStore:
    """Counters in Redis (expire on their own)."""

    def __init__(self, client: Any, prefix: str = "safezone:rl:") -> None:
        self._client = client
        self._prefix = prefix

    def _name(self, key: str, slot: int) -> str:
        return f"{self._prefix}{key}:{slot}"

    def add(self, key: str, slot: int, amount: int, ttl_seconds: int) -> int:
        """Add ``amount`` to the counter and return its new value (atomically)."""
        name = self._name(key, slot)
        pipeline = self._client.pipeline(transaction=True)
        pipeline.incrby(name, amount)
        pipeline.expire(name, max(1, ttl_seconds))
        value, _ = pipeline.execute()
        return int(value)

    def get(self, key: str, slot: int) -> int:
        """The counter's value (0 when absent)."""
        value = self._client.get(self._name(key, slot))
        return int(value or 0)

    def purge(self, now: float) -> int:
        """Nothing to do: Redis expires the counters itself."""
        del now
        return 0


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one check: the estimated count in the window, against the limit."""

    allowed: bool
    count: float
    limit: int
    retry_after_seconds: int


class SlidingWindow:
    """``limit`` events per ``window_seconds`` per key, over a sliding window."""

    def __init__(
        self,
        store: CounterStore,
        name: str,
        *,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be positive")
        self._store = store
        self._name = name
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock

    def _slots(self, now: float) -> tuple[int, int, float]:
        current = int(now // self.window_seconds) * self.window_seconds
        overlap = 1.0 - (now - current) / self.window_seconds  # share of the previous slot
        return current, current - self.window_seconds, overlap

    def _key(self, key: str) -> str:
        return f"{self._name}:{key}"

    def _decide(self, count: float, now: float) -> Decision:
        allowed = count <= self.limit
        retry = 0 if allowed else max(1, math.ceil(self.window_seconds - now % self.window_seconds))
        return Decision(allowed, count, self.limit, retry)

    def peek(self, key: str) -> Decision:
        """The current estimate for ``key`` without counting anything."""
        now = self._clock()
        current, previous, overlap = self._slots(now)
        stored = self._key(key)
        count = self._store.get(stored, previous) * overlap + self._store.get(stored, current)
        return self._decide(count, now)

    def hit(self, key: str, amount: int = 1) -> Decision:
        """Count ``amount`` events for ``key`` and say whether the window is still within limit."""
        now = self._clock()
        current, previous, overlap = self._slots(now)
        stored = self._key(key)
        # Counters live two windows: long enough to serve as the "previous" slot.
        value = self._store.add(stored, current, amount, 2 * self.window_seconds)
        count = self._store.get(stored, previous) * overlap + value
        return self._decide(count, now)


def client_key(ring: KeyRing, address: str, *, now: float | None = None) -> str:
    """An opaque, day-scoped key for a client address (no address is ever stored).

    HMAC under a key-ring key mixed with the UTC day: every process computes the same key for
    the same client, and keys of different days cannot be linked without the secret.
    """
    day = int((time.time() if now is None else now) // 86_400)
    mac = hmac.new(ring.key(_CLIENT_KEY_PURPOSE), f"{day}:{address}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _limits_sqlite_url(url: str) -> str:
    # sqlite:///dir/safezone.db -> sqlite:///dir/safezone-limits.db (memory stays memory).
    prefix, _, path = url.partition(":///")
    if not path or path == ":memory:" or path.startswith("file:"):
        return url
    file = Path(path)
    return f"{prefix}:///{file.with_name(file.stem + '-limits' + (file.suffix or '.db'))}"


def _sqlite_limits_engine(url: str) -> Engine:
    # The main database's engine settings (private file, WAL, busy timeout, hidden parameters,
    # one writer at a time), on the side file.
    engine = build_engine(_limits_sqlite_url(url))
    RateCounter.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    return engine


_stores: dict[tuple[str, str], CounterStore] = {}
_stores_lock = threading.Lock()
# A forked child must not reuse its parent's pooled connections: it builds its own stores.
os.register_at_fork(after_in_child=_stores.clear)


def store_for(settings: Settings, engine: Engine) -> CounterStore:
    """The installation's counter store: Redis when ``SAFEZONE_REDIS_URL`` is set, else SQL.

    One store per (Redis URL, database URL) in a process, shared by every limit.
    """
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else ""
    cache_key = (redis_url, str(engine.url))
    with _stores_lock:
        store = _stores.get(cache_key)
        if store is None:
            if redis_url:
                import redis

                store = RedisCounterStore(redis.Redis.from_url(redis_url))
            elif engine.dialect.name == "sqlite":
                store = SqlCounterStore(
                    _sqlite_limits_engine(engine.url.render_as_string(hide_password=False))
                )
            else:
                store = SqlCounterStore(engine)
            _stores[cache_key] = store
    return store
