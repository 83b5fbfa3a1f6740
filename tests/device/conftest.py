"""Fixtures of the reference-device tests: the exposure server's settings and storage, and a
simulated clock. The bumble-backed tests need the ``device`` extra (``pip install .[device]``)."""

from __future__ import annotations

import pytest

pytest.importorskip("bumble", reason="the device extra (bumble) is not installed")

from tests.exposure.conftest import exposure_config, settings, storage

__all__ = ["SimClock", "exposure_config", "settings", "storage"]


class SimClock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, now: float) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """The current simulated time."""
        return self.now
