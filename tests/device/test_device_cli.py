"""``safezone device``: status, and two ``run`` processes meeting over simulated controllers
served on loopback TCP (bumble transports), as on a laptop without a dongle."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from safezone.cli import app
from tests.conftest import free_port


def test_status_of_a_new_device(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["device", "status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "keys: 0" in result.output
    assert "never checked" in result.output
    assert (tmp_path / "device.key").exists()


def test_a_state_with_a_foreign_key_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["device", "status", "--state-dir", str(tmp_path)])
    (tmp_path / "state.bin").write_bytes(b"\x01" + bytes(60))
    result = runner.invoke(app, ["device", "status", "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "cannot read the state" in result.output


def test_upload_to_an_unreachable_server_fails_cleanly(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "device",
            "upload",
            "--server",
            f"http://127.0.0.1:{free_port()}",
            "--code",
            "12345678",
            "--include-today",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 1
    assert "upload failed" in result.output


@pytest.mark.slow
def test_two_processes_meet_over_simulated_controllers(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    command = [sys.executable, "-m", "safezone", "device"]
    link = subprocess.Popen(
        [*command, "sim-link", f"tcp-server:_:{ports[0]}@0,0", f"tcp-server:_:{ports[1]}@1.5,0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert link.stdout is not None
        assert b"ready" in link.stdout.readline()  # both transports listen
        runs = [
            subprocess.Popen(
                [
                    *command,
                    "run",
                    "--server",
                    f"http://127.0.0.1:{free_port()}",
                    "--transport",
                    f"tcp-client:127.0.0.1:{port}",
                    "--state-dir",
                    str(tmp_path / str(port)),
                    "--scan-seconds",
                    "0.5",
                    "--scan-period",
                    "1",
                    "--duration",
                    "8",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for port in ports
        ]
        for run in runs:
            output, _ = run.communicate(timeout=60)
            assert run.returncode == 0, output.decode()
            assert b"check failed" in output  # no server there: reported, not fatal
    finally:
        link.terminate()
        link.wait(timeout=10)
    for port in ports:
        status = subprocess.run(
            [*command, "status", "--json", "--state-dir", str(tmp_path / str(port))],
            capture_output=True,
            check=True,
        )
        info = json.loads(status.stdout)
        assert info["keys"] == 1
        assert info["sightings"] >= 3  # one per scan of the other device
        assert info["distinct_rpis"] == 1


def test_check_refuses_bad_risk_parameters(tmp_path: Path) -> None:
    bad = tmp_path / "risk.json"
    bad.write_text('{"minutesAtAttenuationWeights": [{"range": "nope"}]}')
    result = CliRunner().invoke(
        app,
        [
            "device",
            "check",
            "--server",
            "http://127.0.0.1:9",
            "--risk",
            str(bad),
            "--state-dir",
            str(tmp_path / "state"),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "bad risk parameters" in result.output
