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

from sqlalchemy import case, func, select
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
        *,
        with_figures: bool = True,
    ) -> None:
        self.app_code = app_code
        self.as_of = as_of
        self.root = root
        self.default_ratio = default_ratio
        ancestor_codes = root.path.rstrip("/").split("/")
        # Roll-ups need only the communes; villages are loaded when a commune is the root.
        levels = _FIGURE_LEVELS if root.level in _FIGURE_LEVELS else (COMMUNE,)
        # ... and the root's children come with them (one query for the whole page).
        self.units: list[_UnitRow] = []
        self.kids: list[_UnitRow] = []
        for code, name, level, path, population, parent in session.execute(
            select(
                Unit.code, Unit.name, Unit.level, Unit.path, Unit.population, Unit.parent_code
            ).where(
                subtree_of(Unit.path, root.path),
                Unit.level.in_(levels) | (Unit.parent_code == root.code),
            )
        ):
            row = _UnitRow(code, name, level, path, population or 0)
            self.units.append(row)
            if parent == root.code:
                self.kids.append(row)
        self.kids.sort(key=lambda row: row.code)
        self._ratio_memo: dict[str, float] = {}
        self._target_memo: dict[str, _TargetRule | None] = {}
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
        self.figures: _Figures = {}
        self.commune_of: dict[str, str] = {}
        if with_figures:
            self.figures, self.commune_of = _latest_figures(
                session, root.path, app_code, as_of, per_commune=root.level not in _FIGURE_LEVELS
            )

    def ratio_for(self, path: str) -> float:
        if not self.ratios:
            return self.default_ratio
        found = self._ratio_memo.get(path)
        if found is None:
            found = self.default_ratio
            for code in reversed(path.rstrip("/").split("/")):
                if code in self.ratios:
                    found = self.ratios[code]
                    break
            self._ratio_memo[path] = found
        return found

    def target_for(self, path: str) -> _TargetRule | None:
        if path not in self._target_memo:
            self._target_memo[path] = next(
                (
                    self.targets[code]
                    for code in reversed(path.rstrip("/").split("/"))
                    if code in self.targets
                ),
                None,
            )
        return self._target_memo[path]

    def commune_counts(self) -> dict[str, tuple[_UnitRow, _Count]]:
        """Each commune of the subtree (or the root itself if below) with its count."""
        return _commune_counts(
            self.units, self.figures, self.commune_of, self.app_code, self.ratio_for
        )

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
#: A figure's commune: its own unit, or a village's parent.
_COMMUNE_OF = case((Unit.level == "village", Unit.parent_code), else_=Unit.code).label("commune")


