"""Worker jobs of the accounts domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from safezone.accounts import sessions
from safezone.config import Settings
from safezone.jobs.service import Registry

SESSION_PURGE_JOB = "accounts.sessions.purge"


def register(registry: Registry, settings: Settings) -> None:
    """Ended staff sessions are deleted hourly (they stopped working when they ended)."""
    policy = sessions.SessionPolicy.from_settings(settings)

    @registry.handler(SESSION_PURGE_JOB)
    def purge(session: Session, payload: dict[str, object]) -> None:
        del payload
        sessions.purge_ended(session, policy)

    registry.every(SESSION_PURGE_JOB, dt.timedelta(hours=1))
