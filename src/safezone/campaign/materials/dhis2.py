"""Pushing aggregate figures to DHIS2 as a data value set (``POST /api/dataValueSets``).

What is sent, per mapped unit and period: installs per app (from the coverage service) and
declarations per risk level (counts, from the declarations service). The mapping file says
which DHIS2 org unit, data element and category option combo each figure goes to (format in
docs/campaign-materials.md). Nothing is dropped silently: unmapped units are listed, and every
conflict and ignored value in DHIS2's import summary is reported.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope
from safezone.campaign import coverage
from safezone.declarations import reports as declaration_reports
from safezone.declarations.base import Policy
from safezone.errors import FieldError, InvalidInput
from safezone.units.models import COMMUNE, Unit

_UID = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")  # DHIS2 identifiers: 11 characters
RISKS: tuple[str, ...] = ("high", "medium", "low")


@dataclass(frozen=True)
class Target:
    """Where one figure goes in DHIS2."""

    data_element: str
    category_option_combo: str = ""


@dataclass(frozen=True)
class DhisMapping:
    """The mapping file, checked."""

    org_units: dict[str, str]
    coverage: dict[str, Target]
    declarations: dict[str, Target]
    data_set: str = ""
    attribute_option_combo: str = ""


def load_mapping(source: Path | Mapping[str, Any]) -> DhisMapping:
    """The mapping from a JSON file (or its parsed content), validated whole."""
    raw: Any = json.loads(Path(source).read_text("utf-8")) if isinstance(source, Path) else source
    errors: list[FieldError] = []

    def bad(where: str, vi: str, en: str) -> None:
        errors.append(FieldError(where, "mapping", vi, en))

    def uid(where: str, value: Any, *, optional: bool = False) -> str:
        if optional and value in (None, ""):
            return ""
        if not isinstance(value, str) or not _UID.match(value):
            bad(where, f"Mã DHIS2 không hợp lệ: {value!r}", f"Not a DHIS2 id: {value!r}")
            return ""
        return value

    def targets(section: str) -> dict[str, Target]:
        items = raw.get(section, {}) if isinstance(raw, dict) else {}
        if not isinstance(items, dict):
            bad(section, "Phải là một đối tượng JSON", "Must be a JSON object")
            return {}
        out = {}
        for key, value in items.items():
            where = f"{section}.{key}"
            if not isinstance(value, dict):
                bad(where, "Phải có dataElement", "Needs a dataElement")
                continue
            out[str(key)] = Target(
                uid(f"{where}.dataElement", value.get("dataElement")),
                uid(
                    f"{where}.categoryOptionCombo",
                    value.get("categoryOptionCombo"),
                    optional=True,
                ),
            )
        return out

    if not isinstance(raw, dict):
        raise InvalidInput(
            FieldError("mapping", "mapping", "Tệp ánh xạ phải là JSON", "Mapping must be JSON")
        )
    units = raw.get("orgUnits", {})
    org_units = {}
    if not isinstance(units, dict) or not units:
        bad("orgUnits", "Cần ít nhất một đơn vị", "At least one org unit is needed")
    else:
        org_units = {str(code): uid(f"orgUnits.{code}", value) for code, value in units.items()}
    mapping = DhisMapping(
        org_units=org_units,
        coverage=targets("coverage"),
        declarations=targets("declarations"),
        data_set=uid("dataSet", raw.get("dataSet"), optional=True),
        attribute_option_combo=uid(
            "attributeOptionCombo", raw.get("attributeOptionCombo"), optional=True
        ),
    )
    unknown_risks = sorted(set(mapping.declarations) - set(RISKS))
    if unknown_risks:
        bad("declarations", f"Mức nguy cơ không có: {unknown_risks}", f"Unknown: {unknown_risks}")
    if errors:
        raise InvalidInput(*errors)
    return mapping


def parse_period(period: str) -> tuple[dt.date, dt.date]:
    """A DHIS2 period (``20261130`` day, ``2026W48`` ISO week, ``202611`` month) as dates."""
    try:
        if re.fullmatch(r"\d{8}", period):
            day = dt.datetime.strptime(period, "%Y%m%d").date()  # noqa: DTZ007 - a date
            return day, day
        match = re.fullmatch(r"(\d{4})W(\d{1,2})", period)
        if match:
            start = dt.date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return start, start + dt.timedelta(days=6)
        if re.fullmatch(r"\d{6}", period):
            start = dt.date(int(period[:4]), int(period[4:]), 1)
            following = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
            return start, following - dt.timedelta(days=1)
    except ValueError:
        pass
    raise InvalidInput(
        FieldError(
            "period",
            "period",
            f"Kỳ DHIS2 không hợp lệ: {period!r} (ví dụ 20261130, 2026W48, 202611)",
            f"Not a DHIS2 period: {period!r} (e.g. 20261130, 2026W48, 202611)",
        )
    )


@dataclass
class Payload:
    """The data value set and what could not be put in it."""

    body: dict[str, Any]
    unmapped_units: list[str] = field(default_factory=list)


def build_payload(
    session: Session, mapping: DhisMapping, period: str, *, policy: Policy
) -> Payload:
    """The data value set for ``period``: installs per app and declarations per risk, for every
    mapped unit. Values are strings, as DHIS2 documents them."""
    start, end = parse_period(period)
    values: list[dict[str, str]] = []

    def add(target: Target, org_unit: str, value: int) -> None:
        item = {
            "dataElement": target.data_element,
            "period": period,
            "orgUnit": org_unit,
            "value": str(value),
        }
        if target.category_option_combo:
            item["categoryOptionCombo"] = target.category_option_combo
        if mapping.attribute_option_combo:
            item["attributeOptionCombo"] = mapping.attribute_option_combo
        values.append(item)

    query = select(Unit).where(Unit.code.in_(list(mapping.org_units)))
    known = {unit.code: unit for unit in session.scalars(query)}
    missing = sorted(set(mapping.org_units) - set(known))
    if missing:
        raise InvalidInput(
            FieldError(
                "orgUnits",
                "unknown_unit",
                f"Tệp ánh xạ có mã đơn vị không tồn tại: {', '.join(missing)}",
                f"The mapping names unknown units: {', '.join(missing)}",
            )
        )
    for code in sorted(mapping.org_units):
        unit, org_unit = known[code], mapping.org_units[code]
        for app, target in sorted(mapping.coverage.items()):
            figure = coverage.unit_coverage(session, code, app, as_of=end)
            add(target, org_unit, figure.installs)
        if mapping.declarations:
            stats = declaration_reports.stats(
                session,
                policy,
                Scope(unit.code, unit.path),
                root_code=unit.code,
                days=(end - start).days + 1,
                today=end,
            )
            for risk, target in sorted(mapping.declarations.items()):
                add(target, org_unit, int(stats.total.get(risk, 0)))
    communes = set(session.scalars(select(Unit.code).where(Unit.level == COMMUNE)))
    unmapped = sorted(communes - set(mapping.org_units))
    body: dict[str, Any] = {"dataValues": values}
    if mapping.data_set:
        body = {"dataSet": mapping.data_set, "period": period, **body}
    return Payload(body=body, unmapped_units=unmapped)


@dataclass
class ImportSummary:
    """DHIS2's answer, reduced to what an operator must see."""

    status: str
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    conflicts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Everything was stored: no conflict, nothing ignored, not an error."""
        return self.status in ("SUCCESS", "OK") and not self.conflicts and not self.ignored


def parse_summary(answer: Mapping[str, Any]) -> ImportSummary:
    """An import summary, in the 2.36+ envelope (``response``) or bare (older servers)."""
    summary = answer.get("response", answer)
    counts = summary.get("importCount", {}) or {}
    conflicts = []
    for item in summary.get("conflicts", []) or []:
        what = item.get("object") or ", ".join(map(str, item.get("objects", {}).values()))
        conflicts.append(f"{what}: {item.get('value', '')}".strip(": "))
    return ImportSummary(
        status=str(summary.get("status") or answer.get("status") or "UNKNOWN"),
        imported=int(counts.get("imported", 0)),
        updated=int(counts.get("updated", 0)),
        ignored=int(counts.get("ignored", 0)),
        deleted=int(counts.get("deleted", 0)),
        conflicts=conflicts,
    )


class PushFailed(RuntimeError):
    """DHIS2 could not be reached, or refused the request, after every retry."""


def push(
    body: Mapping[str, Any],
    *,
    url: str,
    username: str,
    password: str,
    retries: int = 3,
    backoff_seconds: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> ImportSummary:
    """POST ``body`` to ``url``/api/dataValueSets; retry network errors and 5xx answers.

    A 409 carries the import summary (DHIS2 answers it when values conflict), so it is parsed,
    not retried. Other 4xx answers (bad credentials, bad request) fail at once.
    """
    endpoint = url.rstrip("/") + "/api/dataValueSets"
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
    owned = client is None
    http = client or httpx.Client(timeout=60)
    try:
        for attempt in range(retries + 1):
            try:
                answer = http.post(endpoint, json=dict(body), headers=headers)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if answer.status_code in (200, 201, 409):
                    return parse_summary(answer.json())
                if answer.status_code < 500:
                    raise PushFailed(f"DHIS2 answered {answer.status_code}: {answer.text[:300]}")
                problem = f"DHIS2 answered {answer.status_code}"
            if attempt < retries:
                sleep(backoff_seconds * 2**attempt)
        raise PushFailed(f"gave up after {retries + 1} attempts: {problem}")
    finally:
        if owned:
            http.close()
