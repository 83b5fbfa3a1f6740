"""`safezone demo` as a real process: serves, runs the worker, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import free_port


def test_demo_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEZONE_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "safezone",
            "demo",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "demo"),
            "--admin-password",
            "demo-admin-password",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.3)
        assert health.json() == {"status": "ok", "database": "ok"}
        province = httpx.get(f"http://127.0.0.1:{port}/api/v1/units/54").json()
        assert province["totals"]["population"] == 872_964
        assert len(httpx.get(f"http://127.0.0.1:{port}/api/v1/units?parent=54").json()) == 9
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}/" in output
    assert "demo-admin-password" in output
    assert "demo stopped" in output
    assert (tmp_path / "demo" / "safezone.db").exists()
