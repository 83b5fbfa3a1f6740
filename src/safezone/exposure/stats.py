"""Statistics for the health department: codes, uploads, keys and export files per day.

Codes carry a unit, so their counts follow the reader's scope; keys, uploads and files carry
no unit (by design) and are counted for the whole installation.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope
from safezone.exposure.models import ExportFile, Upload, VerificationCode
from safezone.units.models import Unit


@dataclass(frozen=True, slots=True)
class DailyStats:
    """One row per day, oldest first, for ``days`` days ending ``today``."""

    days: list[dt.date]
    codes_issued: list[int]
    codes_claimed: list[int]
    uploads: list[int]
    keys: list[int]
    revised_keys: list[int]
    export_files: list[int]
    export_bytes: list[int]

    @property
    def totals(self) -> dict[str, int]:
        """Sum of each series."""
        return {
            "codes_issued": sum(self.codes_issued),
            "codes_claimed": sum(self.codes_claimed),
            "uploads": sum(self.uploads),
            "keys": sum(self.keys),
            "revised_keys": sum(self.revised_keys),
            "export_files": sum(self.export_files),
            "export_bytes": sum(self.export_bytes),
        }


def daily(session: Session, scope: Scope, *, today: dt.date, days: int = 14) -> DailyStats:
    """Per-day counts for the last ``days`` days (UTC dates)."""
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    dates = [first + dt.timedelta(days=i) for i in range(days)]
    issued: Counter[dt.date] = Counter()
    claimed: Counter[dt.date] = Counter()
    code_rows = session.execute(
        select(VerificationCode.created_at, VerificationCode.claimed_at)
        .join(Unit, Unit.code == VerificationCode.unit_code)
        .where(scope.where(Unit.path), VerificationCode.created_at >= since)
    )
    for created_at, claimed_at in code_rows:
        issued[created_at.date()] += 1
        if claimed_at is not None:
            claimed[claimed_at.date()] += 1
    uploads: Counter[dt.date] = Counter()
    keys: Counter[dt.date] = Counter()
    revised: Counter[dt.date] = Counter()
    for day, count, revised_count in session.execute(
        select(Upload.day, Upload.keys, Upload.revised).where(Upload.day >= first)
    ):
        uploads[day] += 1
        keys[day] += count
        revised[day] += revised_count
    files: Counter[dt.date] = Counter()
    size: Counter[dt.date] = Counter()
    for created_at, size_bytes in session.execute(
        select(ExportFile.created_at, ExportFile.size_bytes).where(ExportFile.created_at >= since)
    ):
        files[created_at.date()] += 1
        size[created_at.date()] += size_bytes
    return DailyStats(
        days=dates,
        codes_issued=[issued[d] for d in dates],
        codes_claimed=[claimed[d] for d in dates],
        uploads=[uploads[d] for d in dates],
        keys=[keys[d] for d in dates],
        revised_keys=[revised[d] for d in dates],
        export_files=[files[d] for d in dates],
        export_bytes=[size[d] for d in dates],
    )
