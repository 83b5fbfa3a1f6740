"""Password login with throttling instead of lockout. No HTTP here.

A hard lockout lets anyone lock any staff account, and a distinct "locked" answer tells which
accounts exist. Here:

- every answer depends only on the name typed and the client's address, never on whether the
  account exists or is disabled: unknown, disabled and wrong password give the same
  :class:`LoginFailed`; a throttled attempt gives :class:`LoginThrottled` for any name;
- failures are counted per (name, address) pair: after ``pair_limit`` in the window only that
  pair waits, so an attacker's failures never stop the real user elsewhere;
- failures are also counted per name over all addresses (the attacker who rotates addresses):
  beyond ``account_limit`` only addresses that logged in to the account successfully before
  (remembered for ``known_days``) may keep trying, so the real user at their usual address still
  gets in;
- the user is told: every failure is audited, and the next successful login reports how many
  failed attempts happened since the previous one.

Counters live in the shared store (:mod:`safezone.ratelimit`) under opaque HMAC keys: no name or
address is stored in clear, and every process sees the same counts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from safezone.accounts.models import User
from safezone.accounts.passwords import hash_password, needs_rehash, verify_password
from safezone.accounts.service import LoginFailed, record
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.errors import FieldError, SafezoneError
from safezone.keyring import KeyRing
from safezone.ratelimit import CounterStore, SlidingWindow, store_for

_PURPOSE = "safezone-login-throttle"


class LoginThrottled(SafezoneError):
    """Too many failed logins for this name from here (the same answer for every name)."""

    status_hint = 429

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes
        super().__init__(
            FieldError(
                None,
                "login_throttled",
                f"Đăng nhập sai quá nhiều lần; hãy thử lại sau {minutes} phút.",
                f"Too many failed logins; try again in {minutes} minutes.",
            )
        )


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A successful login: the user and how many failed attempts preceded it since the last."""

    user: User
    failed_since_last: int


class LoginGuard:
    """The throttling counters of logins, in the shared store."""

    def __init__(
        self,
        store: CounterStore,
        ring: KeyRing,
        *,
        pair_limit: int = 5,
        pair_window_seconds: int = 15 * 60,
        account_limit: int = 20,
        account_window_seconds: int = 3600,
        known_days: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = ring.key(_PURPOSE)
        self.pair = SlidingWindow(
            store, "login-pair", limit=pair_limit, window_seconds=pair_window_seconds, clock=clock
        )
        self.account = SlidingWindow(
            store,
            "login-account",
            limit=account_limit,
            window_seconds=account_window_seconds,
            clock=clock,
        )
        # A success marks the (name, address) pair as known; any count > 0 in the window is it.
        self.known = SlidingWindow(
            store, "login-known", limit=1, window_seconds=known_days * 86_400, clock=clock
        )

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine) -> LoginGuard:
        """The installation's guard: its shared counter store and ``settings.accounts``."""
        config = settings.accounts
        return cls(
            store_for(settings, engine),
            settings.keyring,
            pair_limit=config.login_pair_limit,
            pair_window_seconds=config.login_pair_window_seconds,
            account_limit=config.login_account_limit,
            account_window_seconds=config.login_account_window_seconds,
            known_days=config.login_known_days,
        )

    def _digest(self, *parts: str) -> str:
        message = "\0".join(parts).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def check(self, name: str, address: str) -> None:
        """Raise LoginThrottled when this attempt must wait (before any password work)."""
        pair = self.pair.peek(self._digest("pair", name, address))
        if pair.count >= self.pair.limit:
            raise LoginThrottled(math.ceil(self.pair.window_seconds / 60))
        account = self.account.peek(self._digest("account", name))
        if account.count >= self.account.limit and not self.is_known(name, address):
            raise LoginThrottled(math.ceil(self.account.window_seconds / 60))

    def is_known(self, name: str, address: str) -> bool:
        """Whether ``address`` logged in to ``name`` successfully within the known period."""
        return self.known.peek(self._digest("known", name, address)).count > 0

    def failed(self, name: str, address: str) -> None:
        """Count one failure against the pair and the name."""
        self.pair.hit(self._digest("pair", name, address))
        self.account.hit(self._digest("account", name))

    def succeeded(self, name: str, address: str) -> None:
        """Remember the address as one the account's owner uses."""
        self.known.hit(self._digest("known", name, address))


def normalise(username: str) -> str:
    """The form of a user name that logins and counters use."""
    return username.strip().lower()


def authenticate(
    session: Session,
    guard: LoginGuard,
    username: str,
    password: str,
    *,
    address: str,
    now: dt.datetime | None = None,
) -> LoginResult:
    """Check a login from ``address``.

    Raises LoginThrottled or LoginFailed (the latter for unknown, disabled and wrong password
    alike). Failure counts and audit entries are written in the caller's transaction: commit it
    even on failure.
    """
    name = normalise(username)
    guard.check(name, address)
    user = session.scalar(select(User).where(User.username == name))
    valid = verify_password(user.password_hash if user else None, password)  # same work if None
    if user is None or not valid or not user.is_active:
        guard.failed(name, address)
        if user is not None:
            user.failed_logins += 1
            record(
                session,
                actor=user.username,
                action="login.failed",
                object_type="user",
                object_id=user.id,
                detail={"inactive": True} if valid else {},
            )
        raise LoginFailed
    failed = user.failed_logins
    user.failed_logins = 0
    user.last_login_at = now or utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    guard.succeeded(name, address)
    record(
        session,
        actor=user.username,
        action="login",
        object_type="user",
        object_id=user.id,
        detail={"failed_since_last": failed} if failed else {},
    )
    return LoginResult(user, failed)
