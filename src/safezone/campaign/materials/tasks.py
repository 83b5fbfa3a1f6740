"""Worker jobs of the materials: scheduled reports (generated, kept, e-mailed) and broadcast
scripts refreshed with their audio when the figures move.

Every hour the planner enqueues, once per unit and period (``dedupe_key``), a report job for
each province, district and commune: the daily report of yesterday and, on Mondays, the weekly
report of the week that ended on Sunday. Each job is idempotent: generating a period again
replaces its files, and a report already e-mailed is not sent twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.coverage import local_today
from safezone.config import Settings
from safezone.jobs.service import Registry, enqueue
from safezone.units.models import Unit

PLAN_JOB = "campaign.materials.plan_reports"
REPORT_JOB = "campaign.materials.report"
BROADCAST_JOB = "campaign.materials.refresh_broadcasts"
EVERY = dt.timedelta(hours=1)
REPORTED_LEVELS: tuple[str, ...] = ("province", "district", "commune")

log = structlog.get_logger(__name__)


def plan_reports(session: Session, *, today: dt.date | None = None) -> int:
    """Enqueue the reports due on ``today`` (yesterday's daily; last week's on Mondays)."""
    today = today or local_today()
    yesterday = today - dt.timedelta(days=1)
    periods = [("day", yesterday)]
    if today.isoweekday() == 1:
        periods.append(("week", yesterday))
    codes = session.scalars(
        select(Unit.code).where(Unit.level.in_(REPORTED_LEVELS)).order_by(Unit.code)
    )
    added = 0
    for code in codes:
        for period, end in periods:
            key = f"{REPORT_JOB}:{code}:{period}:{end.isoformat()}"
            payload = {"unit": code, "period": period, "end": end.isoformat()}
            if enqueue(session, REPORT_JOB, payload, dedupe_key=key) is not None:
                added += 1
    return added


def run_report(session: Session, settings: Settings, payload: dict[str, Any]) -> None:
    """Generate one unit's report for one period, and e-mail it when recipients are set."""
    from safezone.campaign.materials import mailer, reports
    from safezone.declarations.base import Policy
    from safezone.units.names import display_name

    end = dt.date.fromisoformat(str(payload["end"]))
    stored = reports.generate(
        session,
        str(payload["unit"]),
        str(payload["period"]),
        end,
        policy=Policy.from_settings(settings),
    )
    if not settings.materials.smtp_host or all(row.emailed_at for row in stored):
        return
    unit = session.get(Unit, stored[0].unit_code)
    sent = mailer.email_reports(
        session,
        mailer.Mailer.from_config(settings.materials),
        stored,
        unit_name=display_name(unit),
    )
    log.info("campaign.report_emailed", unit=stored[0].unit_code, recipients=len(sent))


def refresh_broadcasts(session: Session) -> int:
    """Refresh the script (and audio) of every unit with an active schedule; how many changed."""
    from safezone.campaign.materials import broadcasts
    from safezone.campaign.materials.figures import unit_sheet

    changed = 0
    for code in broadcasts.scheduled_units(session):
        _, new = broadcasts.refresh_script(session, unit_sheet(session, code))
        changed += int(new)
    return changed


def register(registry: Registry, settings: Settings) -> None:
    """Add the materials' handlers and their hourly schedule."""

    @registry.handler(PLAN_JOB)
    def plan(session: Session, payload: dict[str, Any]) -> None:
        del payload
        log.info("campaign.reports_planned", added=plan_reports(session))

    @registry.handler(REPORT_JOB)
    def report(session: Session, payload: dict[str, Any]) -> None:
        run_report(session, settings, payload)

    @registry.handler(BROADCAST_JOB)
    def broadcasts_job(session: Session, payload: dict[str, Any]) -> None:
        del payload
        log.info("campaign.broadcasts_refreshed", changed=refresh_broadcasts(session))

    registry.every(PLAN_JOB, EVERY)
    registry.every(BROADCAST_JOB, EVERY)
