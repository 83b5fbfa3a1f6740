"""``safezone device``: status, and two ``run`` processes meeting over simulated controllers
served on loopback TCP (bumble transports), as on a laptop without a dongle."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from safezone.cli import app
from safezone.device import cli
from safezone.device.client import ServerClient
from safezone.device.store import DeviceKeyStore, DeviceState, StateFile
from safezone.en.device import EncounterLog, KeyStore
from safezone.en.export import SigningKey, write_export
from tests.conftest import free_port
from tests.device.test_device_client import FakeServer, _publish_key


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
                    "12",  # both processes overlap for several scans even on a busy machine
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


def _fake_server(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    def make(url: str, api_key: str, region: str, authority: str) -> ServerClient:
        http = httpx.Client(transport=httpx.MockTransport(server), base_url=url)
        return ServerClient(http, api_key=api_key, health_authority=authority, region="VN")

    monkeypatch.setattr(cli, "_server", make)


def test_check_status_and_upload_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The device met someone yesterday from 10:00 to 11:00, 1 m away, one scan every 5 min.
    now = datetime.now(UTC)
    ten = datetime.combine(now.date() - timedelta(days=1), dt_time(10), tzinfo=UTC).timestamp()
    other = KeyStore()
    keys, log = DeviceKeyStore(), EncounterLog()
    for n in range(13):
        data = other.advertisement(ten + n * 300)
        log.record_service_data(data, -60, ten + n * 300)
    state_file = StateFile(tmp_path)
    state_file.save(DeviceState(keys=keys, log=log), now.timestamp())
    private = ec.generate_private_key(ec.SECP256R1())
    server = FakeServer()
    _publish_key(server, private)
    export = write_export(
        other.keys_for_upload(now.timestamp()),
        region="VN",
        start_timestamp=int(now.timestamp()) - 86400,
        end_timestamp=int(now.timestamp()),
        signing_keys=[SigningKey(private, "452", "v1")],
    )
    server.files = {"VN/index.txt": b"VN/a.zip\n", "VN/a.zip": export}
    _fake_server(monkeypatch, server)
    runner = CliRunner()
    base = ["--server", "http://server", "--state-dir", str(tmp_path)]
    checked = runner.invoke(app, ["device", "check", *base])
    assert checked.exit_code == 0, checked.output
    day = (now.date() - timedelta(days=1)).strftime("%d/%m/%Y")
    assert f"Ngày {day}: khoảng 65 phút, rất gần — nguy cơ cao." in checked.output
    assert f"On {day}: about 65 minutes, very close — high risk." in checked.output
    status = runner.invoke(app, ["device", "status", "--state-dir", str(tmp_path)])
    assert "last check" in status.output
    assert f"On {day}" in status.output
    uploaded = runner.invoke(
        app, ["device", "upload", "--code", "12345678", "--include-today", *base]
    )
    assert uploaded.exit_code == 0, uploaded.output
    assert "Uploaded 3 keys" in uploaded.output
    assert [p for p, _, _ in server.requests][-3:] == [
        "/api/verify",
        "/api/certificate",
        "/v1/publish",
    ]


@pytest.mark.slow
def test_run_in_process_against_a_simulated_controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    link = subprocess.Popen(
        [sys.executable, "-m", "safezone", "device", "sim-link", f"tcp-server:_:{port}@0,0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert link.stdout is not None
        assert b"ready" in link.stdout.readline()
        _fake_server(monkeypatch, FakeServer())
        where = ["--server", "http://server", "--state-dir", str(tmp_path)]
        timing = ["--duration", "2", "--scan-seconds", "0.2", "--scan-period", "0.5"]
        transport = ["--transport", f"tcp-client:127.0.0.1:{port}"]
        result = CliRunner().invoke(app, ["device", "run", *where, *transport, *timing])
    finally:
        link.terminate()
        link.wait(timeout=10)
    assert result.exit_code == 0, result.output
    assert "No risky exposure" in result.output  # checked once, at the first cycle
    status = CliRunner().invoke(app, ["device", "status", "--json", "--state-dir", str(tmp_path)])
    assert json.loads(status.output)["keys"] == 1


def test_run_on_a_transport_that_cannot_open_says_so(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    result = CliRunner().invoke(
        app,
        [
            "device",
            "run",
            "--server",
            "http://server",
            "--state-dir",
            str(tmp_path),
            "--transport",
            f"tcp-client:127.0.0.1:{port}",
            "--duration",
            "1",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot use the Bluetooth transport" in result.output


def test_a_calibration_outside_the_protocol_s_bytes_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "device",
            "check",
            "--server",
            "http://server",
            "--rssi-correction",
            "500",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "bad calibration" in result.output


def test_check_and_upload_wait_for_a_running_device(tmp_path: Path) -> None:
    runner = CliRunner()
    with StateFile(tmp_path).lock():  # what `safezone device run` holds while it runs
        for command in (
            ["check", "--server", "http://server"],
            ["upload", "--server", "http://server", "--code", "12345678"],
        ):
            result = runner.invoke(app, ["device", *command, "--state-dir", str(tmp_path)])
            assert result.exit_code == 3, result.output
            assert "stop it first" in result.output
        assert runner.invoke(app, ["device", "status", "--state-dir", str(tmp_path)]).exit_code == 0


def test_a_scan_longer_than_its_period_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "device",
            "run",
            "--server",
            "http://server",
            "--scan-seconds",
            "10",
            "--scan-period",
            "5",
            "--state-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "bad settings" in result.output
