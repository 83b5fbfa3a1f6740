"""What the app-key check (``X-API-Key``) costs on ``POST /api/verify``, vs. the same route
without it, measured in one run.

Builds the app in-process on a throw-away SQLite file (or ``SAFEZONE_BENCH_DATABASE_URL``, whose
name must contain "bench"), creates one app key, and sends verify requests with a wrong code
(the full path: key lookup, parse, per-address limit, the claiming UPDATE and the follow-up
SELECT, padding) through httpx's ASGI transport. Rounds alternate between the real app and the
same app with the key check replaced by a no-op, so both see the same machine load. Prints one
JSON line: the median milliseconds of each and their ratio.

    .venv/bin/python bench/wire_app_key.py [--requests 400] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx


async def timed(client: httpx.AsyncClient, key: str, count: int, start: int) -> list[float]:
    """``count`` sequential wrong-code verifies; seconds each."""
    seconds = []
    for n in range(start, start + count):
        began = time.perf_counter()
        answer = await client.post(
            "/api/verify", json={"code": f"{n % 10**8:08d}"}, headers={"X-API-Key": key}
        )
        seconds.append(time.perf_counter() - began)
        if answer.status_code != 400 or answer.json()["errorCode"] != "code_invalid":
            raise SystemExit(f"unexpected answer {answer.status_code}: {answer.text[:200]}")
    return seconds


async def run(requests: int, rounds: int, database_url: str) -> dict[str, Any]:
    """Alternate rounds with and without the key check; medians in milliseconds."""
    from safezone.app import create_app
    from safezone.config import ExposureConfig, Settings
    from safezone.db.engine import Database
    from safezone.db.migrate import upgrade
    from safezone.exposure import api, apps

    data_dir = Path(tempfile.mkdtemp(prefix="sz-bench-wire-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url or f"sqlite:///{data_dir / 'bench.db'}",
        secret_key=os.urandom(32).hex(),
        exposure=ExposureConfig(
            health_authorities={"safezone-demo": "VN"},
            rate_limit_per_client=10**9,
            failed_guess_budget=10**9,
        ),
    )
    database = Database(settings.sqlalchemy_url)
    upgrade(database.engine)
    with database.session() as session:
        key = apps.create_app(
            session, f"bench-{os.urandom(4).hex()}", actor="bench", now=dt.datetime.now(dt.UTC)
        ).key
    app = create_app(settings, database)
    real_check = api._check_app_key  # the bench swaps the step it measures
    with_key: list[float] = []
    without_key: list[float] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await timed(client, key, 20, 0)  # warm-up: runtime built, calibrated, caches filled
        for round_number in range(rounds):
            start = (round_number + 1) * 2 * requests
            api._check_app_key = real_check
            with_key += await timed(client, key, requests, start)
            api._check_app_key = lambda runtime, key: None
            without_key += await timed(client, key, requests, start + requests)
        api._check_app_key = real_check
    database.dispose()
    with_ms = statistics.median(with_key) * 1000
    without_ms = statistics.median(without_key) * 1000
    return {
        "bench": "wire_app_key",
        "database": settings.sqlalchemy_url.split(":", 1)[0],
        "requests": len(with_key),
        "median_ms_verify_with_key_check": round(with_ms, 3),
        "median_ms_verify_without_key_check": round(without_ms, 3),
        "ratio": round(with_ms / without_ms, 3),
    }


def main() -> None:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--requests", type=int, default=400, help="requests per round and mode")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", "")
    if url and "bench" not in url.rsplit("/", 1)[-1]:
        raise SystemExit("SAFEZONE_BENCH_DATABASE_URL: the database name must contain 'bench'")
    # The request log goes to stderr: stdout carries the one JSON line only.
    with contextlib.redirect_stdout(sys.stderr):
        result = asyncio.run(run(arguments.requests, arguments.rounds, url))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
