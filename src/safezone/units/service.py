"""Unit tree queries and imports. No HTTP here; every function takes a session."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import ColumnElement, SQLColumnExpression, func, select
from sqlalchemy.orm import Session

from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.units.models import COMMUNE, LEVELS, UNIT_TYPES, Unit
from safezone.units.names import display_name, fold, normalise_spelling

BUNDLED_FILE = "phu_yen_units_2019.csv"
REQUIRED_COLUMNS = ("code", "name", "level", "type", "parent_code")
#: Accepted column names for each number, first match wins (census files carry the year).
NUMBER_COLUMNS = {
    "population": ("population", "population_2019"),
    "urban_population": ("urban_population", "urban_population_2019"),
    "households": ("households", "households_2019"),
}
SUCCESSOR_COLUMNS = ("successor_codes", "successor_codes_2024")
MAX_CODE_LENGTH = 16
MAX_SEARCH_RESULTS = 50


@dataclass(frozen=True, slots=True)
class Totals:
    """Population and households of a unit, summed over its communes."""

    population: int
    urban_population: int
    households: int
    communes: int


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import changed."""

    created: int
    updated: int


def subtree_of(path_column: SQLColumnExpression[str], path: str) -> ColumnElement[bool]:
    """SQL condition: ``path_column`` lies in the subtree whose root has ``path``.

    Paths end with ``/``; every descendant's path starts with the root's, and the next byte
    after ``/`` is ``0``, so the subtree is one index range scan on both databases.
    """
    return (path_column >= path) & (path_column < path[:-1] + "0")


def get_unit(session: Session, code: str) -> Unit:
    """The unit with ``code``; raises NotFound."""
    unit = session.get(Unit, code)
    if unit is None:
        raise NotFound.single(
            "code",
            "unit_not_found",
            f"Không tìm thấy đơn vị hành chính có mã {code!r}.",
            f"No administrative unit has code {code!r}.",
        )
    return unit


def children(session: Session, parent_code: str | None) -> list[Unit]:
    """The units directly under ``parent_code`` (the roots when None), ordered by code."""
    if parent_code is not None:
        get_unit(session, parent_code)
    condition = (
        Unit.parent_code.is_(None) if parent_code is None else Unit.parent_code == parent_code
    )
    return list(session.scalars(select(Unit).where(condition).order_by(Unit.code)))


def ancestors(session: Session, unit: Unit) -> list[Unit]:
    """The units from the root down to ``unit``'s parent (a breadcrumb)."""
    codes = unit.path.rstrip("/").split("/")[:-1]
    if not codes:
        return []
    found = {u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(codes)))}
    return [found[code] for code in codes]


def is_in_subtree(unit: Unit, root_path: str) -> bool:
    """Whether ``unit`` lies in the subtree whose root has ``root_path`` (itself included)."""
    return unit.path.startswith(root_path)


def _totals_of(unit: Unit, summed: Sequence[int | None] | None) -> Totals:
    if LEVELS.index(unit.level) > LEVELS.index(COMMUNE):
        # Below the commune level a unit's own figures are the only ones there are.
        return Totals(unit.population or 0, unit.urban_population or 0, unit.households or 0, 0)
    pop, urban, households, count = summed or (0, 0, 0, 0)
    return Totals(pop or 0, urban or 0, households or 0, count or 0)


def children_with_totals(session: Session, parent_code: str | None) -> list[tuple[Unit, Totals]]:
    """Children of ``parent_code`` with their totals: two queries whatever the tree's size.

    The communes of the parent's subtree come in one index range scan and are grouped by the
    child their path passes through.
    """
    kids = children(session, parent_code)
    if not kids:
        return []
    prefix = kids[0].path[: -len(kids[0].code) - 1]  # the parent's path ("" for the roots)
    query = select(Unit.path, Unit.population, Unit.urban_population, Unit.households).where(
        Unit.level == COMMUNE
    )
    if prefix:
        query = query.where(subtree_of(Unit.path, prefix))
    sums: dict[str, list[int]] = {}
    for path, population, urban, households in session.execute(query):
        child = path[len(prefix) :].split("/", 1)[0]
        acc = sums.setdefault(child, [0, 0, 0, 0])
        acc[0] += population or 0
        acc[1] += urban or 0
        acc[2] += households or 0
        acc[3] += 1
    return [(kid, _totals_of(kid, sums.get(kid.code))) for kid in kids]


