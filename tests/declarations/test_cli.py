"""``safezone declarations`` commands."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from safezone.cli import app
from safezone.config import Settings
from safezone.declarations.service import Policy

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    return settings


def test_verify_pass_exit_codes(env: Settings) -> None:
    token = Policy.from_settings(env).keys.passes.issue(42, dt.date(2026, 11, 28), "high", 1)
    valid = runner.invoke(app, ["declarations", "verify-pass", token, "--today", "2026-11-28"])
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.output) == {
        "valid": True,
        "reason": None,
        "declaration_id": 42,
        "issued": "2026-11-28",
        "expires": "2026-11-29",
        "risk": "high",
    }
    expired = runner.invoke(app, ["declarations", "verify-pass", token, "--today", "2026-12-01"])
    assert expired.exit_code == 1
    assert json.loads(expired.output)["reason"] == "expired"
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert runner.invoke(app, ["declarations", "verify-pass", tampered]).exit_code == 1
    assert runner.invoke(app, ["declarations", "verify-pass", "junk"]).exit_code == 1


def test_pass_keys_and_purge(env: Settings) -> None:
    keys = runner.invoke(app, ["declarations", "pass-keys"])
    assert keys.exit_code == 0
    assert len(keys.output.split()) == 1
    purged = runner.invoke(app, ["declarations", "purge"])
    assert purged.exit_code == 0, purged.output
    assert "purged 0 declarations" in purged.output
