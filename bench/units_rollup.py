"""Roll-up queries on an 11,000-unit tree: ours against two straightforward implementations.

Builds a national-sized tree (63 provinces x 10 districts x 16 communes = 10,773 units) in a
fresh database, then times, in the same run:

- ours: ``totals(code)`` (one indexed range join over materialised paths) and
  ``children_with_totals(code)`` (the overview page's query);
- baseline "recursive": walk the subtree with one children query per unit and add up communes
  (what a naive ORM implementation does);
- baseline "full scan": load every unit into Python and sum the subtree there.

Prints one JSON line of medians (milliseconds) and speed-up ratios.
Usage: python bench/units_rollup.py [--database-url URL] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select, text

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.db.migrate import upgrade
from safezone.units import service
from safezone.units.models import Unit


def build_rows(
    provinces: int = 63, districts: int = 10, communes: int = 16
) -> list[dict[str, str]]:
    rng = random.Random(54)
    rows = []
    for p in range(provinces):
        pcode = f"{p + 1:02d}"
        rows.append(
            {
                "code": pcode,
                "name": f"Tỉnh {pcode}",
                "level": "province",
                "type": "tỉnh",
                "parent_code": "",
                "population": "",
                "households": "",
            }
        )
        for d in range(districts):
            dcode = f"{pcode}{d:02d}"
            rows.append(
                {
                    "code": dcode,
                    "name": f"Huyện {dcode}",
                    "level": "district",
                    "type": "huyện",
                    "parent_code": pcode,
                    "population": "",
                    "households": "",
                }
            )
            for c in range(communes):
                rows.append(
                    {
                        "code": f"{dcode}{c:03d}",
                        "name": "Xã",
                        "level": "commune",
                        "type": "xã",
                        "parent_code": dcode,
                        "population": str(rng.randint(2_000, 30_000)),
                        "households": str(rng.randint(500, 8_000)),
                    }
                )
    return rows


def median_ms(function: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def recursive_total(session, code: str) -> int:  # type: ignore[no-untyped-def]
    total = 0
    for child in session.scalars(select(Unit).where(Unit.parent_code == code)):
        total += (
            child.population or 0
            if child.level == "commune"
            else recursive_total(session, child.code)
        )
    return total


def full_scan_total(session, code: str) -> int:  # type: ignore[no-untyped-def]
    rows = session.execute(select(Unit.code, Unit.parent_code, Unit.level, Unit.population)).all()
    children: dict[str | None, list[tuple[str, str, int | None]]] = {}
    for unit_code, parent, level, population in rows:
        children.setdefault(parent, []).append((unit_code, level, population))
    total, stack = 0, [code]
    while stack:
        for unit_code, level, population in children.get(stack.pop(), []):
            if level == "commune":
                total += population or 0
            else:
                stack.append(unit_code)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        database = Database(Settings(database_url=url).sqlalchemy_url)
        if database.is_postgresql:
            with database.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        upgrade(database.engine)
        rows = build_rows()
        started = time.perf_counter()
        with database.session() as session:
            service.import_units(session, rows)
        import_seconds = time.perf_counter() - started
        provinces = [r["code"] for r in rows if r["level"] == "province"]
        districts = [r["code"] for r in rows if r["level"] == "district"]
        rng = random.Random(1)
        with database.session() as session:
            target = rng.choice(provinces)
            expected = service.totals(session, target).population
            assert recursive_total(session, target) == expected == full_scan_total(session, target)
            ours_province = median_ms(
                lambda: service.totals(session, rng.choice(provinces)), args.repeat
            )
            ours_district = median_ms(
                lambda: service.totals(session, rng.choice(districts)), args.repeat
            )
            ours_children = median_ms(
                lambda: service.children_with_totals(session, rng.choice(provinces)), args.repeat
            )
            recursive = median_ms(
                lambda: recursive_total(session, rng.choice(provinces)), max(3, args.repeat // 3)
            )
            full_scan = median_ms(
                lambda: full_scan_total(session, rng.choice(provinces)), max(3, args.repeat // 3)
            )
        database.dispose()
    print(
        json.dumps(
            {
                "bench": "units_rollup",
                "database": "postgresql" if "postgresql" in url else "sqlite",
                "units": len(rows),
                "import_seconds": round(import_seconds, 2),
                "ours_province_total_ms": round(ours_province, 2),
                "ours_district_total_ms": round(ours_district, 2),
                "ours_children_with_totals_ms": round(ours_children, 2),
                "baseline_recursive_ms": round(recursive, 2),
                "baseline_full_scan_ms": round(full_scan, 2),
                "speedup_vs_recursive": round(recursive / ours_province, 1),
                "speedup_vs_full_scan": round(full_scan / ours_province, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
