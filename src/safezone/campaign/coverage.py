"""Coverage of units against targets: one counting rule, roll-ups that equal their communes.

The counting rule (docs/campaign.md, "Counting rule"), per commune and app, on a day ``D``:

1. the commune's latest **official** count dated on or before ``D``, where one exists;
2. otherwise, for safezone's own declaration form, the **safezone** usage figure (distinct people
   with a declaration in the 14 days before);
3. otherwise the **field** (door-to-door) count: the commune's and its villages' latest field
   figures summed;
4. otherwise nothing is known: 0 installs, source ``none``.

Exactly one source is used per commune, so nobody is counted twice. Organisation reports never
enter unit coverage (staff are also residents of some commune); they only measure organisation
compliance. A district or province is the sum of its communes: population, smartphone users and
installs are all summed, and the shares are computed from the sums, so a roll-up always equals
the sum of its communes. Below a commune (villages) only field figures exist.

Smartphone users of a commune: the official figure's ``smartphone_users`` where it gives one,
otherwise population × the smartphone ratio of the commune or its nearest ancestor with one,
otherwise × the configured province default.

Targets: a unit's own target for the app or its nearest ancestor's. A unit is *behind* when it
has a target and its share (of the target's base) is below the target share.

These functions check no scope: the API, pages and CLI check the caller's scope first.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone.campaign.models import (
    AdoptionFigure,
    CampaignApp,
    FigureSource,
    SmartphoneRatio,
    Target,
    TargetBase,
)
from safezone.db.base import utcnow
from safezone.errors import NotFound
from safezone.units.models import COMMUNE, Unit
from safezone.units.service import get_unit, subtree_of

#: Share of the population with a smartphone when neither the unit nor an ancestor sets one.
DEFAULT_SMARTPHONE_RATIO = 0.6
#: Vietnam keeps UTC+7 all year: a figure's day follows the local calendar.
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
#: The app whose usage is measured by safezone itself.
SAFEZONE_APP = "safezone"
#: The source of a roll-up over communes whose sources differ.
MIXED = "mixed"
#: The source of a unit without any figure.
NONE = "none"
#: Levels whose figures feed coverage: communes and the villages below them.
_FIGURE_LEVELS = (COMMUNE, "village")


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Vietnam."""
    return (now or utcnow()).astimezone(VIETNAM).date()


