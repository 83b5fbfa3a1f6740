"""Figures and files for staff: counts per unit and day, and the audited exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from safezone.accounts.models import User
from safezone.accounts.service import Scope, record
from safezone.declarations import vocabulary
from safezone.declarations.base import Policy, local_today, person_values
from safezone.declarations.models import Declaration
from safezone.declarations.review import Filters, scoped, unit_in_scope
from safezone.units.models import Unit
from safezone.units.service import subtree_of


@dataclass
class Stats:
    """Counts per unit (children of the root) and per day, by risk."""

    root: Unit
    per_unit: list[tuple[Unit, dict[str, int]]] = field(default_factory=list)
    per_day: list[tuple[dt.date, dict[str, int]]] = field(default_factory=list)
    total: dict[str, int] = field(default_factory=dict)


def stats(
    session: Session,
    policy: Policy,
    scope: Scope,
    *,
    root_code: str | None = None,
    days: int = 14,
    today: dt.date | None = None,
) -> Stats:
    """Declarations per unit below ``root_code`` (default: the caller's unit) and per day."""
    del policy  # counts need no keys
    root = unit_in_scope(session, scope, root_code or scope.unit_code, "unit")
    today = today or local_today()
    since = today - dt.timedelta(days=days - 1)
    home = aliased(Unit, name="home")
    base = (
        select(home.path, Declaration.declared_on, Declaration.risk, func.count())
        .join(home, home.code == Declaration.unit_code)
        .where(scope.where(home.path), subtree_of(home.path, root.path))
        .where(Declaration.declared_on >= since, Declaration.declared_on <= today)
        .group_by(home.path, Declaration.declared_on, Declaration.risk)
    )
    kids = session.scalars(select(Unit).where(Unit.parent_code == root.code).order_by(Unit.code))
    children = list(kids) or [root]
    per_unit: dict[str, dict[str, int]] = {kid.code: defaultdict(int) for kid in children}
    per_day: dict[dt.date, dict[str, int]] = {
        since + dt.timedelta(days=offset): defaultdict(int) for offset in range(days)
    }
    total: dict[str, int] = defaultdict(int)
    for path, day, risk, count in session.execute(base):
        for kid in children:
            if path.startswith(kid.path):
                per_unit[kid.code][risk] += count
                break
        per_day[day][risk] += count
        total[risk] += count
    return Stats(
        root=root,
        per_unit=[(kid, dict(per_unit[kid.code])) for kid in children],
        per_day=[(day, dict(counts)) for day, counts in sorted(per_day.items())],
        total=dict(total),
    )


EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "declared_on",
    "unit_code",
    "unit_name",
    "declaration_type",
    "risk",
    "symptoms",
    "exposure",
    "full_name",
    "birth_year",
    "gender",
    "phone",
    "street",
    "assigned_unit_code",
    "outcome",
)
MAX_EXPORT_ROWS = 50_000


def export_rows(
    session: Session,
    policy: Policy,
    user: User,
    scope: Scope,
    filters: Filters,
    *,
    fmt: str,
    locale: str = "vi",
) -> list[list[Any]]:
    """The current filter as rows (header first), with contact data; the export is audited.

    Column names and codes are written as people read them in ``locale`` (the vocabulary).
    """
    query = scoped(session, policy, scope, filters).order_by(Declaration.id)
    rows = session.execute(query.limit(MAX_EXPORT_ROWS)).all()

    def label(code: str | None, group: str) -> str:
        return vocabulary.label(code, locale, group)

    def labels(codes: list[str], group: str) -> str:
        return "; ".join(label(code, group) for code in codes)

    table: list[list[Any]] = [[vocabulary.field_label(name, locale) for name in EXPORT_COLUMNS]]
    for declaration, unit_name in rows:
        person = declaration.person
        values = person_values(policy.vault, person)
        table.append(
            [
                declaration.id,
                declaration.declared_on.isoformat(),
                declaration.unit_code,
                unit_name,
                label(declaration.declaration_type, "declaration_type"),
                label(declaration.risk, "risk"),
                labels(declaration.symptom_list, "symptom"),
                labels([k for k, v in declaration.exposures.items() if v], "exposure"),
                values["full_name"],
                person.birth_year,
                label(person.gender, "gender"),
                values["phone"],
                values["street"],
                declaration.assigned_unit_code or "",
                label(declaration.outcome, "outcome"),
            ]
        )
    record(
        session,
        actor=user.username,
        action="declaration.export",
        object_type="declaration",
        unit_code=filters.unit_code or scope.unit_code,
        detail={
            "format": fmt,
            "rows": len(rows),
            "filters": filters.as_dict(),
            "ids": [row[0].id for row in rows][:1000],
        },
    )
    return table


def _safe_cell(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Sequence[Sequence[Any]]) -> bytes:
    """CSV with a BOM, so spreadsheet programs read Vietnamese text as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table:
        writer.writerow([_safe_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Sequence[Sequence[Any]]) -> bytes:
    """An Excel workbook with one sheet."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("declarations")
    for row in table:
        sheet.append([_safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: "Active users" of the declaration form: people with a declaration in this many days.
ACTIVE_WINDOW_DAYS = 14


def active_people_by_commune(
    session: Session,
    *,
    as_of: dt.date,
    days: int = ACTIVE_WINDOW_DAYS,
    within: str | None = None,
) -> dict[str, int]:
    """Distinct people with a declaration in the ``days`` days ending ``as_of``, per commune.

    For the campaign's "safezone usage" figure. Reads only unit codes, dates and the person's
    row id (never a name, number or address), so it needs no vault and no audit. A declaration
    made in a village counts for its commune; a person who declared in two villages of one
    commune counts once. ``within`` limits the answer to a unit's subtree.
    """
    start = as_of - dt.timedelta(days=days - 1)
    commune = case((Unit.level == "village", Unit.parent_code), else_=Unit.code)
    query = (
        select(commune, func.count(func.distinct(Declaration.person_id)))
        .join(Unit, Unit.code == Declaration.unit_code)
        .where(Declaration.declared_on >= start, Declaration.declared_on <= as_of)
        .where(Unit.level.in_(("commune", "village")))
        .group_by(commune)
    )
    if within is not None:
        root = session.get(Unit, within)
        if root is None:
            return {}
        query = query.where(subtree_of(Unit.path, root.path))
    return {str(code): int(count) for code, count in session.execute(query) if code}