def totals(session: Session, code: str) -> Totals:
    """Population and households of ``code``, summed over the communes of its subtree."""
    unit = get_unit(session, code)
    query = select(
        func.sum(Unit.population),
        func.sum(Unit.urban_population),
        func.sum(Unit.households),
        func.count(),
    ).where(Unit.level == COMMUNE, subtree_of(Unit.path, unit.path))
    row = session.execute(query).one()
    return _totals_of(unit, tuple(row))


# --- import ---------------------------------------------------------------------------------


def _error(row: int | None, field: str, code: str, vi: str, en: str) -> FieldError:
    where = f"row {row}: " if row is not None else ""
    where_vi = f"dòng {row}: " if row is not None else ""
    name = f"row[{row}].{field}" if row is not None else field
    return FieldError(name, code, where_vi + vi, where + en)


def read_csv(text: str) -> list[dict[str, str | None]]:
    """Parse a unit CSV; raises InvalidInput when a required column is missing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = set(reader.fieldnames or [])
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    missing += [
        names[0]
        for names in NUMBER_COLUMNS.values()
        if names[0] != "urban_population" and not columns.intersection(names)
    ]
    if missing:
        raise InvalidInput(
            *(
                _error(
                    None, name, "missing_column", f"thiếu cột {name!r}", f"missing column {name!r}"
                )
                for name in missing
            )
        )
    return [dict(row) for row in reader]


def _parse_number(raw: Mapping[str, str | None], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = raw.get(name)
        if value not in (None, ""):
            return value
    return None


def _parse_row(
    index: int, raw: Mapping[str, str | None], errors: list[FieldError]
) -> dict[str, object] | None:
    """Validate one CSV row; appends to ``errors`` and returns None when it is bad."""
    before = len(errors)
    code = (raw.get("code") or "").strip()
    name = normalise_spelling(raw.get("name") or "")
    level = (raw.get("level") or "").strip()
    unit_type = (raw.get("type") or "").strip()
    parent = (raw.get("parent_code") or "").strip() or None
    if not code or len(code) > MAX_CODE_LENGTH or "/" in code:
        errors.append(_error(index, "code", "invalid_code", "mã không hợp lệ", "invalid code"))
    if not name:
        errors.append(_error(index, "name", "required", "thiếu tên", "name is required"))
    if level not in LEVELS:
        errors.append(
            _error(
                index,
                "level",
                "invalid_level",
                f"cấp không hợp lệ {level!r}",
                f"invalid level {level!r} (expected one of {', '.join(LEVELS)})",
            )
        )
    if unit_type not in UNIT_TYPES:
        errors.append(
            _error(
                index,
                "type",
                "invalid_type",
                f"loại đơn vị không hợp lệ {unit_type!r}",
                f"invalid unit type {unit_type!r}",
            )
        )
    numbers: dict[str, int | None] = {}
    for field, names in NUMBER_COLUMNS.items():
        value = _parse_number(raw, names)
        if value is None:
            numbers[field] = None
            continue
        try:
            number = int(value)
        except ValueError:
            number = -1
        if number < 0:
            errors.append(
                _error(
                    index,
                    field,
                    "invalid_number",
                    f"{field} phải là số nguyên không âm",
                    f"{field} must be a non-negative integer",
                )
            )
        numbers[field] = number
    dates: dict[str, dt.date | None] = {}
    for field in ("valid_from", "valid_to"):
        value = (raw.get(field) or "").strip()
        try:
            dates[field] = dt.date.fromisoformat(value) if value else None
        except ValueError:
            errors.append(
                _error(
                    index,
                    field,
                    "invalid_date",
                    "ngày phải theo dạng YYYY-MM-DD",
                    "date must be YYYY-MM-DD",
                )
            )
    successors = _parse_number(raw, SUCCESSOR_COLUMNS) or ""
    if len(errors) > before:
        return None
    return {
        "code": code,
        "name": name,
        "level": level,
        "type": unit_type,
        "parent_code": parent,
        "successor_codes": successors.strip(),
        **numbers,
        **dates,
    }


def _build_paths(
    parents: Mapping[str, str | None], levels: Mapping[str, str], rows: Mapping[str, int]
) -> tuple[dict[str, str], list[FieldError]]:
    """Paths for every unit, checking parents exist, levels deepen and there is no cycle."""
    paths: dict[str, str] = {}
    errors: list[FieldError] = []

    def resolve(code: str) -> str | None:
        chain: list[str] = []
        current: str | None = code
        while current is not None and current not in paths:
            if current in chain:
                row = rows.get(code)
                errors.append(
                    _error(
                        row,
                        "parent_code",
                        "cycle",
                        "vòng lặp trong cây đơn vị",
                        f"cycle in the unit tree through {current!r}",
                    )
                )
                return None
            chain.append(current)
            parent = parents[current]
            if parent is not None and parent not in parents:
                errors.append(
                    _error(
                        rows.get(current),
                        "parent_code",
                        "unknown_parent",
                        f"không có đơn vị cha {parent!r}",
                        f"parent {parent!r} does not exist",
                    )
                )
                return None
            if parent is not None and LEVELS.index(levels[parent]) >= LEVELS.index(levels[current]):
                errors.append(
                    _error(
                        rows.get(current),
                        "level",
                        "level_not_below_parent",
                        f"cấp phải thấp hơn cấp của đơn vị cha {parent!r}",
                        f"level must be below the level of parent {parent!r}",
                    )
                )
                return None
            current = parent
        prefix = paths[current] if current is not None else ""
        for link in reversed(chain):
            prefix += link + "/"
            paths[link] = prefix
        return paths[code]

    for code in parents:
        if code not in paths and resolve(code) is None and len(errors) >= 50:
            break
    return paths, errors


def _parse_rows(
    raw_rows: Sequence[Mapping[str, str | None]],
) -> tuple[dict[str, dict[str, object]], dict[str, int]]:
    """Validate every row; returns the rows by code and each code's row number."""
    errors: list[FieldError] = []
    parsed: dict[str, dict[str, object]] = {}
    rows_of: dict[str, int] = {}
    for index, raw in enumerate(raw_rows, start=2):  # row 1 is the header
        row = _parse_row(index, raw, errors)
        if row is None:
            continue
        code = str(row["code"])
        if code in parsed:
            errors.append(
                _error(
                    index,
                    "code",
                    "duplicate_code",
                    f"mã {code!r} bị trùng",
                    f"duplicate code {code!r}",
                )
            )
            continue
        parsed[code] = row
        rows_of[code] = index
    if errors:
        raise InvalidInput(*errors)
    return parsed, rows_of


