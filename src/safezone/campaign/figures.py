"""Adoption figures: recording them with history, and deriving the field and safezone ones.

A figure is (unit, app, source, day) -> installs (and optionally smartphone users). Recording the
same numbers again changes nothing; different numbers for the same day supersede the earlier row
(``superseded_at``), which stays as history. Derived sources (door-to-door visits, safezone's own
declarations) are recomputed by :func:`refresh` and only written when they changed, so the table
holds one row per change, not one per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from safezone.campaign.coverage import SAFEZONE_APP, VIETNAM, local_today
from safezone.campaign.models import (
    AdoptionFigure,
    AppResult,
    CampaignApp,
    FigureSource,
    Visit,
    VisitApp,
    VisitOutcome,
)
from safezone.db.base import utcnow
from safezone.declarations.reports import active_people_by_commune
from safezone.units.models import Unit
from safezone.units.service import subtree_of

Change = Literal["created", "updated", "unchanged"]
#: Results that mean the app is on the household's phones after the visit.
INSTALLED_RESULTS = (AppResult.ALREADY_INSTALLED, AppResult.INSTALLED_WITH_HELP)


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """How many derived figures a refresh wrote, per source."""

    field: int
    safezone: int


def current_figure(
    session: Session,
    unit_code: str,
    app_code: str,
    source: FigureSource,
    *,
    on_or_before: dt.date,
) -> AdoptionFigure | None:
    """The latest non-superseded figure dated on or before ``on_or_before``."""
    return session.scalars(
        select(AdoptionFigure)
        .where(
            AdoptionFigure.unit_code == unit_code,
            AdoptionFigure.app_code == app_code,
            AdoptionFigure.source == source,
            AdoptionFigure.superseded_at.is_(None),
            AdoptionFigure.as_of <= on_or_before,
        )
        .order_by(AdoptionFigure.as_of.desc(), AdoptionFigure.id.desc())
        .limit(1)
    ).first()


def record_figure(
    session: Session,
    *,
    unit_code: str,
    app_code: str,
    source: FigureSource,
    installs: int,
    as_of: dt.date,
    smartphone_users: int | None = None,
    entered_by: int | None = None,
    origin: str = "",
    only_if_changed_since_earlier: bool = False,
) -> Change:
    """Store one figure, keeping history; the same numbers again change nothing.

    With ``only_if_changed_since_earlier`` (derived sources), a figure equal to the latest one
    before ``as_of`` is not written either.
    """
    latest = current_figure(session, unit_code, app_code, source, on_or_before=as_of)
    if (
        latest is not None
        and (latest.as_of == as_of or only_if_changed_since_earlier)
        and (latest.installs, latest.smartphone_users) == (installs, smartphone_users)
    ):
        return "unchanged"
    if latest is None and only_if_changed_since_earlier and installs == 0:
        return "unchanged"  # nothing known and nothing found: no row needed
    change: Change = "created"
    if latest is not None and latest.as_of == as_of:
        latest.superseded_at = utcnow()
        change = "updated"
        session.flush()
    session.add(
        AdoptionFigure(
            unit_code=unit_code,
            app_code=app_code,
            source=source,
            installs=installs,
            smartphone_users=smartphone_users,
            as_of=as_of,
            entered_by=entered_by,
            origin=origin[:100],
        )
    )
    return change


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), VIETNAM)


def field_counts(
    session: Session, *, as_of: dt.date, within: str | None = None
) -> dict[tuple[str, str], int]:
    """Door-to-door installs per (household unit, app) as of the end of ``as_of``.

    Per household, only its latest visit at which someone was home counts. For each app whose
    result there is "already installed" or "installed with help", the household contributes its
    recorded number of smartphones (at least one): one install per phone in the house. Refusals,
    "no smartphone" and "later" contribute nothing; "not home" visits are ignored.
    """
    ranked = select(
        Visit.id,
        Visit.unit_code,
        Visit.smartphones,
        func.row_number()
        .over(partition_by=Visit.household_id, order_by=(Visit.visited_at.desc(), Visit.id.desc()))
        .label("rank"),
    ).where(Visit.outcome == VisitOutcome.HOME, Visit.visited_at < _end_of_day(as_of))
    if within is not None:
        root = session.get(Unit, within)
        if root is None:
            return {}
        ranked = ranked.join(Unit, Unit.code == Visit.unit_code).where(
            subtree_of(Unit.path, root.path)
        )
    latest = ranked.subquery()
    phones = case((latest.c.smartphones > 1, latest.c.smartphones), else_=1)
    query = (
        select(latest.c.unit_code, VisitApp.app_code, func.sum(phones))
        .join(VisitApp, VisitApp.visit_id == latest.c.id)
        .where(latest.c.rank == 1, VisitApp.result.in_(INSTALLED_RESULTS))
        .group_by(latest.c.unit_code, VisitApp.app_code)
    )
    return {(unit, app): int(n) for unit, app, n in session.execute(query)}


def _units_with_figures(session: Session, source: FigureSource) -> set[tuple[str, str]]:
    query = (
        select(AdoptionFigure.unit_code, AdoptionFigure.app_code)
        .where(AdoptionFigure.source == source, AdoptionFigure.superseded_at.is_(None))
        .distinct()
    )
    return {(u, a) for u, a in session.execute(query)}


def _store_derived(
    session: Session,
    source: FigureSource,
    counts: dict[tuple[str, str], int],
    known: Iterable[tuple[str, str]],
    as_of: dt.date,
) -> int:
    written = 0
    # Units that had a figure but have none now (visits corrected away) go back to 0.
    for unit_code, app_code in sorted(set(counts) | set(known)):
        change = record_figure(
            session,
            unit_code=unit_code,
            app_code=app_code,
            source=source,
            installs=counts.get((unit_code, app_code), 0),
            as_of=as_of,
            origin=f"refresh:{source.value}",
            only_if_changed_since_earlier=True,
        )
        written += change != "unchanged"
    return written


def refresh_field(
    session: Session, *, as_of: dt.date | None = None, within: str | None = None
) -> int:
    """Recompute door-to-door figures (all units, or one subtree); returns rows written.

    Call it after visits are stored (the volunteer app's sync can call it for the commune).
    """
    day = as_of or local_today()
    counts = field_counts(session, as_of=day, within=within)
    known = _units_with_figures(session, FigureSource.FIELD)
    if within is not None:
        root = session.get(Unit, within)
        in_tree = set(
            session.scalars(select(Unit.code).where(subtree_of(Unit.path, root.path)))
            if root
            else []
        )
        known = {k for k in known if k[0] in in_tree}
    return _store_derived(session, FigureSource.FIELD, counts, known, day)


def refresh_safezone(session: Session, *, as_of: dt.date | None = None) -> int:
    """Recompute safezone usage per commune through the declarations service."""
    if session.get(CampaignApp, SAFEZONE_APP) is None:
        return 0
    day = as_of or local_today()
    counts = {
        (commune, SAFEZONE_APP): n
        for commune, n in active_people_by_commune(session, as_of=day).items()
    }
    known = _units_with_figures(session, FigureSource.SAFEZONE)
    return _store_derived(session, FigureSource.SAFEZONE, counts, known, day)


def refresh(session: Session, *, as_of: dt.date | None = None) -> RefreshResult:
    """Recompute both derived sources for ``as_of`` (today by default)."""
    return RefreshResult(
        field=refresh_field(session, as_of=as_of),
        safezone=refresh_safezone(session, as_of=as_of),
    )
