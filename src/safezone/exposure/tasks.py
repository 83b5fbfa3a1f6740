"""Worker jobs: the export batches and the retention purge (both idempotent)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.exposure import export, retention
from safezone.exposure.storage import storage_from_settings
from safezone.jobs.service import Registry

EXPORT_JOB = "exposure.export"
RETENTION_JOB = "exposure.retention"
RETENTION_EVERY = dt.timedelta(hours=1)

log = structlog.get_logger(__name__)


def register(registry: Registry, settings: Settings) -> None:
    """Add both handlers and their schedules."""
    storage = storage_from_settings(settings)

    @registry.handler(EXPORT_JOB)
    def run_export(session: Session, payload: dict[str, Any]) -> None:
        del payload  # windows are due by the clock; a late job exports every missed one
        report = export.run_export(session, settings, storage, now=utcnow())
        log.info("exposure.export", batches=report.batches, files=len(report.files))

    @registry.handler(RETENTION_JOB)
    def run_retention(session: Session, payload: dict[str, Any]) -> None:
        del payload
        result = retention.purge(session, settings, storage, now=utcnow())
        log.info("exposure.retention", keys=result.keys, files=result.files, codes=result.codes)

    registry.every(EXPORT_JOB, dt.timedelta(seconds=settings.exposure.export_every_seconds))
    registry.every(RETENTION_JOB, RETENTION_EVERY)