def import_units(
    session: Session,
    raw_rows: Sequence[Mapping[str, str | None]],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create or update units from CSV rows: every row is stored, or none is.

    Raises InvalidInput listing every problem (row, field, code, message in both languages).
    The caller's transaction is left untouched on error.
    """
    parsed, rows_of = _parse_rows(raw_rows)
    existing = {
        code: (parent, level, path)
        for code, parent, level, path in session.execute(
            select(Unit.code, Unit.parent_code, Unit.level, Unit.path)
        )
    }
    parents = {code: value[0] for code, value in existing.items()}
    levels = {code: value[1] for code, value in existing.items()}
    for code, row in parsed.items():
        parents[code] = row["parent_code"]  # type: ignore[assignment]
        levels[code] = str(row["level"])
    paths, errors = _build_paths(parents, levels, rows_of)
    if errors:
        raise InvalidInput(*errors)

    created = updated = 0
    with session.begin_nested():
        known: dict[str, Unit] = {}
        codes = [code for code in parsed if code in existing]
        for start in range(0, len(codes), 500):  # bounded IN lists on both databases
            batch = codes[start : start + 500]
            known.update(
                (u.code, u) for u in session.scalars(select(Unit).where(Unit.code.in_(batch)))
            )
        # Parents first, flushed level by level, so foreign keys hold at every write.
        depth = 0
        for done, code in enumerate(sorted(parsed, key=lambda c: paths[c].count("/")), start=1):
            if paths[code].count("/") != depth:
                depth = paths[code].count("/")
                session.flush()
            values = {**parsed[code], "path": paths[code]}
            unit = known.get(code)
            if unit is None:
                session.add(Unit(**values))
                created += 1
            else:
                for key, value in values.items():
                    setattr(unit, key, value)
                updated += 1
            if progress is not None:
                progress(done)
        session.flush()
        # A moved unit moves its whole subtree.
        moved = [
            code
            for code, value in existing.items()
            if code not in parsed and value[2] != paths[code]
        ]
        for code in moved:
            session.get_one(Unit, code).path = paths[code]
    return ImportResult(created=created, updated=updated)


def bundled_csv() -> str:
    """The Phú Yên 2019 census unit file shipped in the package."""
    return resources.files("safezone.units").joinpath("data", BUNDLED_FILE).read_text("utf-8")


def load_bundled(session: Session) -> ImportResult:
    """Load (or refresh) the bundled Phú Yên unit tree."""
    return import_units(session, read_csv(bundled_csv()))


def import_file(session: Session, path: Path) -> ImportResult:
    """Import a CSV file of the bundled file's columns."""
    return import_units(session, read_csv(path.read_text(encoding="utf-8-sig")))


def count_by_level(session: Session, root_code: str | None = None) -> dict[str, int]:
    """How many units of each level lie under ``root_code`` (the whole tree when None)."""
    query = select(Unit.level, func.count()).group_by(Unit.level)
    if root_code is not None:
        query = query.where(subtree_of(Unit.path, get_unit(session, root_code).path))
    return dict(session.execute(query).all())


# --- finding units by name ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """A unit found by name, with the unit above it (its district, for a commune)."""

    unit: Unit
    parent: Unit | None

    @property
    def label(self) -> str:
        """ "Xã Sơn Hà · Huyện Sơn Hòa": enough to tell apart communes of the same name."""
        name = display_name(self.unit)
        return f"{name} · {display_name(self.parent)}" if self.parent is not None else name


def search(
    session: Session,
    query: str,
    *,
    within: str | None = None,
    levels: Sequence[str] | None = None,
    limit: int = 20,
) -> list[Match]:
    """Units whose name (with or without diacritics) or code matches ``query``.

    Every word of the query must appear in the unit's display name or its parent's ("son hoa"
    finds Huyện Sơn Hòa and its communes; "hoa hiep" finds the three Hòa Hiệp). A code matches
    by prefix. ``within`` keeps the subtree of that unit (itself included); ``levels`` keeps
    those levels. Best first: code and name-start matches, then higher levels, then by name.
    Matching is done here rather than in SQL so both databases fold diacritics the same way;
    a province holds a few hundred units, the whole country about eleven thousand.
    """
    words = fold(query).split()
    limit = max(1, min(limit, MAX_SEARCH_RESULTS))
    statement = select(Unit)
    if within:
        statement = statement.where(subtree_of(Unit.path, get_unit(session, within).path))
    if levels:
        statement = statement.where(Unit.level.in_(list(levels)))
    candidates = list(session.scalars(statement))
    parent_codes = {unit.parent_code for unit in candidates if unit.parent_code}
    parents = {
        unit.code: unit
        for start in range(0, len(parent_codes), 500)
        for unit in session.scalars(
            select(Unit).where(Unit.code.in_(sorted(parent_codes)[start : start + 500]))
        )
    }
    ranked: list[tuple[tuple[int, int, str], Match]] = []
    for unit in candidates:
        parent = parents.get(unit.parent_code or "")
        own = fold(display_name(unit))
        haystack = f"{own} {fold(display_name(parent))}" if parent is not None else own
        code_hit = bool(words) and len(words) == 1 and unit.code.startswith(words[0])
        if words and not code_hit and not all(word in haystack for word in words):
            continue
        phrase = " ".join(words)
        if code_hit or own.startswith(phrase) or fold(unit.name).startswith(phrase):
            closeness = 0
        elif phrase in own:
            closeness = 1
        elif phrase in haystack:
            closeness = 2  # the phrase is the parent's name: a commune of that district
        else:
            closeness = 3  # the words are scattered over the two names
        ranked.append(((closeness, LEVELS.index(unit.level), own), Match(unit, parent)))
    ranked.sort(key=lambda item: item[0])
    return [match for _, match in ranked[:limit]]


def grouped(
    session: Session, within_path: str | None, *, level: str = COMMUNE
) -> list[tuple[Unit | None, list[Unit]]]:
    """Units of ``level`` in a subtree, grouped under their parent (a district), for a
    ``<select>`` with one ``<optgroup>`` per district. Groups and units are ordered by name."""
    statement = select(Unit).where(Unit.level == level)
    if within_path:
        statement = statement.where(subtree_of(Unit.path, within_path))
    found = list(session.scalars(statement))
    parent_codes = sorted({unit.parent_code for unit in found if unit.parent_code})
    parents = {
        unit.code: unit for unit in session.scalars(select(Unit).where(Unit.code.in_(parent_codes)))
    }
    groups: dict[str | None, list[Unit]] = {}
    for unit in found:
        groups.setdefault(unit.parent_code, []).append(unit)
    result = [
        (parents.get(code or ""), sorted(members, key=lambda u: fold(display_name(u))))
        for code, members in groups.items()
    ]
    result.sort(key=lambda group: fold(display_name(group[0])))
    return result


def names_of(session: Session, codes: Iterable[str | None]) -> dict[str, str]:
    """Display names of the units with ``codes`` (unknown codes are left out)."""
    wanted = sorted({code for code in codes if code})
    names: dict[str, str] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists on both databases
        batch = wanted[start : start + 500]
        for unit in session.scalars(select(Unit).where(Unit.code.in_(batch))):
            names[unit.code] = display_name(unit)
    return names