@dataclass(frozen=True, slots=True)
class Coverage:
    """A unit's installs of one app on a day, against its population, smartphones and target.

    ``source`` is the :class:`FigureSource` value used, ``"mixed"`` for a roll-up over communes
    using different sources, or ``"none"`` when nothing is known. ``as_of`` is the day the
    coverage is for; ``latest_figure`` the date of the freshest figure used (None if none).
    Shares are None when the denominator is 0. ``target_share`` is in (0, 1] and applies to
    ``target_base`` (``"population"`` or ``"smartphone_users"``).
    """

    unit_code: str
    unit_name: str
    level: str
    app_code: str
    population: int
    smartphone_users: int
    installs: int
    source: str
    as_of: dt.date
    share_population: float | None
    share_smartphones: float | None
    target_share: float | None
    target_base: str | None
    deadline: dt.date | None
    behind: bool
    latest_figure: dt.date | None = None

    @property
    def share(self) -> float | None:
        """The share the target is about (population when there is no target)."""
        if self.target_base == TargetBase.SMARTPHONE_USERS:
            return self.share_smartphones
        return self.share_population

    @property
    def gap(self) -> int:
        """Installs still missing to reach the target (0 when reached or without target)."""
        if self.target_share is None:
            return 0
        base = (
            self.smartphone_users
            if self.target_base == TargetBase.SMARTPHONE_USERS
            else self.population
        )
        needed = int(-(-base * self.target_share // 1))  # ceiling
        return max(0, needed - self.installs)


@dataclass(frozen=True, slots=True)
class _TargetRule:
    share: float
    base: str
    deadline: dt.date | None


@dataclass(slots=True)
class _Count:
    """Installs and smartphones of one commune (or village) under the counting rule."""

    installs: int
    smartphones: int
    source: str
    latest: dt.date | None


@dataclass(frozen=True, slots=True)
class _UnitRow:
    code: str
    name: str
    level: str
    path: str
    population: int


class _Context:
    """Everything needed to compute coverage in one subtree on one day (four queries)."""

    def __init__(
        self,
        session: Session,
        root: Unit,
        app_code: str,
        as_of: dt.date,
        default_ratio: float,
    ) -> None:
        self.app_code = app_code
        self.as_of = as_of
        self.root = root
        self.default_ratio = default_ratio
        ancestor_codes = root.path.rstrip("/").split("/")
        self.units: list[_UnitRow] = [
            _UnitRow(code, name, level, path, population or 0)
            for code, name, level, path, population in session.execute(
                select(Unit.code, Unit.name, Unit.level, Unit.path, Unit.population).where(
                    subtree_of(Unit.path, root.path), Unit.level.in_(_FIGURE_LEVELS)
                )
            )
        ]
        self.ratios: dict[str, float] = {
            code: float(ratio)
            for code, ratio in session.execute(
                select(SmartphoneRatio.unit_code, SmartphoneRatio.ratio)
                .join(Unit, Unit.code == SmartphoneRatio.unit_code)
                .where(subtree_of(Unit.path, root.path) | Unit.code.in_(ancestor_codes))
            )
        }
        self.targets: dict[str, _TargetRule] = {
            code: _TargetRule(share, str(base), deadline)
            for code, share, base, deadline in session.execute(
                select(Target.unit_code, Target.share, Target.base, Target.deadline)
                .join(Unit, Unit.code == Target.unit_code)
                .where(Target.app_code == app_code)
                .where(subtree_of(Unit.path, root.path) | Unit.code.in_(ancestor_codes))
            )
        }
        self.figures = _latest_figures(session, root.path, app_code, as_of)

    def ratio_for(self, path: str) -> float:
        for code in reversed(path.rstrip("/").split("/")):
            if code in self.ratios:
                return self.ratios[code]
        return self.default_ratio

    def target_for(self, path: str) -> _TargetRule | None:
        for code in reversed(path.rstrip("/").split("/")):
            if code in self.targets:
                return self.targets[code]
        return None

    def commune_counts(self) -> dict[str, tuple[_UnitRow, _Count]]:
        """Each commune of the subtree (or the root itself if below) with its count."""
        return _commune_counts(self.units, self.figures, self.app_code, self.ratio_for)

    def village_count(self, unit: _UnitRow) -> _Count:
        field = self.figures.get((unit.code, FigureSource.FIELD))
        installs = field[0] if field else 0
        smartphones = round(unit.population * self.ratio_for(unit.path))
        return _Count(
            installs,
            smartphones,
            FigureSource.FIELD if field else NONE,
            field[2] if field else None,
        )

    def coverage(self, unit: _UnitRow | Unit, count: _Count, population: int) -> Coverage:
        return _make_coverage(
            unit.code,
            unit.name,
            unit.level,
            unit.path,
            self.app_code,
            population,
            count,
            self.as_of,
            self.target_for(unit.path),
        )


#: (unit_code, source) -> (installs, smartphone_users, as_of)
_Figures = dict[tuple[str, str], tuple[int, int | None, dt.date]]


def _latest_figures(session: Session, root_path: str, app_code: str, as_of: dt.date) -> _Figures:
    """The latest current figure per unit and source in the subtree, dated on or before as_of."""
    ranked = (
        select(
            AdoptionFigure.unit_code,
            AdoptionFigure.source,
            AdoptionFigure.installs,
            AdoptionFigure.smartphone_users,
            AdoptionFigure.as_of,
            func.row_number()
            .over(
                partition_by=(AdoptionFigure.unit_code, AdoptionFigure.source),
                order_by=(AdoptionFigure.as_of.desc(), AdoptionFigure.id.desc()),
            )
            .label("rank"),
        )
        .join(Unit, Unit.code == AdoptionFigure.unit_code)
        .where(
            AdoptionFigure.app_code == app_code,
            AdoptionFigure.superseded_at.is_(None),
            AdoptionFigure.as_of <= as_of,
            AdoptionFigure.source.in_(
                (FigureSource.OFFICIAL, FigureSource.FIELD, FigureSource.SAFEZONE)
            ),
            Unit.level.in_(_FIGURE_LEVELS),
            subtree_of(Unit.path, root_path),
        )
        .subquery()
    )
    query = select(
        ranked.c.unit_code,
        ranked.c.source,
        ranked.c.installs,
        ranked.c.smartphone_users,
        ranked.c.as_of,
    ).where(ranked.c.rank == 1)
    return {
        (code, str(source)): (installs, smartphones, day)
        for code, source, installs, smartphones, day in session.execute(query)
    }


def _commune_counts(
    units: Sequence[_UnitRow],
    figures: Mapping[tuple[str, str], tuple[int, int | None, dt.date]],
    app_code: str,
    ratio_for: Callable[[str], float],
) -> dict[str, tuple[_UnitRow, _Count]]:
    """Apply the counting rule to every commune in ``units`` (villages feed their commune)."""
    field_by_commune: dict[str, list[tuple[int, dt.date]]] = defaultdict(list)
    communes: list[_UnitRow] = []
    for unit in units:
        field = figures.get((unit.code, FigureSource.FIELD))
        if unit.level == COMMUNE:
            communes.append(unit)
            key = unit.code
        else:
            parts = unit.path.rstrip("/").split("/")
            key = parts[-2] if len(parts) >= 2 else unit.code
        if field:
            field_by_commune[key].append((field[0], field[2]))
    result: dict[str, tuple[_UnitRow, _Count]] = {}
    for commune in communes:
        estimated = round(commune.population * ratio_for(commune.path))
        official = figures.get((commune.code, FigureSource.OFFICIAL))
        usage = (
            figures.get((commune.code, FigureSource.SAFEZONE)) if app_code == SAFEZONE_APP else None
        )
        fields = field_by_commune.get(commune.code)
        if official:
            count = _Count(
                official[0],
                official[1] if official[1] is not None else estimated,
                FigureSource.OFFICIAL,
                official[2],
            )
        elif usage:
            count = _Count(usage[0], estimated, FigureSource.SAFEZONE, usage[2])
        elif fields:
            count = _Count(
                sum(n for n, _ in fields),
                estimated,
                FigureSource.FIELD,
                max(day for _, day in fields),
            )
        else:
            count = _Count(0, estimated, NONE, None)
        result[commune.code] = (commune, count)
    return result


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole > 0 else None


def _make_coverage(
    code: str,
    name: str,
    level: str,
    path: str,
    app_code: str,
    population: int,
    count: _Count,
    as_of: dt.date,
    target: _TargetRule | None,
) -> Coverage:
    del path
    share_population = _share(count.installs, population)
    share_smartphones = _share(count.installs, count.smartphones)
    share = (
        share_smartphones
        if target and target.base == TargetBase.SMARTPHONE_USERS
        else (share_population)
    )
    return Coverage(
        unit_code=code,
        unit_name=name,
        level=level,
        app_code=app_code,
        population=population,
        smartphone_users=count.smartphones,
        installs=count.installs,
        source=str(count.source),
        as_of=as_of,
        share_population=share_population,
        share_smartphones=share_smartphones,
        target_share=target.share if target else None,
        target_base=target.base if target else None,
        deadline=target.deadline if target else None,
        behind=bool(target and share is not None and share < target.share),
        latest_figure=count.latest,
    )


def _merge(counts: Iterable[_Count]) -> _Count:
    """The sum of communes' counts; the source is theirs if they agree, else ``mixed``."""
    installs = smartphones = 0
    sources: set[str] = set()
    latest: dt.date | None = None
    for count in counts:
        installs += count.installs
        smartphones += count.smartphones
        if count.source != NONE:
            sources.add(count.source)
        if count.latest is not None and (latest is None or count.latest > latest):
            latest = count.latest
    source = NONE if not sources else sources.pop() if len(sources) == 1 else MIXED
    return _Count(installs, smartphones, source, latest)


def check_app(session: Session, app_code: str) -> CampaignApp:
    """The app with ``app_code``; raises NotFound (field ``app``)."""
    app = session.get(CampaignApp, app_code)
    if app is None:
        raise NotFound.single(
            "app",
            "app_not_found",
            f"Không có ứng dụng {app_code!r} trong danh mục chiến dịch.",
            f"No campaign app has code {app_code!r}.",
        )
    return app


def _context(
    session: Session,
    unit_code: str,
    app_code: str,
    as_of: dt.date | None,
    default_ratio: float | None,
) -> tuple[Unit, _Context]:
    unit = get_unit(session, unit_code)
    check_app(session, app_code)
    return unit, _Context(
        session,
        unit,
        app_code,
        as_of or local_today(),
        DEFAULT_SMARTPHONE_RATIO if default_ratio is None else default_ratio,
    )


def _coverage_of(
    ctx: _Context, unit: Unit, communes: dict[str, tuple[_UnitRow, _Count]]
) -> Coverage:
    if unit.level == "village":
        row = next(u for u in ctx.units if u.code == unit.code)
        return ctx.coverage(row, ctx.village_count(row), row.population)
    merged = _merge(count for _, count in communes.values())
    population = sum(row.population for row, _ in communes.values())
    return ctx.coverage(unit, merged, population)


def unit_coverage(
    session: Session,
    unit_code: str,
    app_code: str,
    *,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> Coverage:
    """Coverage of one unit (a commune, or the sum of the communes below it; a village's own)."""
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio)
    return _coverage_of(ctx, unit, ctx.commune_counts())


def children_coverage(
    session: Session,
    unit_code: str,
    app_code: str,
    *,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> list[Coverage]:
    """Coverage of each child of a unit, ordered by code (a commune's children are villages)."""
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio)
    kids = list(
        session.scalars(select(Unit).where(Unit.parent_code == unit.code).order_by(Unit.code))
    )
    if unit.level in (COMMUNE, "village"):
        rows = {u.code: u for u in ctx.units}
        return [
            ctx.coverage(rows[k.code], ctx.village_count(rows[k.code]), rows[k.code].population)
            for k in kids
            if k.code in rows
        ]
    communes = ctx.commune_counts()
    grouped: dict[str, dict[str, tuple[_UnitRow, _Count]]] = defaultdict(dict)
    depth = len(unit.path.rstrip("/").split("/"))
    for code, (row, count) in communes.items():
        parts = row.path.rstrip("/").split("/")
        grouped[parts[depth]][code] = (row, count)
    return [_coverage_of(ctx, kid, grouped.get(kid.code, {})) for kid in kids]


def commune_coverage(
    session: Session,
    app_code: str,
    *,
    within: str | None = None,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> list[Coverage]:
    """Coverage of every commune (in ``within``'s subtree, or everywhere), ordered by code."""
    check_app(session, app_code)
    roots = (
        [get_unit(session, within)]
        if within
        else list(
            session.scalars(select(Unit).where(Unit.parent_code.is_(None)).order_by(Unit.code))
        )
    )
    result: list[Coverage] = []
    for root in roots:
        ctx = _Context(
            session,
            root,
            app_code,
            as_of or local_today(),
            DEFAULT_SMARTPHONE_RATIO if default_ratio is None else default_ratio,
        )
        for row, count in ctx.commune_counts().values():
            result.append(ctx.coverage(row, count, row.population))
    return sorted(result, key=lambda c: c.unit_code)


def trend(
    session: Session,
    unit_code: str,
    app_code: str,
    *,
    days: int = 30,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> list[tuple[dt.date, int, float | None]]:
    """(day, installs, share) for each of the ``days`` days ending ``as_of``, oldest first.

    The share is of the target's base (population when the unit has no target), so it can be
    drawn against the target line. Each day applies the counting rule to the figures known then.
    """
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio)
    end = ctx.as_of
    start = end - dt.timedelta(days=max(1, days) - 1)
    history = _history(session, unit.path, app_code, end)
    target = ctx.target_for(unit.path)
    current: dict[tuple[str, str], tuple[int, int | None, dt.date]] = {}
    index = 0
    result: list[tuple[dt.date, int, float | None]] = []
    day = start
    # Figures before the window set the starting state.
    while index < len(history) and history[index][4] < start:
        code, source, installs, smartphones, when = history[index]
        current[(code, source)] = (installs, smartphones, when)
        index += 1
    while day <= end:
        while index < len(history) and history[index][4] <= day:
            code, source, installs, smartphones, when = history[index]
            current[(code, source)] = (installs, smartphones, when)
            index += 1
        if unit.level == "village":
            field = current.get((unit.code, FigureSource.FIELD))
            row = next(u for u in ctx.units if u.code == unit.code)
            count = _Count(
                field[0] if field else 0,
                round(row.population * ctx.ratio_for(row.path)),
                NONE,
                None,
            )
            population = row.population
        else:
            counts = _commune_counts(ctx.units, current, app_code, ctx.ratio_for)
            count = _merge(c for _, c in counts.values())
            population = sum(r.population for r, _ in counts.values())
        base = (
            count.smartphones
            if target and target.base == TargetBase.SMARTPHONE_USERS
            else (population)
        )
        result.append((day, count.installs, _share(count.installs, base)))
        day += dt.timedelta(days=1)
    return result


def _history(
    session: Session, root_path: str, app_code: str, end: dt.date
) -> list[tuple[str, str, int, int | None, dt.date]]:
    """Every current figure of the subtree up to ``end``, oldest first."""
    query = (
        select(
            AdoptionFigure.unit_code,
            AdoptionFigure.source,
            AdoptionFigure.installs,
            AdoptionFigure.smartphone_users,
            AdoptionFigure.as_of,
        )
        .join(Unit, Unit.code == AdoptionFigure.unit_code)
        .where(
            AdoptionFigure.app_code == app_code,
            AdoptionFigure.superseded_at.is_(None),
            AdoptionFigure.as_of <= end,
            AdoptionFigure.source.in_(
                (FigureSource.OFFICIAL, FigureSource.FIELD, FigureSource.SAFEZONE)
            ),
            Unit.level.in_(_FIGURE_LEVELS),
            subtree_of(Unit.path, root_path),
        )
        .order_by(AdoptionFigure.as_of, AdoptionFigure.id)
    )
    return [(c, str(s), i, p, d) for c, s, i, p, d in session.execute(query)]
