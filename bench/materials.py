"""Campaign materials: posters for every commune, and the province's weekly report.

On a throw-away SQLite database with the Phú Yên units and an official count for every
commune, times (1) one commune poster, repeated, and the zip of all 112 commune posters
(target: under 60 s; the baseline is one poster's median time x 112, measured in the same
run; CPU seconds are printed too, as wall time on a shared machine mostly measures the
others), and (2) the province's weekly report as XLSX + PDF (target: under 10 s; the baseline is
gathering its figures alone, i.e. the coverage and declaration queries without rendering).
Prints one JSON line.

    python bench/materials.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from safezone.campaign.coverage import local_today
from safezone.campaign.materials import figures, printed, reports
from safezone.campaign.models import AdoptionFigure, FigureSource, Target
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.db.migrate import upgrade
from safezone.declarations.base import Policy
from safezone.units.models import COMMUNE, Unit
from safezone.units.names import display_name
from safezone.units.service import load_bundled

PUBLIC = "https://safezone.phuyen.gov.vn"


def seed(database: Database, today: dt.date) -> list[tuple[str, str]]:
    """Official counts for every commune over two weeks and a province target; the communes."""
    rng = random.Random(12)
    with database.session() as session:
        load_bundled(session)
        communes = list(session.scalars(select(Unit).where(Unit.level == COMMUNE)))
        for unit in communes:
            for app in ("ncovi", "bluezone"):
                base = rng.randint(0, (unit.population or 1000) // 3)
                for back in (13, 6, 0):
                    session.add(
                        AdoptionFigure(
                            unit_code=unit.code,
                            app_code=app,
                            source=FigureSource.OFFICIAL,
                            installs=base + (13 - back) * rng.randint(0, 40),
                            as_of=today - dt.timedelta(days=back),
                        )
                    )
        for app in ("ncovi", "bluezone"):
            session.add(Target(unit_code="54", app_code=app, base="population", share=0.6))
        return [(unit.code, display_name(unit)) for unit in communes]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    today = local_today()
    with tempfile.TemporaryDirectory(prefix="sz-materials-bench-") as folder:
        settings = Settings(
            data_dir=Path(folder),
            secret_key="bench-secret-key-that-is-long-enough-0123456789",
            database_url=f"sqlite:///{folder}/bench.db",
        )
        database = Database(settings.sqlalchemy_url)
        upgrade(database.engine)
        communes = seed(database, today)
        with database.session() as session:
            apps = figures.active_apps(session)

        # Warm up fonts and templates once, as a long-running worker would be.
        printed.poster_pdf(
            place="Phường 1", unit_code="22015", apps=apps, public_url=PUBLIC, as_of=today
        )
        singles, single_cpu = [], []
        for code, name in communes[: args.repeat]:
            start, cpu = time.perf_counter(), time.process_time()
            printed.poster_pdf(
                place=name, unit_code=code, apps=apps, public_url=PUBLIC, as_of=today
            )
            singles.append(time.perf_counter() - start)
            single_cpu.append(time.process_time() - cpu)
        one = statistics.median(singles)
        start, cpu = time.perf_counter(), time.process_time()
        archive = printed.posters_zip(communes, apps=apps, public_url=PUBLIC, as_of=today)
        all_posters = time.perf_counter() - start
        all_cpu = time.process_time() - cpu

        policy = Policy.from_settings(settings)
        gathers, renders = [], []
        for _ in range(args.repeat):
            with database.read_session() as session:
                start = time.perf_counter()
                data = reports.gather(session, "54", "week", today, policy=policy)
                gathered = time.perf_counter()
                xlsx = reports.to_xlsx(data)
                pdf = reports.to_pdf(data)
                finished = time.perf_counter()
            gathers.append(gathered - start)
            renders.append(finished - start)
        database.dispose()

    report_seconds = statistics.median(renders)
    print(
        json.dumps(
            {
                "bench": "materials",
                "communes": len(communes),
                "posters_all_seconds": round(all_posters, 2),
                "poster_one_seconds": round(one, 3),
                "posters_baseline_one_x_n_seconds": round(one * len(communes), 2),
                "posters_ratio_to_baseline": round(all_posters / (one * len(communes)), 3),
                # CPU seconds of this process: what the work costs when the machine is shared.
                "posters_all_cpu_seconds": round(all_cpu, 2),
                "poster_one_cpu_seconds": round(statistics.median(single_cpu), 3),
                "posters_zip_bytes": len(archive),
                "posters_target_seconds": 60,
                "posters_within_target": all_posters < 60,
                "province_week_report_seconds": round(report_seconds, 2),
                "report_gather_only_seconds": round(statistics.median(gathers), 2),
                "report_ratio_to_gather": round(report_seconds / statistics.median(gathers), 2),
                "report_xlsx_bytes": len(xlsx),
                "report_pdf_bytes": len(pdf),
                "report_target_seconds": 10,
                "report_within_target": report_seconds < 10,
            }
        )
    )


if __name__ == "__main__":
    main()
