"""Worker jobs of the campaign: the derived adoption figures are recomputed hourly."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from safezone.campaign import figures
from safezone.config import Settings
from safezone.jobs.service import Registry

REFRESH_JOB = "campaign.figures.refresh"
#: Door-to-door and safezone-usage figures follow visits and declarations within this period.
REFRESH_EVERY = dt.timedelta(hours=1)


def register(registry: Registry, settings: Settings) -> None:
    """Recompute the door-to-door and safezone-usage figures every hour (idempotent: only
    numbers that changed are written)."""
    del settings

    @registry.handler(REFRESH_JOB)
    def refresh(session: Session, payload: dict[str, object]) -> None:
        del payload
        figures.refresh(session)

    registry.every(REFRESH_JOB, REFRESH_EVERY)
