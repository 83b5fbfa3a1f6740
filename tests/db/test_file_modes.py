"""The demo's data stays private: directory 0700, database and its WAL/SHM files 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from safezone.cli import app
from safezone.db.engine import Database

runner = CliRunner()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The usual umask (022), under which files are created readable by everyone."""
    for name in ("SAFEZONE_DATABASE_URL", "SAFEZONE_SECRET_KEY", "SAFEZONE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _write_through_wal(path: Path) -> None:
    """Open the database and write, so that SQLite creates its -wal and -shm files."""
    database = Database(f"sqlite:///{path}")
    with database.session() as session:
        session.execute(text("CREATE TABLE IF NOT EXISTS probe (x INTEGER)"))
        session.execute(text("INSERT INTO probe VALUES (1)"))
    assert Path(f"{path}-wal").exists()
    assert Path(f"{path}-shm").exists()
    for suffix in ("", "-wal", "-shm"):
        assert mode(Path(f"{path}{suffix}")) == 0o600, suffix
    database.dispose()


@pytest.mark.usefixtures("permissive_umask")
def test_demo_creates_private_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--setup-only"])
    assert result.exit_code == 0, result.output
    assert mode(data_dir) == 0o700
    assert mode(data_dir / "secrets.json") == 0o600
    assert mode(data_dir / "safezone.db") == 0o600
    _write_through_wal(data_dir / "safezone.db")


@pytest.mark.usefixtures("permissive_umask")
def test_demo_tightens_data_an_earlier_version_left_readable(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    data_dir.mkdir(mode=0o755)
    database = data_dir / "safezone.db"
    connection = sqlite3.connect(database)  # as before: created 0644, WAL files alike
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE leftover (x)")
    connection.commit()
    assert mode(database) == 0o644
    assert mode(Path(f"{database}-wal")) == 0o644
    result = runner.invoke(app, ["demo", "--data-dir", str(data_dir), "--setup-only"])
    connection.close()
    assert result.exit_code == 0, result.output
    assert mode(data_dir) == 0o700
    assert mode(database) == 0o600
    _write_through_wal(database)


@pytest.mark.usefixtures("permissive_umask")
def test_a_new_sqlite_database_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "serve.db"
    _write_through_wal(path)
