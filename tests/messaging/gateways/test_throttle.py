"""The per-channel token bucket shared by every sender (counter store: SQL and Redis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezone.messaging.throttle import SharedRate
from safezone.ratelimit import CounterStore


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class MemoryStore:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}

    def add(self, key: str, slot: int, amount: int, ttl_seconds: int) -> int:
        self.counts[key, slot] = self.counts.get((key, slot), 0) + amount
        return self.counts[key, slot]

    def get(self, key: str, slot: int) -> int:
        return self.counts.get((key, slot), 0)

    def purge(self, now: float) -> int:
        return 0


def test_two_workers_share_one_rate(counter_store: CounterStore) -> None:
    clock = Clock(1_000_000.0)
    workers = [
        SharedRate(counter_store, "sms-test", 50, clock=clock, sleep=clock.sleep) for _ in range(2)
    ]
    assert workers[0].per_slot == 5
    assert workers[0].slot_ms == 100
    granted = [w.try_take(1)[0] for _ in range(6) for w in workers]
    assert sum(granted) == 5  # one slot's worth across both
    clock.now += 0.1
    assert workers[1].try_take(3)[0] == 3


def test_take_waits_for_the_next_slot() -> None:
    clock = Clock(500.05)
    rate = SharedRate(MemoryStore(), "sms", 10, clock=clock, sleep=clock.sleep)
    assert rate.per_slot == 1
    assert rate.take() == 1
    assert rate.take() == 1
    assert clock.now == pytest.approx(500.1)
    assert rate.take(deadline=clock.now) == 0  # would have to wait past the deadline


@settings(max_examples=60, deadline=None)
@given(
    per_second=st.floats(min_value=0.5, max_value=2000),
    asks=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=200),
    step=st.floats(min_value=0.0, max_value=0.05),
)
def test_never_more_than_the_rate_over_any_run(
    per_second: float, asks: list[int], step: float
) -> None:
    clock = Clock(10_000.0)
    rate = SharedRate(MemoryStore(), "x", per_second, clock=clock, sleep=clock.sleep)
    start, total = clock.now, 0
    for wanted in asks:
        total += rate.try_take(wanted)[0]
        clock.now += step
    slots = int((clock.now - start) * 1000 // rate.slot_ms) + 2
    assert total <= slots * rate.per_slot
    assert rate.per_slot <= max(1, per_second * rate.slot_ms / 1000)
