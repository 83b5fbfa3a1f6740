"""The command line, run in-process on a SQLite data directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from safezone.accounts.models import ApiToken, User
from safezone.cli import app
from safezone.config import load_settings
from safezone.db.engine import Database
from safezone.units.models import Unit

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SAFEZONE_DATABASE_URL", "SAFEZONE_SECRET_KEY", "SAFEZONE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def _count(data_dir: Path, model: type) -> int:
    database = Database(load_settings(data_dir=data_dir).sqlalchemy_url)
    with database.session() as session:
        count = session.scalar(select(func.count()).select_from(model)) or 0
    database.dispose()
    return count


def test_demo_setup_is_repeatable_and_shared_with_other_commands(data_dir: Path) -> None:
    first = runner.invoke(
        app,
        [
            "demo",
            "--data-dir",
            str(data_dir),
            "--setup-only",
            "--admin-password",
            "demo-admin-password",
        ],
    )
    assert first.exit_code == 0, first.output
    assert "demo-admin-password" in first.output
    assert "122 units" in first.output
    second = runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--setup-only"])
    assert second.exit_code == 0, second.output
    assert "unchanged" in second.output
    assert _count(data_dir, Unit) == 122 + 4  # + the door-to-door demo's residential groups
    # Another command with the same data dir sees the demo's users and database.
    token = runner.invoke(app, ["users", "token", "yte.tuyhoa", "--data-dir", str(data_dir)])
    assert token.exit_code == 0, token.output
    assert token.output.startswith("sz_")
    assert _count(data_dir, ApiToken) == 1
    shown = runner.invoke(app, ["units", "show", "555", "--data-dir", str(data_dir)])
    assert "155.921" in shown.output  # Vietnamese grouping, as on the pages


def test_users_create_and_errors(data_dir: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade", "--data-dir", str(data_dir)]).exit_code == 0
    assert (
        runner.invoke(
            app, ["units", "import", "--source", "bundled", "--data-dir", str(data_dir)]
        ).exit_code
        == 0
    )
    ok = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "cli.user",
            "--role",
            "verifier",
            "--unit",
            "54",
            "--data-dir",
            str(data_dir),
        ],
        input="a-long-password\na-long-password\n",
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(
        app,
        [
            "users",
            "create",
            "--username",
            "cli.user2",
            "--role",
            "pilot",
            "--unit",
            "0000",
            "--password",
            "a-long-password",
            "--data-dir",
            str(data_dir),
        ],
    )
    assert bad.exit_code == 1
    assert "invalid_role" in bad.output
    assert "unit_not_found" in bad.output
    assert _count(data_dir, User) == 1
    assert (
        runner.invoke(app, ["users", "token", "nobody", "--data-dir", str(data_dir)]).exit_code == 1
    )


def test_units_import_file_all_or_nothing(data_dir: Path, tmp_path: Path) -> None:
    early = runner.invoke(
        app, ["units", "import", "--source", "bundled", "--data-dir", str(data_dir)]
    )
    assert early.exit_code == 2
    assert "safezone db upgrade" in early.output
    runner.invoke(app, ["db", "upgrade", "--data-dir", str(data_dir)])
    runner.invoke(app, ["units", "import", "--source", "bundled", "--data-dir", str(data_dir)])
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code,name,level,type,parent_code,population,households\n"
        "901,Good,district,huyện,54,1,1\n902,Bad,district,huyện,404,1,1\n"
    )
    result = runner.invoke(app, ["units", "import", str(bad), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "unknown_parent" in result.output
    assert _count(data_dir, Unit) == 122
    missing = tmp_path / "missing.csv"
    missing.write_text("code,name\n1,x\n")
    result = runner.invoke(app, ["units", "import", str(missing), "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "missing_column" in result.output
    good = tmp_path / "good.csv"
    good.write_text(
        "code,name,level,type,parent_code,population,households\n901,Mới,district,huyện,54,10,3\n"
    )
    result = runner.invoke(app, ["units", "import", str(good), "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    assert _count(data_dir, Unit) == 123


def test_unreachable_database_is_one_clear_line(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "SAFEZONE_DATABASE_URL", "postgresql://nobody:hunter2@127.0.0.1:1/none?connect_timeout=2"
    )
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "SAFEZONE_DATABASE_URL: cannot connect" in result.output
    assert "hunter2" not in result.output


def test_bad_setting_stops_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", "oracle://x")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "SAFEZONE_DATABASE_URL" in result.output


def test_serve_refuses_the_demo_key(data_dir: Path) -> None:
    runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--setup-only"])
    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "SAFEZONE_SECRET_KEY" in result.output
    assert "demo" in result.output


def test_import_source_validation(data_dir: Path) -> None:
    result = runner.invoke(app, ["units", "import", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    result = runner.invoke(
        app, ["units", "import", "--source", "atlantis", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2
    assert "unknown source" in result.output


def test_vietnam_provinces_source_without_the_package(data_dir: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("vietnam_provinces") is not None:
        pytest.skip("vietnam-provinces is installed here")
    runner.invoke(app, ["db", "upgrade", "--data-dir", str(data_dir)])
    result = runner.invoke(
        app, ["units", "import", "--source", "vietnam-provinces", "--data-dir", str(data_dir)]
    )
    assert result.exit_code == 2
    assert "pip install vietnam-provinces" in result.output
