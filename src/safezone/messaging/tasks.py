"""Worker jobs of messaging: the planner, expanding approved sends into outbox rows.

(The sender that claims and delivers outbox rows is registered by the gateway side.)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.jobs.service import Registry
from safezone.messaging import planner
from safezone.messaging.base import Policy

PLAN_JOB = "messaging.plan"
PLAN_EVERY = dt.timedelta(minutes=15)

log = structlog.get_logger(__name__)


def register(registry: Registry, settings: Settings) -> None:
    """Run the planner every 15 minutes (idempotent: the outbox key stops duplicates)."""

    @registry.handler(PLAN_JOB)
    def plan(session: Session, payload: dict[str, Any]) -> None:
        del payload
        written = planner.plan_all(session, Policy.from_settings(settings))
        log.info("messaging.planned", messages=written)

    registry.every(PLAN_JOB, PLAN_EVERY)
