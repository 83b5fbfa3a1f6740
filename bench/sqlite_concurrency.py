"""Concurrent declaration intake on the demo's configuration: 5xx and acked-vs-stored per level.

Starts the real demo server (``python -m safezone demo``: one process, web and worker, the
SQLite file in a fresh data directory) and drives ``POST /api/v1/declarations`` from 1, 2, 8
and 32 concurrent clients for ``--seconds`` each. After each level it counts the declarations
in the database and checks that every acknowledged (201) id is stored. One JSON line per level:

    python bench/sqlite_concurrency.py [--seconds 20] [--levels 1,2,8,32]
    python bench/sqlite_concurrency.py --database-url postgresql://postgres@127.0.0.1/sz_bench

A PostgreSQL database is emptied first: its name must contain "bench". Target: ``server_errors``
0 and ``lost`` 0 at every level (``acked == stored``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

LEVELS = (1, 2, 8, 32)


def declaration_body(number: int) -> dict[str, Any]:
    """One valid declaration, a different person each time (the one place that knows the body).

    Mirrors ``make_body`` in tests/declarations/conftest.py; adjust here if intake changes.
    """
    today = dt.datetime.now(dt.UTC).date()
    return {
        "full_name": "Nguyễn Văn An",
        "birth_year": 1985,
        "gender": "male",
        "nationality": "VN",
        "id_number": f"0540{number:08d}",
        "phone": f"090{number % 10_000_000:07d}",
        "email": None,
        "address": {"unit_code": "22015", "street": "12 Trần Hưng Đạo"},
        "declaration_type": "domestic",
        "symptoms": ["fever", "cough"] if number % 3 == 0 else [],
        "exposure": {
            "confirmed_case": number % 7 == 0,
            "suspected_case": False,
            "returned_from_outbreak_area": False,
            "visited_health_facility": False,
        },
        "travel": [
            {
                "place": "Đà Nẵng",
                "from": (today - dt.timedelta(days=5)).isoformat(),
                "to": (today - dt.timedelta(days=3)).isoformat(),
            }
        ],
        "conditions": ["diabetes"] if number % 5 == 0 else [],
        "pledge": True,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Tally:
    """What one level's clients saw."""

    def __init__(self) -> None:
        self.acked_ids: list[int] = []
        self.statuses: dict[int, int] = {}
        self.transport_errors: dict[str, int] = {}
        self.latencies: list[float] = []


async def drive(base: str, clients: int, seconds: float, numbers: list[int]) -> tuple[Tally, float]:
    """``clients`` concurrent clients posting declarations for ``seconds``."""
    tally = Tally()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:

        async def one_client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                numbers[0] += 1
                sent = time.perf_counter()
                try:
                    response = await client.post(
                        "/api/v1/declarations", json=declaration_body(numbers[0])
                    )
                except httpx.HTTPError as error:
                    name = type(error).__name__
                    tally.transport_errors[name] = tally.transport_errors.get(name, 0) + 1
                    continue
                tally.latencies.append(time.perf_counter() - sent)
                tally.statuses[response.status_code] = (
                    tally.statuses.get(response.status_code, 0) + 1
                )
                if response.status_code == 201:
                    tally.acked_ids.append(int(response.json()["id"]))

        began = time.perf_counter()
        await asyncio.gather(*(one_client(began + seconds) for _ in range(clients)))
        return tally, time.perf_counter() - began


def count_rows(url: str, acked_ids: list[int]) -> tuple[int, int]:
    """(rows in declarations, how many of ``acked_ids`` are among them)."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            total = int(connection.execute(text("SELECT count(*) FROM declarations")).scalar_one())
            found = 0
            query = text("SELECT count(*) FROM declarations WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            )
            for start in range(0, len(acked_ids), 500):
                chunk = acked_ids[start : start + 500]
                found += int(connection.execute(query, {"ids": chunk}).scalar_one())
    finally:
        engine.dispose()
    return total, found


def empty_postgresql(url: str) -> None:
    from sqlalchemy import create_engine, text

    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit(f"refusing to empty {url!r}: the database name must contain 'bench'")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start_demo(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "safezone", "demo", "--data-dir", str(data_dir)]
    process = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the demo exited with {process.returncode}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    sys.exit("the demo did not start")


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="per level (default 20)")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="client counts")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    levels = [int(part) for part in args.levels.split(",") if part.strip()]

    from safezone.config import Settings

    with tempfile.TemporaryDirectory() as temporary:
        data_dir = Path(temporary) / "demo"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEZONE_")}
        if args.database_url:
            url = Settings(database_url=args.database_url).sqlalchemy_url
            empty_postgresql(url)
            env["SAFEZONE_DATABASE_URL"] = args.database_url
        else:
            url = f"sqlite:///{data_dir / 'safezone.db'}"
        database = "postgresql" if url.startswith("postgresql") else "sqlite"
        process, base = start_demo(data_dir, env)
        numbers = [0]
        try:
            asyncio.run(drive(base, 2, 1.0, numbers))  # warm-up: imports, caches, connections
            for clients in levels:
                before, _ = count_rows(url, [])
                tally, elapsed = asyncio.run(drive(base, clients, args.seconds, numbers))
                after, found = count_rows(url, tally.acked_ids)
                acked = len(tally.acked_ids)
                server_errors = sum(n for code, n in tally.statuses.items() if code >= 500)
                print(
                    json.dumps(
                        {
                            "benchmark": "sqlite_concurrency",
                            "database": database,
                            "clients": clients,
                            "seconds": round(elapsed, 1),
                            "accepted_per_second": round(acked / elapsed, 1),
                            "server_errors": server_errors,
                            "other_statuses": {
                                str(code): n
                                for code, n in sorted(tally.statuses.items())
                                if code != 201 and code < 500
                            },
                            "transport_errors": sum(tally.transport_errors.values()),
                            "transport_error_kinds": tally.transport_errors,
                            "acked": acked,
                            "stored": after - before,
                            "lost": acked - found,
                            "p50_ms": round(percentile(tally.latencies, 0.5) * 1000, 1),
                            "p99_ms": round(percentile(tally.latencies, 0.99) * 1000, 1),
                            "cpus": os.cpu_count(),
                        }
                    ),
                    flush=True,
                )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
