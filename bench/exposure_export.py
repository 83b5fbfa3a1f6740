"""Export of 500,000 keys into signed files vs. the floor of writing the same bytes.

Inserts 500,000 published keys into one export window of a throw-away database (SQLite file by
default, PostgreSQL with ``SAFEZONE_BENCH_DATABASE_URL``), then times ``run_export``: read the
keys, build ``export.bin`` (protobuf), zip, sign with ECDSA P-256, store through the local
storage backend, index. The floor, measured in the same run, reads the same rows and writes the
same number of bytes through the same storage without protobuf, zip or signature. Prints one
JSON line.

    .venv/bin/python bench/exposure_export.py [--keys 500000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select, text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=500_000)
    args = parser.parse_args()

    import safezone.models  # noqa: F401 - every table
    from safezone.config import ExposureConfig, Settings
    from safezone.db.engine import Database
    from safezone.db.migrate import upgrade
    from safezone.exposure import export, signing
    from safezone.exposure.models import ExposureKey
    from safezone.exposure.storage import LocalStorage

    now = dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC)
    window_start = dt.datetime(2026, 3, 10, 12, tzinfo=dt.UTC)
    with tempfile.TemporaryDirectory() as directory:
        url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL") or f"sqlite:///{directory}/bench.db"
        if "bench" not in url.rsplit("/", 1)[-1]:
            sys.exit("refusing: the benchmark database name must contain 'bench'")
        settings = Settings(
            data_dir=Path(directory),
            database_url=url,
            secret_key=secrets.token_urlsafe(40),
            exposure=ExposureConfig(health_authorities={"safezone-demo": "VN"}),
        )
        database = Database(settings.sqlalchemy_url)
        if database.is_postgresql:
            with database.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade(database.engine)
        today = int(now.timestamp()) // 600 // 144 * 144
        rows = [
            {
                "key_data": os.urandom(16),
                "region": "VN",
                "health_authority": "safezone-demo",
                "rolling_start": today - 144 * (1 + n % 14),
                "rolling_period": 144,
                "transmission_risk": 2,
                "report_type": 1,
                "days_since_onset": n % 14 - 4,
                "traveler": False,
                "created_at": window_start,
            }
            for n in range(args.keys)
        ]
        with database.session() as session:
            for i in range(0, len(rows), 50_000):
                session.execute(insert(ExposureKey), rows[i : i + 50_000])
            signing.generate(session, settings, now=now)
        storage = LocalStorage(Path(directory) / "exposure")

        started = time.perf_counter()
        with database.session() as session:
            report = export.run_export(session, settings, storage, now=now)
        seconds = time.perf_counter() - started

        floor_storage = LocalStorage(Path(directory) / "floor")
        started = time.perf_counter()
        with database.session() as session:
            fetched = session.execute(
                select(
                    ExposureKey.key_data,
                    ExposureKey.rolling_start,
                    ExposureKey.rolling_period,
                    ExposureKey.transmission_risk,
                    ExposureKey.report_type,
                    ExposureKey.days_since_onset,
                ).where(
                    ExposureKey.region == "VN",
                    ExposureKey.created_at >= window_start,
                    ExposureKey.created_at < window_start + dt.timedelta(hours=1),
                )
            ).all()
        blob = b"".join(row.key_data for row in fetched)
        raw = blob * (report.bytes // max(len(blob), 1)) + blob[: report.bytes % max(len(blob), 1)]
        floor_storage.put("VN/1773144000-1773147600-00001.zip", raw)
        floor_seconds = time.perf_counter() - started
        database.dispose()
    print(
        json.dumps(
            {
                "benchmark": "exposure_export",
                "keys": report.keys,
                "files": len(report.files),
                "seconds": round(seconds, 2),
                "mb": round(report.bytes / 1e6, 2),
                "floor_seconds_same_bytes_no_protobuf_no_signing": round(floor_seconds, 2),
                "ratio_to_floor": round(seconds / floor_seconds, 2),
                "keys_per_s": round(report.keys / seconds),
                "database": "postgresql" if "postgresql" in url else "sqlite",
            }
        )
    )


if __name__ == "__main__":
    main()
