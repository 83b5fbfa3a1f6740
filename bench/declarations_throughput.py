"""Accepted declarations per second into PostgreSQL vs. a no-database baseline.

Starts ``safezone serve`` (one worker process) against a throw-away PostgreSQL database, and a
baseline FastAPI app (one uvicorn worker) whose endpoint validates the same body with the same
pydantic model (``DeclarationIn``) and stores nothing. The same async httpx load generator
drives each in turn on this machine; every safezone answer counted is a 201, sent after the
commit. Prints one JSON line with both rates and their ratio (target: at least 0.5).

    SAFEZONE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sz_decl_bench \
        python bench/declarations_throughput.py [--seconds 10] [--concurrency 32]

The database is emptied first: its name must contain "bench".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from safezone.declarations.schemas import DeclarationCreated, DeclarationIn
from sqlite_concurrency import declaration_body  # the one place that knows a valid body

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sz_decl_bench"
ROOT = Path(__file__).resolve().parent.parent


def baseline_app() -> FastAPI:
    """The no-database app: validate with the same model, answer like the real endpoint."""
    app = FastAPI()

    @app.post("/api/v1/declarations", status_code=201)
    def create(body: DeclarationIn) -> DeclarationCreated:
        return DeclarationCreated(id=0, pass_token="-", update_token="-", risk="low")

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(url: str) -> None:
    """Empty the bench database, migrate it and load the units."""
    from sqlalchemy import text

    from safezone.config import Settings
    from safezone.db.engine import Database
    from safezone.db.migrate import upgrade
    from safezone.units.service import load_bundled

    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit(f"refusing to empty {url!r}: the database name must contain 'bench'")
    database = Database(Settings(database_url=url).sqlalchemy_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database.engine)
    with database.session() as session:
        load_bundled(session)
    database.dispose()


def wait_ready(base: str, process: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode}")
        try:
            if httpx.get(base + path, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit("server did not start")


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) the process has used so far; None where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def drive(
    base: str, seconds: float, concurrency: int, start: int, pid: int
) -> tuple[int, int, float, float | None]:
    """Send declarations for ``seconds`` from ``concurrency`` clients.

    Returns (accepted, errors, seconds, server CPU seconds during the measurement). CPU per
    request is the steadier figure on a shared machine: other load slows the clock, not it.
    """
    counter = start
    accepted = errors = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker(deadline: float) -> None:
            nonlocal counter, accepted, errors
            while time.perf_counter() < deadline:
                counter += 1
                response = await client.post("/api/v1/declarations", json=declaration_body(counter))
                if response.status_code == 201:
                    accepted += 1
                else:
                    errors += 1

        # Warm up (connections, caches, JIT-less but lazy imports), then measure.
        await asyncio.gather(*(worker(time.perf_counter() + 1.5) for _ in range(concurrency)))
        accepted = errors = 0
        cpu_before = cpu_seconds(pid)
        began = time.perf_counter()
        await asyncio.gather(*(worker(began + seconds) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
        cpu_after = cpu_seconds(pid)
        cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
        return accepted, errors, elapsed, cpu


def run_server(
    command: list[str], env: dict[str, str], probe: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, probe)
    except SystemExit:
        stop(process)
        raise
    return process, base


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def per_request(cpu: float | None, requests: int) -> float | None:
    return round(cpu / requests * 1000, 2) if cpu is not None and requests else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        import uvicorn

        uvicorn.run(
            baseline_app(),
            host="127.0.0.1",
            port=args.port,
            access_log=False,
            log_level="warning",
            server_header=False,
        )
        return

    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", DEFAULT_URL)
    prepare_database(url)
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "SAFEZONE_DATABASE_URL": url,
            "SAFEZONE_SECRET_KEY": secrets.token_urlsafe(48),
            "SAFEZONE_DATA_DIR": data_dir,
            "SAFEZONE_LOG_LEVEL": "WARNING",
        }
        python = sys.executable
        baseline, base = run_server([python, __file__, "--baseline-server"], env, "/docs")
        try:
            base_ok, base_err, base_time, base_cpu = asyncio.run(
                drive(base, args.seconds, args.concurrency, 0, baseline.pid)
            )
        finally:
            stop(baseline)
        serve = [python, "-m", "safezone", "serve", "--workers", "1"]
        server, base = run_server(serve, env, "/healthz")
        try:
            ok, err, elapsed, cpu = asyncio.run(
                drive(base, args.seconds, args.concurrency, 10_000_000, server.pid)
            )
        finally:
            stop(server)

    from sqlalchemy import create_engine, text

    from safezone.config import Settings

    engine = create_engine(Settings(database_url=url).sqlalchemy_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM declarations")).scalar_one()
    engine.dispose()
    rate = ok / elapsed
    baseline_rate = base_ok / base_time
    print(
        json.dumps(
            {
                "benchmark": "declarations_throughput",
                "accepted_per_second": round(rate, 1),
                "baseline_per_second": round(baseline_rate, 1),
                "ratio": round(rate / baseline_rate, 3),
                # Server CPU per accepted request, and the baseline's over ours: the same
                # ratio as above on an idle machine, much steadier on a busy one.
                "cpu_ms_per_request": per_request(cpu, ok),
                "baseline_cpu_ms_per_request": per_request(base_cpu, base_ok),
                "cpu_ratio": (
                    round(base_cpu / base_ok / (cpu / ok), 3)
                    if cpu and base_cpu and ok and base_ok
                    else None
                ),
                "target_ratio": 0.5,
                "stored_rows": stored,
                "errors": err + base_err,
                "concurrency": args.concurrency,
                "seconds": args.seconds,
                "server_workers": 1,
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
