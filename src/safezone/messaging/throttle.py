"""Per-channel throughput shared by every sender process: a token bucket in the shared store.

Time is cut into short slots; each slot holds ``rate x slot length`` tokens. Taking tokens is
one atomic add on the slot's counter in the installation's counter store
(:func:`safezone.ratelimit.store_for`: Redis or the database), so N worker processes together
never exceed the rate, and a restarted worker cannot reset it. Tokens asked for beyond what a
slot holds are not granted (the counter still rises, which only makes the slot stricter).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from safezone.ratelimit import CounterStore


@dataclass
class SharedRate:
    """``per_second`` tokens per second for ``name``, across processes."""

    store: CounterStore
    name: str
    per_second: float
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    slot_ms: int = field(init=False)
    per_slot: int = field(init=False)
    # Tokens this process was granted for one slot and has not used yet: (slot, count). One
    # store round trip then serves several sends (a batch asks for what it still needs).
    _reserve: tuple[int, int] = field(init=False, default=(-1, 0))
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.per_second <= 0:
            raise ValueError("per_second must be positive")
        # Slots of at least 100 ms, long enough to hold one whole token.
        self.slot_ms = max(100, math.ceil(1000 / self.per_second))
        self.per_slot = max(1, math.floor(self.per_second * self.slot_ms / 1000))

    def try_take(self, wanted: int = 1) -> tuple[int, float]:
        """Take up to ``wanted`` tokens now: (granted, seconds until the next slot)."""
        now = self.clock()
        slot = int(now * 1000) // self.slot_ms
        count = self.store.add(f"send:{self.name}", slot, wanted, 60)
        granted = max(0, min(wanted, self.per_slot - (count - wanted)))
        wait = (slot + 1) * self.slot_ms / 1000 - now
        return granted, max(0.0, wait)

    def take(self, wanted: int = 1, *, deadline: float | None = None) -> int:
        """Block until at least one token is granted (or ``deadline`` passes: 0)."""
        while True:
            granted, wait = self.try_take(wanted)
            if granted:
                return granted
            if deadline is not None and self.clock() + wait > deadline:
                return 0
            self.sleep(wait)

    def take_one(self, ahead: int = 1) -> None:
        """Block until one token is ours. ``ahead``: how many sends this process still has
        queued; up to that many (at most a slot's worth) are asked for at once, and what is
        left over serves the next calls within the same slot only (never the next slot's
        budget)."""
        while True:
            with self._lock:
                now = self.clock()
                slot = int(now * 1000) // self.slot_ms
                reserved_slot, count = self._reserve
                if reserved_slot == slot and count > 0:
                    self._reserve = (slot, count - 1)
                    return
                granted, wait = self.try_take(max(1, min(ahead, self.per_slot)))
                if granted:
                    self._reserve = (slot, granted - 1)
                    return
            self.sleep(wait)
