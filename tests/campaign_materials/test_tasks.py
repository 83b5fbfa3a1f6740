"""The worker's materials jobs: reports planned once per unit and period, generated and kept;
broadcast scripts refreshed for scheduled units."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from safezone.campaign.materials import broadcasts, tasks
from safezone.campaign.materials.models import BroadcastScript, CampaignReport
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.jobs.models import Job
from safezone.jobs.service import run_one
from safezone.runtime import build_registry

from .conftest import COMMUNE, seed_figures

MONDAY = dt.date(2026, 11, 30)


def test_reports_are_planned_once_per_unit_and_period(db: Database) -> None:
    with db.session() as session:
        added = tasks.plan_reports(session, today=MONDAY)
        again = tasks.plan_reports(session, today=MONDAY)
        tuesday = tasks.plan_reports(session, today=MONDAY + dt.timedelta(days=1))
    # Phú Yên: 1 province, 9 districts, 112 communes; Monday adds last week's report.
    assert added == 122 * 2
    assert again == 0
    assert tuesday == 122


def test_worker_generates_a_planned_report(db: Database, settings: Settings) -> None:
    registry = build_registry(settings)
    assert tasks.REPORT_JOB in registry.handlers
    with db.session() as session:
        seed_figures(session, {(COMMUNE, "ncovi"): 1600})
        session.add(
            Job(
                kind=tasks.REPORT_JOB,
                payload={"unit": COMMUNE, "period": "week", "end": "2026-11-29"},
                run_after=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            )
        )
    assert run_one(db, registry)
    with db.session() as session:
        job = session.scalar(select(Job).where(Job.kind == tasks.REPORT_JOB))
        assert job is not None
        assert job.done_at is not None, job.last_error
        kept = session.scalars(select(CampaignReport.format)).all()
    assert sorted(str(fmt) for fmt in kept) == ["pdf", "xlsx"]


def test_broadcasts_refresh_for_scheduled_units_only(db: Database, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from safezone.campaign.materials import audio

    monkeypatch.setattr(
        audio, "synthesize", lambda text, fmt="mp3": audio.Audio(b"ID3", "audio/mpeg", 30.0)
    )
    with db.session() as session:
        seed_figures(session, {(COMMUNE, "bluezone"): 1580})
        broadcasts.set_schedule(
            session, COMMUNE, broadcasts.ScheduleInput(times="06:00"), user=None
        )
        assert tasks.refresh_broadcasts(session) == 1
        assert tasks.refresh_broadcasts(session) == 0
        assert session.scalar(select(func.count()).select_from(BroadcastScript)) == 1