def _latest_figures(
    session: Session, root_path: str, app_code: str, as_of: dt.date, *, per_commune: bool = False
) -> tuple[_Figures, dict[str, str]]:
    """The latest current figure per unit and source in the subtree, dated on or before as_of,
    and the commune of each village that has one.

    With ``per_commune`` (roll-ups above the commune) the database sums the villages' field
    figures into their commune and the answer is keyed by commune: a tenth of the rows.
    """
    ranked = (
        select(
            AdoptionFigure.unit_code,
            _COMMUNE_OF,
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
    found: _Figures = {}
    if per_commune:
        # Field figures add up over a commune's villages; the other sources count only at the
        # commune itself (as the counting rule says).
        grouped = (
            select(
                ranked.c.commune,
                ranked.c.source,
                func.sum(ranked.c.installs),
                func.sum(ranked.c.smartphone_users),
                func.max(ranked.c.as_of),
            )
            .where(
                ranked.c.rank == 1,
                (ranked.c.source == FigureSource.FIELD) | (ranked.c.unit_code == ranked.c.commune),
            )
            .group_by(ranked.c.commune, ranked.c.source)
        )
        for commune, source, installs, smartphones, day in session.execute(grouped):
            found[(commune, str(source))] = (
                int(installs),
                None if smartphones is None else int(smartphones),
                day,
            )
        return found, {}
    query = select(
        ranked.c.unit_code,
        ranked.c.commune,
        ranked.c.source,
        ranked.c.installs,
        ranked.c.smartphone_users,
        ranked.c.as_of,
    ).where(ranked.c.rank == 1)
    commune_of: dict[str, str] = {}
    for code, commune, source, installs, smartphones, day in session.execute(query):
        found[(code, str(source))] = (installs, smartphones, day)
        if commune != code:
            commune_of[code] = commune
    return found, commune_of


def _commune_counts(
    units: Sequence[_UnitRow],
    figures: Mapping[tuple[str, str], tuple[int, int | None, dt.date]],
    commune_of: Mapping[str, str],
    app_code: str,
    ratio_for: Callable[[str], float],
) -> dict[str, tuple[_UnitRow, _Count]]:
    """Apply the counting rule to every commune in ``units`` (villages feed their commune)."""
    field_by_commune: dict[str, list[tuple[int, dt.date]]] = defaultdict(list)
    for (code, source), (installs, _, day) in figures.items():
        if source == FigureSource.FIELD:
            field_by_commune[commune_of.get(code, code)].append((installs, day))
    communes = [unit for unit in units if unit.level == COMMUNE]
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
    app = None if "\x00" in app_code else session.get(CampaignApp, app_code)
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
    *,
    with_figures: bool = True,
) -> tuple[Unit, _Context]:
    unit = get_unit(session, unit_code)
    check_app(session, app_code)
    return unit, _Context(
        session,
        unit,
        app_code,
        as_of or local_today(),
        DEFAULT_SMARTPHONE_RATIO if default_ratio is None else default_ratio,
        with_figures=with_figures,
    )


def _coverage_of(
    ctx: _Context, unit: Unit | _UnitRow, communes: dict[str, tuple[_UnitRow, _Count]]
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


def coverage_tree(
    session: Session,
    unit_code: str,
    app_code: str,
    *,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> tuple[Coverage, list[Coverage]]:
    """A unit's coverage and its children's, from one pass over the data (what pages show)."""
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio)
    communes = ctx.commune_counts()
    return _coverage_of(ctx, unit, communes), _children_of(session, ctx, unit, communes)


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
    return _children_of(session, ctx, unit, ctx.commune_counts())


def _children_of(
    session: Session, ctx: _Context, unit: Unit, communes: dict[str, tuple[_UnitRow, _Count]]
) -> list[Coverage]:
    del session
    if unit.level in (COMMUNE, "village"):
        return [ctx.coverage(k, ctx.village_count(k), k.population) for k in ctx.kids]
    grouped: dict[str, dict[str, tuple[_UnitRow, _Count]]] = defaultdict(dict)
    depth = len(unit.path.rstrip("/").split("/"))
    for code, (row, count) in communes.items():
        parts = row.path.rstrip("/").split("/")
        grouped[parts[depth]][code] = (row, count)
    return [_coverage_of(ctx, kid, grouped.get(kid.code, {})) for kid in ctx.kids]


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
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio, with_figures=False)
    return _trend(session, ctx, unit, days)


def page_data(
    session: Session,
    unit_code: str,
    app_code: str,
    *,
    days: int = 30,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> tuple[Coverage, list[Coverage], list[tuple[dt.date, int, float | None]]]:
    """What the coverage page shows (the unit, its children, its trend) from one context."""
    unit, ctx = _context(session, unit_code, app_code, as_of, default_ratio)
    communes = ctx.commune_counts()
    own = _coverage_of(ctx, unit, communes)
    return own, _children_of(session, ctx, unit, communes), _trend(session, ctx, unit, days)


def _trend(
    session: Session, ctx: _Context, unit: Unit, days: int
) -> list[tuple[dt.date, int, float | None]]:
    app_code = ctx.app_code
    end = ctx.as_of
    start = end - dt.timedelta(days=max(1, days) - 1)
    history, commune_of = _history(session, unit.path, app_code, end)
    target = ctx.target_for(unit.path)
    if unit.level == "village":
        return _village_trend(ctx, unit, history, start, end, target)
    communes = {u.code: u for u in ctx.units if u.level == COMMUNE}
    estimated = {c: round(u.population * ctx.ratio_for(u.path)) for c, u in communes.items()}
    population = sum(u.population for u in communes.values())
    # The state of each commune, updated as figures come in day by day (no full recount).
    official: dict[str, tuple[int, int | None]] = {}
    usage: dict[str, int] = {}
    field_unit: dict[str, int] = {}
    field_sum: dict[str, int] = defaultdict(int)
    index = 0
    result: list[tuple[dt.date, int, float | None]] = []
    day = start
    while day <= end:
        while index < len(history) and history[index][4] <= day:
            code, source, installs, smartphones, _ = history[index]
            index += 1
            if source == FigureSource.FIELD:
                commune = commune_of.get(code, code)
                field_sum[commune] += installs - field_unit.get(code, 0)
                field_unit[code] = installs
            elif code in communes and source == FigureSource.OFFICIAL:
                official[code] = (installs, smartphones)
            elif code in communes and source == FigureSource.SAFEZONE:
                usage[code] = installs
        installs_total = phones_total = 0
        for code in communes:
            found = official.get(code)
            if found is not None:
                installs_total += found[0]
                phones_total += found[1] if found[1] is not None else estimated[code]
                continue
            phones_total += estimated[code]
            if app_code == SAFEZONE_APP and code in usage:
                installs_total += usage[code]
            else:
                installs_total += field_sum.get(code, 0)
        base = phones_total if target and target.base == TargetBase.SMARTPHONE_USERS else population
        result.append((day, installs_total, _share(installs_total, base)))
        day += dt.timedelta(days=1)
    return result


def _village_trend(
    ctx: _Context,
    unit: Unit,
    history: list[tuple[str, str, int, int | None, dt.date]],
    start: dt.date,
    end: dt.date,
    target: _TargetRule | None,
) -> list[tuple[dt.date, int, float | None]]:
    row = next(u for u in ctx.units if u.code == unit.code)
    phones = round(row.population * ctx.ratio_for(row.path))
    base = phones if target and target.base == TargetBase.SMARTPHONE_USERS else row.population
    mine = [(h[4], h[2]) for h in history if h[0] == unit.code and h[1] == FigureSource.FIELD]
    result: list[tuple[dt.date, int, float | None]] = []
    installs, index, day = 0, 0, start
    while day <= end:
        while index < len(mine) and mine[index][0] <= day:
            installs = mine[index][1]
            index += 1
        result.append((day, installs, _share(installs, base)))
        day += dt.timedelta(days=1)
    return result


def _history(
    session: Session, root_path: str, app_code: str, end: dt.date
) -> tuple[list[tuple[str, str, int, int | None, dt.date]], dict[str, str]]:
    """Every current figure of the subtree up to ``end``, oldest first; villages' communes."""
    query = (
        select(
            AdoptionFigure.unit_code,
            AdoptionFigure.source,
            AdoptionFigure.installs,
            AdoptionFigure.smartphone_users,
            AdoptionFigure.as_of,
            _COMMUNE_OF,
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
    rows: list[tuple[str, str, int, int | None, dt.date]] = []
    commune_of: dict[str, str] = {}
    for code, source, installs, phones, day, commune in session.execute(query):
        rows.append((code, str(source), installs, phones, day))
        if commune != code:
            commune_of[code] = commune
    return rows, commune_of


@dataclass(frozen=True, slots=True)
class Mover:
    """A commune's change in share (of its target base) over a week."""

    coverage: Coverage
    share_before: float | None
    change: float


@dataclass(frozen=True, slots=True)
class Rankings:
    """The lowest and highest communes by share, and those that moved most in a week."""

    lowest: list[Coverage]
    highest: list[Coverage]
    movers: list[Mover]


def rankings(
    session: Session,
    app_code: str,
    *,
    within: str | None = None,
    as_of: dt.date | None = None,
    count: int = 10,
    default_ratio: float | None = None,
) -> Rankings:
    """Lowest and highest communes by share, and the biggest movers of the last 7 days.

    Communes without a known population are left out of the share rankings.
    """
    day = as_of or local_today()
    now = commune_coverage(session, app_code, within=within, as_of=day, default_ratio=default_ratio)
    before = {
        c.unit_code: c.share
        for c in commune_coverage(
            session,
            app_code,
            within=within,
            as_of=day - dt.timedelta(days=7),
            default_ratio=default_ratio,
        )
    }
    ranked = sorted((c for c in now if c.share is not None), key=lambda c: (c.share, c.unit_code))
    movers = [
        Mover(c, before.get(c.unit_code), (c.share or 0.0) - (before.get(c.unit_code) or 0.0))
        for c in now
        if c.share is not None
    ]
    movers = [m for m in movers if m.change > 0]
    movers.sort(key=lambda m: (-m.change, m.coverage.unit_code))
    return Rankings(ranked[:count], ranked[::-1][:count], movers[:count])


def behind_target(
    session: Session,
    app_code: str,
    *,
    within: str | None = None,
    as_of: dt.date | None = None,
    default_ratio: float | None = None,
) -> list[Coverage]:
    """Communes below their target, the largest gap in installs first."""
    found = commune_coverage(
        session, app_code, within=within, as_of=as_of, default_ratio=default_ratio
    )
    return sorted((c for c in found if c.behind), key=lambda c: (-c.gap, c.unit_code))


def adoption_by_unit(session: Session, app_code: str) -> dict[str, float]:
    """Today's adoption of ``app_code`` per commune code, as a share of the population (0 to 1):
    what the simulator (``safezone sim run --adoption campaign``) gives each commune's agents."""
    return {
        row.unit_code: min(1.0, row.share_population or 0.0)
        for row in commune_coverage(session, app_code)
    }
