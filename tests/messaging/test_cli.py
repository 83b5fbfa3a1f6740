"""``safezone messaging contacts import`` and ``send-test``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from safezone.cli import app
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.messaging import contacts
from safezone.messaging.base import vault_for

runner = CliRunner()
DATA = Path(__file__).parent / "data"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATA_DIR", str(settings.data_dir))
    return settings


def test_import_twice_then_bad_file(env: Settings, db: Database) -> None:
    first = runner.invoke(app, ["messaging", "contacts", "import", str(DATA / "contacts_ok.csv")])
    assert first.exit_code == 0, first.output
    assert "4 rows: 4 new" in first.output
    again = runner.invoke(app, ["messaging", "contacts", "import", str(DATA / "contacts_ok.csv")])
    assert "0 new, 0 updated, 4 unchanged" in again.output
    bad = runner.invoke(app, ["messaging", "contacts", "import", str(DATA / "contacts_bad.csv")])
    assert bad.exit_code == 1
    assert "line 3: phone" in bad.output
    assert "Dòng 3" in bad.output
    with db.session() as session:
        assert contacts.find(session, vault_for(env), "+84905123456") is not None


def test_send_test_dry_run_and_errors(env: Settings, template_id: int) -> None:
    shown = runner.invoke(
        app,
        [
            "messaging",
            "send-test",
            "--to",
            "0905123456",
            "--template",
            "nhac-bluezone",
            "--dry-run",
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert "UCS-2" in shown.output
    assert "Hãy cài Bluezone" in shown.output
    unknown = runner.invoke(
        app, ["messaging", "send-test", "--to", "0905123456", "--template", "nope", "--dry-run"]
    )
    assert unknown.exit_code == 1
    bad = runner.invoke(app, ["messaging", "send-test", "--to", "12", "--template", "x"])
    assert bad.exit_code == 2


def test_plan_command(env: Settings) -> None:
    answer = runner.invoke(app, ["messaging", "plan"])
    assert answer.exit_code == 0, answer.output
    assert "0 messages planned" in answer.output
