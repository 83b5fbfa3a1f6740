"""`safezone campaign households import` and `teams save`, and the web upload."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from safezone.accounts.models import User
from safezone.campaign.models import Household, Team
from safezone.cli import app
from safezone.config import Settings
from safezone.db.engine import Database
from tests.campaign_field.conftest import COMMUNE, DATA, household_file
from tests.conftest import TEST_SECRET, MakeUser, login

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment: the test's database and secret."""
    values = {
        "SAFEZONE_DATABASE_URL": settings.database_url or "",
        "SAFEZONE_SECRET_KEY": TEST_SECRET,
        "SAFEZONE_DATA_DIR": str(settings.data_dir),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def _households(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(Household)) or 0)


def test_cli_import_reports_every_bad_row_and_stores_nothing(
    env: dict[str, str], db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_bytes((DATA / "households_bad.csv").read_bytes())
    result = runner.invoke(
        app, ["campaign", "households", "import", str(source), "--unit", COMMUNE]
    )
    assert result.exit_code == 1, result.output
    assert "line[4].members" in result.output
    assert "dòng 4, cột members" in result.output
    assert "line 4, column members" in result.output
    assert _households(db) == 0

    skipped = runner.invoke(
        app,
        ["campaign", "households", "import", str(source), "--unit", COMMUNE, "--skip-bad-rows"],
    )
    assert skipped.exit_code == 0, skipped.output
    assert "created 1" in skipped.output
    written = tmp_path / "bad.skipped.csv"
    assert written.exists()
    assert len(written.read_text(encoding="utf-8-sig").splitlines()) == 6
    assert _households(db) == 1


def test_cli_import_twice_changes_nothing_then_team_distributes(
    env: dict[str, str], db: Database, tmp_path: Path, make_user: MakeUser
) -> None:
    source = tmp_path / "good.csv"
    source.write_bytes((DATA / "households_good.csv").read_bytes())
    command = ["campaign", "households", "import", str(source), "--unit", COMMUNE]
    first = runner.invoke(app, command)
    assert first.exit_code == 0, first.output
    assert "created 4" in first.output
    second = runner.invoke(app, command)
    assert "created 0, updated 0, unchanged 4, villages created 0" in second.output
    assert _households(db) == 4
    make_user("tnv.a", "volunteer", COMMUNE)
    team = runner.invoke(
        app,
        [
            "campaign", "teams", "save", "--name", "Chi đoàn Phường 1", "--unit", COMMUNE,
            "--area", COMMUNE, "--member", "tnv.a", "--distribute",
        ],
    )  # fmt: skip
    assert team.exit_code == 0, team.output
    assert "4 households assigned" in team.output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 1


def test_web_upload_shows_errors_then_stores(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    make_user("chiendich", "campaign_officer", "555")
    token = login(client, "chiendich")
    form = client.get("/campaign/households/import", headers={"Accept": "text/html"})
    assert form.status_code == 200
    assert 'value="22015"' in form.text
    bad = client.post(
        "/campaign/households/import",
        data={"csrf_token": token, "unit_code": COMMUNE},
        files={"file": ("bad.csv", (DATA / "households_bad.csv").read_bytes(), "text/csv")},
        headers={"Accept": "text/html"},
    )
    assert bad.status_code == 422
    assert "dòng 4, cột members" in bad.text
    assert _households(db) == 0
    good = client.post(
        "/campaign/households/import",
        data={"csrf_token": token, "unit_code": COMMUNE},
        files={
            "file": ("h.csv", household_file([("", "", "1 Lê Lợi", "An", "3", "")]), "text/csv")
        },
        headers={"Accept": "text/html"},
    )
    assert good.status_code == 200
    assert 'data-testid="created">1<' in good.text
    assert _households(db) == 1
    outside = client.post(
        "/campaign/households/import",
        data={"csrf_token": token, "unit_code": "22052"},
        files={
            "file": ("h.csv", household_file([("", "", "1 Lê Lợi", "An", "3", "")]), "text/csv")
        },
        headers={"Accept": "text/html"},
    )
    assert outside.status_code == 422
    assert _households(db) == 1


def test_volunteer_app_assets(
    client: TestClient, make_user: MakeUser, token_for: Callable[[User], dict[str, str]]
) -> None:
    manifest = client.get("/volunteer/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    assert manifest.json()["scope"] == "/volunteer/"
    worker = client.get("/volunteer/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/volunteer/"
    assert "script-src 'self'" in worker.headers["content-security-policy"]
    volunteer = make_user("tnv.a", "volunteer", COMMUNE)
    page = client.get("/volunteer/", headers={**token_for(volunteer), "Accept": "text/html"})
    assert page.status_code == 200
    assert 'rel="manifest"' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP allows none without nonce
