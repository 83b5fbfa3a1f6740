"""The command line as a person reads it: every --help, labelled figures, whole tables, the demo's
admin password on request, `make demo PORT=`."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from safezone.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def _commands(command: Any, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, [*path, name])


COMMANDS = list(_commands(get_command(app), []))


def test_the_walk_finds_every_command() -> None:
    assert len(COMMANDS) > 25
    assert ["en", "risk"] in COMMANDS
    assert ["demo"] in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "safezone")
def test_help_has_no_bool_metavar_and_no_markup(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "<bool>" not in result.output
    assert "``" not in result.output
    assert not re.search(r"\w::", result.output)  # reStructuredText literal blocks
    if "--data-dir" in result.output:
        # The help names the default, in whatever lines the table wraps it into.
        flat = " ".join(line.strip(" │") for line in result.output.splitlines())
        assert "$SAFEZONE_DATA_DIR or ./safezone-data" in re.sub(r"\s+", " ", flat)


def test_options_with_a_value_keep_their_type() -> None:
    output = runner.invoke(app, ["demo", "--help"], terminal_width=100).output
    assert re.search(r"--port\s+<int>", output)
    assert re.search(r"--setup-only\s+Prepare", output)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SAFEZONE_DATABASE_URL", "SAFEZONE_SECRET_KEY", "SAFEZONE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    directory = tmp_path / "data"
    first = runner.invoke(app, ["demo", "--data-dir", str(directory), "--setup-only"])
    assert first.exit_code == 0, first.output
    return directory


def _admin_password(output: str) -> str | None:
    match = re.search(r"mật khẩu admin: (\S+)", output)
    return match.group(1) if match else None


def test_demo_prints_a_new_admin_password_on_request(data_dir: Path) -> None:
    again = runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--setup-only"])
    assert again.exit_code == 0
    assert _admin_password(again.output) is None
    assert "--reset-admin-password" in again.output
    reset = runner.invoke(
        app, ["demo", "--data-dir", str(data_dir), "--setup-only", "--reset-admin-password"]
    )
    assert reset.exit_code == 0, reset.output
    password = _admin_password(reset.output)
    assert password
    assert len(password) >= 16
    other = runner.invoke(
        app, ["demo", "--data-dir", str(data_dir), "--setup-only", "--reset-admin-password"]
    )
    assert _admin_password(other.output) not in (None, password)

    from fastapi.testclient import TestClient

    from safezone.app import create_app
    from safezone.config import load_settings
    from safezone.db.engine import Database

    settings = load_settings(data_dir=data_dir)
    database = Database(settings.sqlalchemy_url)
    with TestClient(create_app(settings, database)) as client:
        page = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        answer = client.post(
            "/login",
            data={
                "username": "admin",
                "password": _admin_password(other.output) or "",
                "csrf_token": csrf.group(1),
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303
    database.dispose()


def test_units_show_labels_its_figures(data_dir: Path) -> None:
    result = runner.invoke(app, ["units", "show", "555", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "Thành phố Tuy Hòa (mã / code 555)" in flat
    assert "dân số / population 155.921" in flat
    assert "hộ / households 45.895" in flat
    assert "Phường 1" in result.output
    assert "phường │" not in result.output  # the type is in the name, not repeated


def test_users_list_shows_whole_names_in_80_columns(data_dir: Path) -> None:
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "--data-dir",
            str(data_dir),
            "--username",
            "can.bo.y.te.xa.hoa.hiep.trung",
            "--role",
            "health_officer",
            "--unit",
            "22261",
            "--full-name",
            "Nguyễn Thị Phương Thảo Hoàng Lan",
            "--password",
            "a long password!",
        ],
    )
    assert created.exit_code == 0, created.output
    result = runner.invoke(app, ["users", "list", "--data-dir", str(data_dir)], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "can.bo.y.te.xa.hoa.hiep.trung" in result.output
    assert "Nguyễn Thị Phương Thảo Hoàng Lan" in result.output
    assert "22261 Thị trấn Hòa Hiệp Trung" in result.output
    assert "…" not in result.output


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_demo_takes_a_port() -> None:
    def dry_run(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", "-C", str(ROOT), "demo", *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    assert re.search(r"safezone demo --port 8100\s*$", dry_run("PORT=8100"), re.MULTILINE)
    assert re.search(r"safezone demo\s*$", dry_run(), re.MULTILINE)
    assert "--host 0.0.0.0 --data-dir /tmp/x --reset-admin-password" in dry_run(
        "HOST=0.0.0.0", "DATA_DIR=/tmp/x", "DEMO_ARGS=--reset-admin-password"
    )
