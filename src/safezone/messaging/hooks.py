"""Callbacks other domains register to hear about contacts (messaging imports none of them).

The rollout campaign registers ``on_installed`` at start-up to count an installation reported
by an SMS keyword or a confirmation link as adoption; a callback runs inside the transaction
that marked the contact, so its writes commit or roll back with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Installed:
    """A contact newly marked as having installed an app."""

    contact_id: int
    unit_code: str
    app_code: str
    source: str  # visit | mo | link | import | staff


InstalledCallback = Callable[[Session, Installed], None]
_installed: list[InstalledCallback] = []


def on_installed(callback: InstalledCallback) -> InstalledCallback:
    """Register ``callback`` (usable as a decorator); registering twice has no effect."""
    if callback not in _installed:
        _installed.append(callback)
    return callback


def remove(callback: InstalledCallback) -> None:
    """Unregister ``callback`` (tests)."""
    if callback in _installed:
        _installed.remove(callback)


def installed(session: Session, event: Installed) -> None:
    """Tell every registered callback."""
    for callback in _installed:
        callback(session, event)
