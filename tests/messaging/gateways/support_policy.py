"""Sender policies for tests."""

from __future__ import annotations

from dataclasses import replace

from safezone.messaging.sender import SenderPolicy
from tests.messaging.gateways.conftest import TEST_POLICY


def small_batches() -> SenderPolicy:
    """Batches of 5, one send at a time."""
    return replace(TEST_POLICY, batch_size=5, concurrency=1)
