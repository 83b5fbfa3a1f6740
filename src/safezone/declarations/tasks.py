"""Worker jobs of the declarations domain: the retention purge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.declarations.base import Policy
from safezone.declarations.retention import purge_expired
from safezone.jobs.service import Registry

PURGE_JOB = "declarations.purge"
PURGE_EVERY = dt.timedelta(hours=1)

log = structlog.get_logger(__name__)


def register(registry: Registry, settings: Settings) -> None:
    """Add the purge handler and run it every hour (it is idempotent)."""

    @registry.handler(PURGE_JOB)
    def purge(session: Session, payload: dict[str, Any]) -> None:
        del payload  # the retention period comes from the settings
        result = purge_expired(session, Policy.from_settings(settings))
        log.info(
            "declarations.purged",
            declarations=result.declarations,
            daily_updates=result.daily_updates,
            persons=result.persons,
        )

    registry.every(PURGE_JOB, PURGE_EVERY)
