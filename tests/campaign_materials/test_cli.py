"""The materials commands end to end on a migrated database (files written, paths printed)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from safezone.cli import app
from safezone.config import Settings
from safezone.db.engine import Database

from .conftest import COMMUNE, DISTRICT, seed_figures

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI sees the test database; files land in ``tmp_path``."""
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("SAFEZONE_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(tmp_path)
    with db.session() as session:
        seed_figures(session, {(COMMUNE, "ncovi"): 1600, (COMMUNE, "bluezone"): 2300})
    return tmp_path


def test_posters_for_all_communes_of_a_district(env: Path) -> None:
    result = runner.invoke(app, ["campaign", "posters", "--unit", DISTRICT, "--all-communes"])
    assert result.exit_code == 0, result.output
    target = env / f"posters-{DISTRICT}-A4.zip"
    assert str(target) in result.output
    names = zipfile.ZipFile(target).namelist()
    assert f"poster-{COMMUNE}-A4.pdf" in names
    assert len(names) == 16  # Tuy Hòa's communes


def test_report_to_a_file_and_bad_input(env: Path) -> None:
    out = env / "r.xlsx"
    result = runner.invoke(
        app, ["campaign", "report", "--unit", COMMUNE, "--period", "day", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(out.read_bytes()))
    assert "Độ phủ" in book.sheetnames
    result = runner.invoke(app, ["campaign", "report", "--unit", COMMUNE, "--period", "month"])
    assert result.exit_code == 1
    assert "period" in result.output
    result = runner.invoke(app, ["campaign", "report", "--unit", "99999"])
    assert result.exit_code == 1


def test_dhis2_dry_run_prints_the_payload(env: Path) -> None:
    mapping = Path(__file__).parent / "data" / "dhis2_mapping.json"
    result = runner.invoke(
        app, ["dhis2", "push", "--period", "20261120", "--dry-run", "--mapping", str(mapping)]
    )
    assert result.exit_code == 0, result.output
    start = result.stdout.index("{")
    body = json.loads(result.stdout[start:])
    assert {item["orgUnit"] for item in body["dataValues"]} == {"DiszpKrYNg8", "Rp268JB6Ne4"}
