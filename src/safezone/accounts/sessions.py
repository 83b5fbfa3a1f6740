"""Staff sessions stored on the server: the browser holds a random id, the table its SHA-256.

A session ends when its row is gone: at logout, at a password change or when the account is
disabled (every session of the user), after ``idle`` without use, and at its absolute end. A copy
of the cookie is worth nothing once the row is deleted. No HTTP here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from safezone.accounts.models import User, UserSession
from safezone.config import Settings
from safezone.db.base import utcnow

#: How stale ``last_seen_at`` may get before a request refreshes it: one write per minute of
#: activity at most, instead of one per request.
TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last."""

    idle: dt.timedelta
    absolute: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        """Idle limit from ``accounts.session_idle_seconds``, absolute from
        ``web.session_max_age_seconds`` (the cookie's own lifetime)."""
        return cls(
            idle=dt.timedelta(seconds=settings.accounts.session_idle_seconds),
            absolute=dt.timedelta(seconds=settings.web.session_max_age_seconds),
        )


def _hash(token: str) -> str:
    # 256 random bits: a fast hash suffices; a database dump yields no usable cookie.
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, user: User, policy: SessionPolicy, *, now: dt.datetime | None = None
) -> str:
    """Open a session for ``user``; the random id is returned once (for the cookie)."""
    now = now or utcnow()
    # Housekeeping bounded to this user: their ended sessions are dropped at each login.
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            (UserSession.expires_at <= now) | (UserSession.last_seen_at <= now - policy.idle),
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.absolute,
        )
    )
    session.flush()
    return token


def user_for(
    session: Session, token: str, policy: SessionPolicy, *, now: dt.datetime | None = None
) -> User | None:
    """The active user of a live session, or None (an ended session's row is deleted)."""
    now = now or utcnow()
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _hash(token)))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at <= now - policy.idle or not row.user.is_active:
        session.delete(row)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


def end(session: Session, token: str) -> None:
    """End one session (logout)."""
    session.execute(delete(UserSession).where(UserSession.token_hash == _hash(token)))


def end_all(session: Session, user_id: int, *, keep: str | None = None) -> int:
    """End every session of a user, except ``keep`` (the caller's own); how many ended."""
    query = delete(UserSession).where(UserSession.user_id == user_id)
    if keep is not None:
        query = query.where(UserSession.token_hash != _hash(keep))
    result = session.execute(query.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def purge_ended(session: Session, policy: SessionPolicy, *, now: dt.datetime | None = None) -> int:
    """Delete every ended session (idle or past its end); how many (the worker runs it hourly)."""
    now = now or utcnow()
    result = session.execute(
        delete(UserSession)
        .where((UserSession.expires_at <= now) | (UserSession.last_seen_at <= now - policy.idle))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_live(session: Session, user_id: int, *, now: dt.datetime | None = None) -> int:
    """How many sessions of a user have not reached their absolute end."""
    now = now or utcnow()
    rows = session.scalars(
        select(UserSession.id).where(UserSession.user_id == user_id, UserSession.expires_at > now)
    )
    return len(rows.all())
