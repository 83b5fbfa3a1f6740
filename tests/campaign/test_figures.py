"""Derived figures: the door-to-door count (latest home visit per household) and safezone usage."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone.campaign import coverage, figures
from safezone.campaign.models import (
    AdoptionFigure,
    FigureSource,
    Household,
    Visit,
    VisitApp,
)
from safezone.db.engine import Database

DAY = dt.date(2026, 11, 20)
COMMUNE = "22015"
ICT = dt.timezone(dt.timedelta(hours=7))


def _household(session: Session, n: int, unit: str = COMMUNE) -> int:
    household = Household(unit_code=unit, members=4, import_key=f"key-{n}")
    session.add(household)
    session.flush()
    return household.id


def _visit(
    session: Session,
    household: int,
    when: dt.datetime,
    outcome: str = "home",
    phones: int = 2,
    **apps: str,
) -> None:
    visit = Visit(
        client_id=f"c-{household}-{when.isoformat()}",
        household_id=household,
        unit_code=COMMUNE,
        visited_at=when,
        outcome=outcome,
        smartphones=phones,
    )
    session.add(visit)
    session.flush()
    for app, result in apps.items():
        session.add(VisitApp(visit_id=visit.id, app_code=app, result=result))
    session.flush()


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), ICT)


def test_field_count_uses_each_households_latest_home_visit(db: Database) -> None:
    with db.session() as session:
        a, b, c, d = (_household(session, n) for n in range(4))
        # a: refused first, installed with help later -> 2 phones count.
        _visit(session, a, _at(DAY - dt.timedelta(days=3)), ncovi="refused")
        _visit(
            session,
            a,
            _at(DAY - dt.timedelta(days=1)),
            ncovi="installed_with_help",
            bluezone="later",
        )
        # b: already installed, but a later "not home" visit does not undo it; 0 phones -> 1.
        _visit(session, b, _at(DAY - dt.timedelta(days=2)), phones=0, ncovi="already_installed")
        _visit(session, b, _at(DAY), outcome="not_home")
        # c: installed then the latest home visit says refused -> not counted.
        _visit(session, c, _at(DAY - dt.timedelta(days=5)), ncovi="already_installed")
        _visit(session, c, _at(DAY - dt.timedelta(days=1)), ncovi="refused")
        # d: visited after the day (23:30 local on DAY counts; the next morning does not).
        _visit(session, d, _at(DAY, 23), phones=3, bluezone="installed_with_help")
        _visit(session, d, _at(DAY + dt.timedelta(days=1)), phones=3, ncovi="installed_with_help")
        counts = figures.field_counts(session, as_of=DAY)
    assert counts == {(COMMUNE, "ncovi"): 3, (COMMUNE, "bluezone"): 3}


def test_refresh_writes_changes_only_and_coverage_shows_the_field_source(db: Database) -> None:
    with db.session() as session:
        a = _household(session, 1)
        _visit(session, a, _at(DAY - dt.timedelta(days=1)), ncovi="installed_with_help")
        assert figures.refresh_field(session, as_of=DAY) == 1
        assert figures.refresh_field(session, as_of=DAY) == 0
        assert figures.refresh_field(session, as_of=DAY + dt.timedelta(days=1)) == 0
        got = coverage.unit_coverage(session, COMMUNE, "ncovi", as_of=DAY)
        assert (got.installs, got.source) == (2, "field")
        # A correction the same day supersedes the day's figure.
        _visit(session, a, _at(DAY, 12), ncovi="refused")
        assert figures.refresh_field(session, as_of=DAY) == 1
        rows = session.scalars(select(AdoptionFigure).order_by(AdoptionFigure.id)).all()
        assert [(r.installs, r.superseded_at is not None) for r in rows] == [(2, True), (0, False)]
        assert coverage.unit_coverage(session, COMMUNE, "ncovi", as_of=DAY).installs == 0


def test_refresh_of_a_subtree_leaves_other_units_alone(db: Database) -> None:
    with db.session() as session:
        session.add(
            AdoptionFigure(
                unit_code="22052",
                app_code="ncovi",
                source=FigureSource.FIELD,
                installs=9,
                as_of=DAY,
            )
        )
        session.flush()
        assert figures.refresh_field(session, as_of=DAY, within="555") == 0
        assert figures.refresh_field(session, as_of=DAY) == 1  # 22052 has no visits: back to 0
        assert session.scalar(select(func.count()).select_from(AdoptionFigure)) == 2


def test_safezone_usage_comes_from_the_declarations_service(db: Database) -> None:
    from safezone.declarations import reports

    with db.session() as session:
        assert reports.active_people_by_commune(session, as_of=DAY) == {}
        assert figures.refresh_safezone(session, as_of=DAY) == 0


def test_safezone_usage_counts_distinct_people_per_commune(db: Database, client) -> None:  # type: ignore[no-untyped-def]
    from tests.declarations.conftest import make_body

    for id_number, phone, unit in (
        ("054085000001", "0905111222", COMMUNE),
        ("054085000002", "0905333444", COMMUNE),
        ("054085000003", "0905555666", "22052"),
    ):
        created = client.post(
            "/api/v1/declarations",
            json=make_body(id_number=id_number, phone=phone, address__unit_code=unit),
        )
        assert created.status_code == 201, created.text
    today = coverage.local_today()
    with db.session() as session:
        assert figures.refresh_safezone(session, as_of=today) == 2
        got = coverage.unit_coverage(session, COMMUNE, "safezone", as_of=today)
        later = coverage.unit_coverage(
            session, COMMUNE, "safezone", as_of=today + dt.timedelta(days=20)
        )
        assert figures.refresh_safezone(session, as_of=today + dt.timedelta(days=20)) == 2
        gone = coverage.unit_coverage(
            session, COMMUNE, "safezone", as_of=today + dt.timedelta(days=20)
        )
    assert (got.installs, got.source) == (2, "safezone")
    assert later.installs == 2  # the figure stands until the next refresh
    assert gone.installs == 0  # 14 days later nobody declared: back to 0


def test_the_worker_refreshes_the_figures(db: Database, settings) -> None:  # type: ignore[no-untyped-def]
    from safezone.campaign.tasks import REFRESH_JOB
    from safezone.jobs.service import enqueue_periodic, run_one
    from safezone.runtime import build_registry

    registry = build_registry(settings)
    assert REFRESH_JOB in {p.kind for p in registry.periodic}
    with db.session() as session:
        a = _household(session, 1)
        _visit(session, a, _at(coverage.local_today()), ncovi="installed_with_help")
    enqueue_periodic(db, registry.restricted_to(REFRESH_JOB))  # not every unit's report
    while run_one(db, registry):
        pass
    with db.session() as session:
        got = coverage.unit_coverage(session, COMMUNE, "ncovi")
    assert (got.installs, got.source) == (2, "field")
