"""Dashboard numbers as CSV: the same rows the JSON API and the pages show."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from safezone.campaign.coverage import Coverage
from safezone.campaign.service import Compliance

COVERAGE_HEADER = (
    "unit_code",
    "unit_name",
    "level",
    "app",
    "population",
    "smartphone_users",
    "installs",
    "source",
    "as_of",
    "share_population",
    "share_smartphones",
    "target_share",
    "target_base",
    "deadline",
    "behind",
    "gap",
)
COMPLIANCE_HEADER = (
    "code",
    "name",
    "kind",
    "unit_code",
    "headcount",
    "installs",
    "share",
    "target_share",
    "last_report",
    "overdue",
    "below_target",
)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # A cell starting like a formula is data here, never a spreadsheet formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a BOM (spreadsheet programs then read Vietnamese correctly)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def coverage_rows(items: Iterable[Coverage]) -> list[tuple[Any, ...]]:
    """One row per coverage, in ``COVERAGE_HEADER`` order."""
    return [
        (
            c.unit_code,
            c.unit_name,
            c.level,
            c.app_code,
            c.population,
            c.smartphone_users,
            c.installs,
            c.source,
            c.as_of,
            c.share_population,
            c.share_smartphones,
            c.target_share,
            c.target_base,
            c.deadline,
            c.behind,
            c.gap,
        )
        for c in items
    ]


def compliance_rows(items: Iterable[Compliance]) -> list[tuple[Any, ...]]:
    """One row per organisation, in ``COMPLIANCE_HEADER`` order."""
    return [
        (
            c.code,
            c.name,
            c.kind,
            c.unit_code,
            c.headcount,
            c.installs,
            c.share,
            c.target_share,
            c.last_report,
            c.overdue,
            c.below_target,
        )
        for c in items
    ]
