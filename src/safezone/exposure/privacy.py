"""Plausible deniability for the phone-facing endpoints.

- :class:`LatencySampler` remembers how long real requests took, so decoy (chaff) requests can
  wait a duration drawn from the same distribution. It is seeded at start-up with timings of
  the real work path (see ``ExposureRuntime.calibrate``), so the first decoys look like real
  answers too.
- :func:`padded_json` pads every answer to one constant size.

The limits of these endpoints are in :mod:`safezone.exposure.limits`.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import deque
from typing import Any

CHAFF_HEADER = "x-chaff"


class LatencySampler:
    """The last ``size`` durations of real requests; draws one for a decoy."""

    def __init__(self, size: int = 256, default_seconds: float = 0.05) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._default = default_seconds
        self._lock = threading.Lock()

    def observe(self, seconds: float) -> None:
        """Remember one real request's duration."""
        with self._lock:
            self._samples.append(seconds)

    def samples(self) -> tuple[float, ...]:
        """The durations held now (oldest first)."""
        with self._lock:
            return tuple(self._samples)

    def draw(self) -> float:
        """A duration from the recent real ones (the default before any was seen).

        Drawn with the OS's random source: which sample a decoy copies must not be predictable.
        """
        samples = self.samples()
        if not samples:
            return self._default
        return samples[secrets.randbelow(len(samples))]


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
