"""The figures materials show, as plain values: renderers take these and never query.

:func:`unit_sheet` fills them from the campaign's coverage service; tests build them by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign import coverage
from safezone.campaign.coverage import Coverage, local_today
from safezone.campaign.models import CampaignApp
from safezone.errors import FieldError, NotFound
from safezone.units.models import Unit
from safezone.units.names import display_name


@dataclass(frozen=True)
class AppInfo:
    """An app as printed material shows it."""

    code: str
    name: str
    purpose_vi: str = ""
    purpose_en: str = ""
    android_url: str = ""
    ios_url: str = ""


@dataclass(frozen=True)
class AppCoverage:
    """One app's coverage in one unit (the fields of the coverage service's ``Coverage``)."""

    app: AppInfo
    population: int
    installs: int
    share_population: float
    target_share: float | None
    smartphone_users: int | None = None
    share_smartphones: float | None = None
    target_base: str = "population"
    deadline: dt.date | None = None
    behind: bool = False
    source: str = ""
    as_of: dt.date | None = None


@dataclass(frozen=True)
class UnitSheet:
    """A unit, its apps' coverage and (optionally) its children's."""

    unit_code: str
    unit_name: str  # display name: "Phường 1", "Huyện Đồng Xuân"
    level: str
    as_of: dt.date
    apps: tuple[AppCoverage, ...]
    children: tuple[UnitSheet, ...] = field(default=())

    def app(self, code: str) -> AppCoverage | None:
        """This unit's coverage of app ``code``, if the app is on the sheet."""
        return next((item for item in self.apps if item.app.code == code), None)


def active_apps(session: Session) -> list[AppInfo]:
    """The apps the campaign promotes, in catalogue order."""
    rows = session.scalars(
        select(CampaignApp).where(CampaignApp.active).order_by(CampaignApp.position)
    )
    return [
        AppInfo(
            code=row.code,
            name=row.name,
            purpose_vi=row.purpose_vi,
            purpose_en=row.purpose_en,
            android_url=row.android_url,
            ios_url=row.ios_url,
        )
        for row in rows
    ]


def get_unit(session: Session, unit_code: str, field_name: str = "unit") -> Unit:
    """The unit ``unit_code`` or a NotFound naming ``field_name``."""
    unit = session.get(Unit, unit_code)
    if unit is None:
        raise NotFound(
            FieldError(
                field_name,
                "unknown_unit",
                f"Không có đơn vị hành chính mã {unit_code}",
                f"No administrative unit with code {unit_code}",
            )
        )
    return unit


def from_coverage(app: AppInfo, coverage: Coverage) -> AppCoverage:
    """An :class:`AppCoverage` from the coverage service's :class:`Coverage`."""
    return AppCoverage(
        app=app,
        population=coverage.population,
        installs=coverage.installs,
        share_population=coverage.share_population or 0.0,
        target_share=coverage.target_share,
        smartphone_users=coverage.smartphone_users,
        share_smartphones=coverage.share_smartphones,
        target_base=coverage.target_base or "population",
        deadline=coverage.deadline,
        behind=coverage.behind,
        source=coverage.source,
        as_of=coverage.as_of,
    )


def unit_sheet(
    session: Session,
    unit_code: str,
    *,
    as_of: dt.date | None = None,
    with_children: bool = False,
) -> UnitSheet:
    """The coverage of ``unit_code`` for every active app (and of its children if asked)."""
    unit = get_unit(session, unit_code)
    day = as_of or local_today()
    apps = active_apps(session)
    own = tuple(
        from_coverage(app, coverage.unit_coverage(session, unit.code, app.code, as_of=day))
        for app in apps
    )
    children: tuple[UnitSheet, ...] = ()
    if with_children:
        per_child: dict[str, tuple[str, str, list[AppCoverage]]] = {}
        for app in apps:
            for item in coverage.children_coverage(session, unit.code, app.code, as_of=day):
                entry = per_child.setdefault(item.unit_code, (item.unit_name, item.level, []))
                entry[2].append(from_coverage(app, item))
        children = tuple(
            UnitSheet(code, name, level, day, tuple(items))
            for code, (name, level, items) in per_child.items()
        )
    return UnitSheet(unit.code, display_name(unit), unit.level, day, own, children)
