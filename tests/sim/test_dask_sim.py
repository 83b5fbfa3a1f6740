"""The Dask path of ``run_seeds``: a real ``dask scheduler`` and ``dask worker`` started as
subprocesses on free ports, a tiny sweep through them, and the same results as the local path
for the same seeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from safezone.sim.scenario import Scenario, run_seeds
from safezone.sim.service import bundled_communes
from tests.conftest import free_port

pytest.importorskip("covasim")
pytest.importorskip("distributed")

DASK = Path(sys.executable).parent / "dask"


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [str(DASK), *args],
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped together below
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and one single-threaded worker; yields the scheduler's address."""
    if not DASK.exists() and shutil.which("dask") is None:
        pytest.skip("the dask command is not installed")
    port, dashboard = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(
        ["scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", f"127.0.0.1:{dashboard}"],
        tmp_path / "scheduler.log",
    )  # fmt: skip
    worker = _start(
        ["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
         "--local-directory", str(tmp_path / "worker")],
        tmp_path / "worker.log",
    )  # fmt: skip
    try:
        from distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout=5) as client:
                    if client.scheduler_info()["workers"]:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or scheduler.poll() is not None:
                logs = (tmp_path / "scheduler.log").read_text() + (
                    tmp_path / "worker.log"
                ).read_text()
                pytest.fail(f"the Dask cluster did not come up:\n{logs[-3000:]}")
            time.sleep(0.5)
        yield address
    finally:
        _stop(worker)
        _stop(scheduler)


def test_a_sweep_on_a_dask_cluster_equals_the_local_sweep(cluster: str) -> None:
    communes = tuple(c for c in bundled_communes() if c.district_code == "555")
    scenario = Scenario(communes, days=15, scale=0.01)
    tables = [{"555": 0.3}, {"555": 0.6}]
    seen: list[tuple[int, int]] = []
    remote = run_seeds(
        scenario, [1, 2], tables, dask_scheduler=cluster, progress=lambda d, t: seen.append((d, t))
    )
    local = run_seeds(scenario, [1, 2], tables, workers=1)
    assert [r.seed for r in remote] == [1, 2]
    assert [asdict(r) for r in remote] == [asdict(r) for r in local]
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert sum(sum(r.baseline.infections) for r in remote) > 0  # an epidemic, not zeros
