"""Plausible deniability and brute-force bounds for the phone-facing endpoints.

- :class:`RateLimiter` counts requests per client and in total for a fixed window. A client is
  known only by an HMAC of its address under a random key that lives in memory and is replaced
  every window, so no address is ever stored or logged, and last window's digests cannot be
  linked to this window's.
- :class:`LatencySampler` remembers how long real requests took, so decoy (chaff) requests can
  wait a duration drawn from the same distribution.
- :func:`padded_json` pads every answer to one constant size.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

CHAFF_HEADER = "x-chaff"


class RateLimiter:
    """Fixed-window counters per client and overall (in memory, per process)."""

    def __init__(
        self,
        *,
        per_client: int,
        total: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_client = per_client
        self.total = total
        self.window_seconds = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._reset(clock())

    def _reset(self, now: float) -> None:
        self._window_started = now
        self._key = os.urandom(32)  # forgotten at the end of the window
        self._counts: dict[bytes, int] = {}
        self._all = 0

    def allow(self, client: str) -> bool:
        """Count one request from ``client``; False when it is over a limit."""
        with self._lock:
            now = self._clock()
            if now - self._window_started >= self.window_seconds:
                self._reset(now)
            digest = hmac.digest(self._key, client.encode(), hashlib.sha256)[:16]
            count = self._counts.get(digest, 0) + 1
            self._counts[digest] = count
            self._all += 1
            return count <= self.per_client and self._all <= self.total


class LatencySampler:
    """The last ``size`` durations of real requests; draws one for a decoy."""

    def __init__(self, size: int = 256, default_seconds: float = 0.05) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._default = default_seconds

    def observe(self, seconds: float) -> None:
        """Remember one real request's duration."""
        self._samples.append(seconds)

    def draw(self, rng: random.Random | None = None) -> float:
        """A duration from the recent real ones (the default before any was seen)."""
        if not self._samples:
            return self._default
        return (rng or random).choice(tuple(self._samples))


def random_text(length: int) -> str:
    """``length`` URL-safe random characters."""
    return secrets.token_urlsafe(length)[:length] if length > 0 else ""


def padded_json(payload: dict[str, Any], size: int) -> bytes:
    """``payload`` as JSON with a ``padding`` field making it exactly ``size`` bytes (or more
    when the payload alone is larger)."""
    body = {key: value for key, value in payload.items() if value is not None}
    body["padding"] = ""
    bare = json.dumps(body, separators=(",", ":"), default=str).encode()
    body["padding"] = random_text(size - len(bare))
    return json.dumps(body, separators=(",", ":"), default=str).encode()


def is_chaff(headers: Any) -> bool:
    """Whether the request is a decoy (``X-Chaff`` set to anything but empty or ``0``)."""
    value = headers.get(CHAFF_HEADER)
    return value is not None and value.strip() not in ("", "0")
