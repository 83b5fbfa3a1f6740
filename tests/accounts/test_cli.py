"""``safezone users password`` and ``users logout`` end the user's sessions."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from safezone.cli import app as cli_app
from safezone.config import Settings
from tests.conftest import MakeUser, login

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    return settings


def test_password_and_logout_commands_end_sessions(
    env: Settings, app: FastAPI, make_user: MakeUser
) -> None:
    make_user("cli.user", "health_officer", "555")
    with TestClient(app) as client:
        login(client, "cli.user")
        result = runner.invoke(
            cli_app, ["users", "password", "cli.user", "--password", "a-fresh-long-password"]
        )
        assert result.exit_code == 0, result.output
        assert client.get("/api/v1/me").status_code == 401
        login(client, "cli.user", "a-fresh-long-password")
        assert client.get("/api/v1/me").status_code == 200
        result = runner.invoke(cli_app, ["users", "logout", "cli.user"])
        assert result.exit_code == 0, result.output
        assert "ended 1 sessions" in result.output
        assert client.get("/api/v1/me").status_code == 401
    short = runner.invoke(cli_app, ["users", "password", "cli.user", "--password", "short"])
    assert short.exit_code == 1
    assert "password_too_short" in short.output
    assert runner.invoke(cli_app, ["users", "logout", "nobody"]).exit_code == 1
