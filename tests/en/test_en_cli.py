"""The ``safezone en`` Typer app, run through CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from typer.testing import CliRunner

from safezone.en import export
from safezone.en.cli import app
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.en.risk import cwa_default
from tests.en.en_testdata import DATA, GOOGLE_PUBLIC_KEY_B64

runner = CliRunner()
GOOGLE_FILE = str(DATA / "google_sample_diagnosis_key_file.zip")


def test_vectors_command() -> None:
    result = runner.invoke(app, ["vectors"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert "144" in result.output


def test_vectors_command_reports_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("safezone.en.crypto.encrypt_aem", lambda *a: b"\x00" * 4)
    result = runner.invoke(app, ["vectors"])
    assert result.exit_code == 1
    assert "FAILED" in result.output


def test_inspect_google_file_with_key() -> None:
    result = runner.invoke(
        app,
        [
            "inspect",
            GOOGLE_FILE,
            "--public-key",
            GOOGLE_PUBLIC_KEY_B64,
            "--key-id",
            "310",
            "--key-version",
            "v1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "region: US" in result.output
    assert "keys: 140" in result.output
    assert "VALID" in result.output
    assert "INVALID" not in result.output


def test_inspect_without_key_and_with_ids_from_file() -> None:
    result = runner.invoke(app, ["inspect", GOOGLE_FILE])
    assert result.exit_code == 0
    assert "not checked" in result.output
    result = runner.invoke(app, ["inspect", GOOGLE_FILE, "--public-key", GOOGLE_PUBLIC_KEY_B64])
    assert result.exit_code == 0
    assert "VALID" in result.output


def test_inspect_wrong_key_exits_1(tmp_path: Path) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pem_file = tmp_path / "key.pem"
    pem_file.write_bytes(pem)
    for value in (pem.decode(), str(pem_file)):
        result = runner.invoke(
            app,
            [
                "inspect",
                GOOGLE_FILE,
                "--public-key",
                value,
                "--key-id",
                "310",
                "--key-version",
                "v1",
            ],
        )
        assert result.exit_code == 1
        assert "INVALID" in result.output
    # A key under an id the file does not carry: no trusted signature, also exit 1.
    result = runner.invoke(
        app, ["inspect", GOOGLE_FILE, "--public-key", GOOGLE_PUBLIC_KEY_B64, "--key-id", "999"]
    )
    assert result.exit_code == 1


def test_inspect_bad_inputs(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"EK Export v2    ")
    result = runner.invoke(app, ["inspect", str(broken)])
    assert result.exit_code == 2
    assert "InvalidHeaderError" in result.output
    result = runner.invoke(app, ["inspect", GOOGLE_FILE, "--public-key", "not a key!"])
    assert result.exit_code == 2
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    pem = rsa_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    result = runner.invoke(app, ["inspect", GOOGLE_FILE, "--public-key", pem])
    assert result.exit_code == 2


def test_inspect_shows_v2_fields(tmp_path: Path) -> None:
    signer = export.SigningKey(ec.generate_private_key(ec.SECP256R1()), "452", "v1")
    key = TemporaryExposureKey(
        bytes(range(16)),
        2650000,
        90,
        report_type=ReportType.SELF_REPORT,
        days_since_onset_of_symptoms=-2,
    )
    path = tmp_path / "export.zip"
    path.write_bytes(
        export.write_export(
            [key], region="VN", start_timestamp=0, end_timestamp=60, signing_keys=[signer]
        )
    )
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 0
    assert "SELF_REPORT" in result.output
    assert "000102030405" in result.output


def test_risk_command(tmp_path: Path) -> None:
    document = {
        "today": "2021-03-10",
        "exposure_windows": [
            {
                "date": "2021-03-09",
                "report_type": 1,
                "infectiousness": 2,
                "calibration_confidence": 1,
                "scan_instances": [
                    {
                        "min_attenuation_db": 30,
                        "typical_attenuation_db": 35,
                        "seconds_since_last_scan": 420,
                    }
                ]
                * 2,
            },
        ],
    }
    path = tmp_path / "windows.json"
    path.write_text(json.dumps(document))
    result = runner.invoke(app, ["risk", str(path)])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert output["total_risk_level"] == 2
    assert output["most_recent_date_with_high_risk"] == "2021-03-09"
    assert output["days"][0]["exposure_minutes"] == 14
    assert output["daily_summaries"][0]["weighted_duration_sum"] == 840
    # Explicit parameters that make the same exposure low risk.
    params = cwa_default().to_json()
    params["normalizedTimePerDayToRiskLevelMapping"][1]["normalizedTimeRange"]["min"] = 50
    params["normalizedTimePerDayToRiskLevelMapping"][0]["normalizedTimeRange"]["max"] = 50
    path.write_text(json.dumps({**document, "parameters": params}))
    assert json.loads(runner.invoke(app, ["risk", str(path)]).output)["total_risk_level"] == 1
    path.write_text(json.dumps(document["exposure_windows"]))
    result = runner.invoke(app, ["risk", str(path)])
    assert result.exit_code == 0
    assert json.loads(result.output)["total_risk_level"] == 2


def test_risk_command_rejects_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    for content in (
        "{",
        json.dumps({"exposure_windows": [{"date": "x"}]}),
        json.dumps({"exposure_windows": [], "today": "yesterday"}),
    ):
        path.write_text(content)
        result = runner.invoke(app, ["risk", str(path)])
        assert result.exit_code == 2
