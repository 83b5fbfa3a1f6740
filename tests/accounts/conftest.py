"""Cheap password hashing for the accounts tests, which log in dozens of times."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from safezone.accounts import passwords


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost: the behaviour under test is the same, the CPU bill is not."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("safezone-timing-equaliser"))
