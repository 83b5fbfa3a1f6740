"""Coverage arithmetic: one source per commune, roll-ups equal the sum of their communes."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign import coverage
from safezone.campaign.models import AdoptionFigure, FigureSource, SmartphoneRatio, Target
from safezone.db.engine import Database
from safezone.errors import NotFound
from safezone.units.models import Unit

DAY = dt.date(2026, 11, 20)
PROVINCE = "54"
DISTRICT = "555"
COMMUNE = "22015"


def _communes(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).where(Unit.level == "commune").order_by(Unit.code)))


def _figure(
    session: Session,
    unit: str,
    source: FigureSource,
    installs: int,
    *,
    app: str = "ncovi",
    day: dt.date = DAY,
    phones: int | None = None,
) -> None:
    session.add(
        AdoptionFigure(
            unit_code=unit,
            app_code=app,
            source=source,
            installs=installs,
            smartphone_users=phones,
            as_of=day,
        )
    )


def test_official_count_wins_over_field_and_shares_follow(db: Database) -> None:
    with db.session() as session:
        _figure(session, COMMUNE, FigureSource.FIELD, 900)
        _figure(
            session,
            COMMUNE,
            FigureSource.OFFICIAL,
            1000,
            day=DAY - dt.timedelta(days=3),
            phones=2000,
        )
        _figure(session, COMMUNE, FigureSource.OFFICIAL, 5, day=DAY + dt.timedelta(days=1))
        session.add(
            Target(
                unit_code=DISTRICT,
                app_code="ncovi",
                base="smartphone_users",
                share=0.6,
                deadline=dt.date(2026, 12, 31),
            )
        )
        session.flush()
        got = coverage.unit_coverage(session, COMMUNE, "ncovi", as_of=DAY)
    assert got.installs == 1000
    assert got.source == "official"
    assert got.smartphone_users == 2000
    assert got.population == 4648
    assert got.share_population == pytest.approx(1000 / 4648)
    assert got.share_smartphones == pytest.approx(0.5)
    # Inherited from the district.
    assert got.target_share == 0.6
    assert got.target_base == "smartphone_users"
    assert got.deadline == dt.date(2026, 12, 31)
    assert got.behind is True
    assert got.latest_figure == DAY - dt.timedelta(days=3)


def test_field_when_no_official_and_default_ratio(db: Database) -> None:
    with db.session() as session:
        _figure(session, COMMUNE, FigureSource.FIELD, 300)
        _figure(session, COMMUNE, FigureSource.ORGANISATION, 99999)  # never in unit coverage
        _figure(session, COMMUNE, FigureSource.SAFEZONE, 77)  # only for the safezone app
        session.add(SmartphoneRatio(unit_code=PROVINCE, ratio=0.5))
        session.flush()
        got = coverage.unit_coverage(session, COMMUNE, "ncovi", as_of=DAY)
        nothing = coverage.unit_coverage(session, "22018", "ncovi", as_of=DAY)
    assert (got.installs, got.source, got.smartphone_users) == (300, "field", round(4648 * 0.5))
    assert got.target_share is None
    assert got.behind is False
    assert (nothing.installs, nothing.source) == (0, "none")


def test_safezone_usage_counts_only_for_the_safezone_app(db: Database) -> None:
    with db.session() as session:
        _figure(session, COMMUNE, FigureSource.SAFEZONE, 77, app="safezone")
        _figure(session, COMMUNE, FigureSource.FIELD, 10, app="safezone")
        session.flush()
        got = coverage.unit_coverage(session, COMMUNE, "safezone", as_of=DAY)
    assert (got.installs, got.source) == (77, "safezone")


def test_unknown_unit_or_app(db: Database) -> None:
    with db.session() as session, pytest.raises(NotFound):
        coverage.unit_coverage(session, "nope", "ncovi")
    with db.session() as session, pytest.raises(NotFound):
        coverage.unit_coverage(session, COMMUNE, "nope")


def test_superseded_figures_are_ignored(db: Database) -> None:
    with db.session() as session:
        _figure(session, COMMUNE, FigureSource.OFFICIAL, 10)
        session.flush()
        session.execute(
            AdoptionFigure.__table__.update().values(superseded_at=dt.datetime.now(dt.UTC))
        )
        _figure(session, COMMUNE, FigureSource.OFFICIAL, 20)
        session.flush()
        assert coverage.unit_coverage(session, COMMUNE, "ncovi", as_of=DAY).installs == 20


figures = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=200),  # commune index (wraps)
        st.sampled_from([FigureSource.OFFICIAL, FigureSource.FIELD, FigureSource.ORGANISATION]),
        st.integers(min_value=0, max_value=50_000),
        st.integers(min_value=-5, max_value=5),  # day offset
        st.one_of(st.none(), st.integers(min_value=0, max_value=60_000)),
    ),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=figures, ratio=st.floats(min_value=0.05, max_value=1.0))
def test_roll_ups_equal_the_sum_of_communes_and_nothing_counts_twice(
    db: Database, rows: list[tuple[int, FigureSource, int, int, int | None]], ratio: float
) -> None:
    with db.sessionmaker() as session:
        communes = _communes(session)
        session.add(SmartphoneRatio(unit_code=DISTRICT, ratio=ratio))
        expected: dict[str, dict[str, tuple[dt.date, int, int | None]]] = {}
        for index, source, installs, offset, phones in rows:
            unit = communes[index % len(communes)].code
            day = DAY + dt.timedelta(days=offset)
            _figure(session, unit, source, installs, day=day, phones=phones)
            if day <= DAY:
                best = expected.setdefault(unit, {}).get(source)
                if best is None or day >= best[0]:
                    expected[unit][source] = (day, installs, phones)
        session.flush()
        per_commune = coverage.commune_coverage(session, "ncovi", as_of=DAY)
        by_code = {c.unit_code: c for c in per_commune}
        # Each commune uses exactly one source: official, else field; organisations never.
        for code, c in by_code.items():
            known = expected.get(code, {})
            if FigureSource.OFFICIAL in known:
                assert (c.source, c.installs) == ("official", known[FigureSource.OFFICIAL][1])
            elif FigureSource.FIELD in known:
                assert (c.source, c.installs) == ("field", known[FigureSource.FIELD][1])
            else:
                assert (c.source, c.installs) == ("none", 0)
        province = coverage.unit_coverage(session, PROVINCE, "ncovi", as_of=DAY)
        districts = coverage.children_coverage(session, PROVINCE, "ncovi", as_of=DAY)
        assert province.installs == sum(c.installs for c in per_commune)
        assert province.population == sum(c.population for c in per_commune)
        assert province.smartphone_users == sum(c.smartphone_users for c in per_commune)
        assert sum(d.installs for d in districts) == province.installs
        assert sum(d.smartphone_users for d in districts) == province.smartphone_users
        for district in districts:
            inside = coverage.commune_coverage(
                session, "ncovi", within=district.unit_code, as_of=DAY
            )
            assert district.installs == sum(c.installs for c in inside)
            assert district.population == sum(c.population for c in inside)
            kids = coverage.children_coverage(session, district.unit_code, "ncovi", as_of=DAY)
            assert [k.installs for k in kids] == [by_code[k.unit_code].installs for k in kids]
        session.rollback()


def test_trend_follows_figures_over_days(db: Database) -> None:
    with db.session() as session:
        _figure(session, COMMUNE, FigureSource.FIELD, 100, day=DAY - dt.timedelta(days=10))
        _figure(session, COMMUNE, FigureSource.FIELD, 200, day=DAY - dt.timedelta(days=2))
        _figure(session, COMMUNE, FigureSource.OFFICIAL, 500, day=DAY)
        _figure(session, "22021", FigureSource.FIELD, 7, day=DAY - dt.timedelta(days=4))
        session.flush()
        points = coverage.trend(session, DISTRICT, "ncovi", days=5, as_of=DAY)
    assert [p[0] for p in points] == [DAY - dt.timedelta(days=n) for n in range(4, -1, -1)]
    assert [p[1] for p in points] == [107, 107, 207, 207, 507]
    district_population = 155921  # the bundled census figure of Tuy Hoà's communes
    assert points[-1][2] == pytest.approx(507 / district_population)
