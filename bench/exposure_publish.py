"""Accepted uploads per second on ``POST /v1/publish`` (PostgreSQL) vs. a no-op baseline.

Starts ``safezone serve`` (one worker process) on a throw-away PostgreSQL database, and a
baseline FastAPI app (one uvicorn worker) whose endpoint reads the same body and answers
without doing anything. The same async httpx load generator drives each in turn; every upload
counted is a 200 with ``insertedExposures == 14`` (full validation: 14 keys, ES256
certificate, tekmac, revision token, and a commit). Prints one JSON line with both rates and
their ratio.

    SAFEZONE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sz_expo_bench \
        .venv/bin/python bench/exposure_publish.py [--uploads 3000] [--concurrency 32]

The database is emptied first: its name must contain "bench".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sz_expo_bench"
ROOT = Path(__file__).resolve().parent.parent
BASELINE = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/v1/publish")
async def publish(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"insertedExposures": 14})
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def reset_database(url: str) -> None:
    from sqlalchemy import text

    from safezone.config import Settings
    from safezone.db.engine import Database

    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("refusing: the benchmark database name must contain 'bench'")
    database = Database(Settings(database_url=url).sqlalchemy_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    database.dispose()


def bodies(count: int, secret: str) -> list[bytes]:
    """``count`` valid uploads of 14 keys, each with its own certificate."""
    from safezone.config import ExposureConfig, Settings
    from safezone.en.keys import TemporaryExposureKey
    from safezone.en.tekmac import tekmac
    from safezone.exposure.codes import CodePolicy, sign_certificate

    settings = Settings(secret_key=secret, exposure=ExposureConfig())
    policy = CodePolicy.from_settings(settings)
    now = dt.datetime.now(dt.UTC)
    today = int(now.timestamp()) // 600 // 144 * 144
    result = []
    for _ in range(count):
        keys = [
            TemporaryExposureKey(os.urandom(16), today - 144 * n, 144) for n in range(14, 0, -1)
        ]
        device_secret = os.urandom(32)
        body = {
            "temporaryExposureKeys": [
                {
                    "key": base64.b64encode(k.key_data).decode(),
                    "rollingStartNumber": k.rolling_start_interval_number,
                    "rollingPeriod": 144,
                    "transmissionRisk": 0,
                }
                for k in keys
            ],
            "healthAuthorityID": "safezone-demo",
            "verificationPayload": sign_certificate(
                policy,
                test_type="confirmed",
                test_date=now.date(),
                symptom_date=now.date() - dt.timedelta(days=3),
                ekeyhmac=tekmac(keys, device_secret),
                now=now,
            ),
            "hmacKey": base64.b64encode(device_secret).decode(),
            "padding": base64.b64encode(os.urandom(secrets.randbelow(1024) + 1024)).decode(),
        }
        result.append(json.dumps(body).encode())
    return result


async def drive(
    base: str, payloads: list[bytes], concurrency: int, real: bool
) -> tuple[int, float]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)
    ok = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal ok
        while not queue.empty():
            payload = queue.get_nowait()
            response = await client.post(
                "/v1/publish", content=payload, headers={"Content-Type": "application/json"}
            )
            if response.status_code == 200 and response.json().get("insertedExposures") == 14:
                ok += 1
            elif real:
                raise SystemExit(f"unexpected answer {response.status_code}: {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return ok, time.perf_counter() - started


def wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(
                f"server exited: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
            )
        try:
            httpx.get(base + "/exposure/v1/signing-keys", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", DEFAULT_URL)
    reset_database(url)
    secret = secrets.token_urlsafe(40)
    env = {
        **os.environ,
        "SAFEZONE_DATABASE_URL": url,
        "SAFEZONE_SECRET_KEY": secret,
        "SAFEZONE_EXPOSURE__HEALTH_AUTHORITIES": '{"safezone-demo": "VN"}',
        "SAFEZONE_EXPOSURE__RATE_LIMIT_PER_CLIENT": "1000000",
        "SAFEZONE_LOG_LEVEL": "WARNING",
    }
    safezone = [sys.executable, "-m", "safezone"]
    with tempfile.TemporaryDirectory() as data_dir:
        env["SAFEZONE_DATA_DIR"] = data_dir
        subprocess.run([*safezone, "db", "upgrade"], env=env, check=True, capture_output=True)
        payloads = bodies(args.uploads, secret)
        port = free_port()
        server = subprocess.Popen(
            [*safezone, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(base, server)
            asyncio.run(drive(base, bodies(50, secret), args.concurrency, True))  # warm-up
            ok, seconds = asyncio.run(drive(base, payloads, args.concurrency, True))
        finally:
            server.terminate()
            server.wait(10)
        module = Path(data_dir) / "noop_baseline.py"
        module.write_text(BASELINE)
        port = free_port()
        baseline = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "noop_baseline:app",
                "--port",
                str(port),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(base + "/docs", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            asyncio.run(drive(base, payloads[:50], args.concurrency, False))
            baseline_ok, baseline_seconds = asyncio.run(
                drive(base, payloads, args.concurrency, False)
            )
        finally:
            baseline.terminate()
            baseline.wait(10)
    uploads_per_s = ok / seconds
    baseline_per_s = baseline_ok / baseline_seconds
    print(
        json.dumps(
            {
                "benchmark": "exposure_publish",
                "uploads": ok,
                "keys_per_upload": 14,
                "concurrency": args.concurrency,
                "uploads_per_s": round(uploads_per_s, 1),
                "baseline_noop_requests_per_s": round(baseline_per_s, 1),
                "ratio": round(uploads_per_s / baseline_per_s, 3),
                "database": "postgresql",
                "server": "safezone serve, 1 worker",
            }
        )
    )


if __name__ == "__main__":
    main()
