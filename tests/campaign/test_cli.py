"""``safezone campaign`` and ``safezone units boundaries`` commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from safezone.campaign.models import AdoptionFigure, Organisation
from safezone.cli import app
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.units.boundaries import UnitBoundary

runner = CliRunner()
COUNTS = "unit_code,app,installs,as_of\n22015,ncovi,1200,2026-11-20\n22021,ncovi,800,2026-11-20\n"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    return settings


def _figures(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AdoptionFigure)) or 0


def test_import_counts_then_coverage_in_three_formats(
    env: Settings, db: Database, tmp_path: Path
) -> None:
    file = tmp_path / "counts.csv"
    file.write_text(COUNTS, encoding="utf-8")
    first = runner.invoke(app, ["campaign", "import-counts", str(file)])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    again = runner.invoke(app, ["campaign", "import-counts", str(file)])
    assert "0 created" in again.output
    assert "2 unchanged" in again.output
    assert _figures(db) == 2
    table = runner.invoke(
        app, ["campaign", "coverage", "--unit", "555", "--app", "ncovi", "--as-of", "2026-11-21"]
    )
    assert table.exit_code == 0, table.output
    assert "Phường 1" in table.output
    as_json = runner.invoke(
        app, ["campaign", "coverage", "--unit", "555", "--format", "json", "--as-of", "2026-11-21"]
    )
    rows = json.loads(as_json.output)
    assert rows[0]["unit_code"] == "555"
    assert rows[0]["installs"] == 2000
    assert sum(r["installs"] for r in rows[1:]) == 2000
    as_csv = runner.invoke(
        app, ["campaign", "coverage", "--unit", "22015", "--format", "csv", "--as-of", "2026-11-21"]
    )
    parsed = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert parsed[0]["installs"] == "1200"
    assert parsed[0]["source"] == "official"


def test_bad_file_stores_nothing_and_names_every_line(
    env: Settings, db: Database, tmp_path: Path
) -> None:
    file = tmp_path / "counts.csv"
    file.write_text(
        COUNTS + "99999,ncovi,1,2026-11-20\n22018,ncovi,x,2026-11-20\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["campaign", "import-counts", str(file)])
    assert result.exit_code == 1
    assert "line[4].unit_code" in result.output
    assert "dòng 5, cột installs" in result.output
    assert "line 5, column installs" in result.output
    assert _figures(db) == 0
    skipped = runner.invoke(app, ["campaign", "import-counts", str(file), "--skip-bad-rows"])
    assert skipped.exit_code == 0, skipped.output
    assert "2 skipped" in skipped.output
    assert _figures(db) == 2
    written = (tmp_path / "counts.skipped.csv").read_text(encoding="utf-8-sig").splitlines()
    assert [line.split(",")[0] for line in written[1:]] == ["4", "5"]


def test_orgs_import_and_bind_reporter(
    env: Settings, db: Database, tmp_path: Path, make_user
) -> None:  # type: ignore[no-untyped-def]
    file = tmp_path / "orgs.csv"
    file.write_text(
        "code,name,kind,unit_code,headcount\nA1,Sở Y tế,agency,54,80\n", encoding="utf-8"
    )
    assert runner.invoke(app, ["campaign", "orgs", "import", str(file)]).exit_code == 0
    make_user("baocao", "org_reporter", "54")
    bound = runner.invoke(app, ["campaign", "orgs", "bind-reporter", "baocao", "A1"])
    assert bound.exit_code == 0, bound.output
    wrong = runner.invoke(app, ["campaign", "orgs", "bind-reporter", "nobody", "A1"])
    assert wrong.exit_code == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 1


def test_boundaries_import(env: Settings, db: Database, tmp_path: Path) -> None:
    square = {
        "type": "Polygon",
        "coordinates": [[[109.3, 13.1], [109.31, 13.1], [109.31, 13.11], [109.3, 13.1]]],
    }
    good = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "22015"}, "geometry": square},
            {"type": "Feature", "properties": {"ma": "22021"}, "geometry": square},
        ],
    }
    file = tmp_path / "b.geojson"
    file.write_text(json.dumps(good), encoding="utf-8")
    first = runner.invoke(app, ["units", "boundaries", "import", str(file)])
    assert first.exit_code == 0, first.output
    assert "2 created" in first.output
    assert "2 unchanged" in runner.invoke(app, ["units", "boundaries", "import", str(file)]).output
    bad = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": "99999"}, "geometry": square},
            {"type": "Feature", "properties": {"code": "22018"}, "geometry": {"type": "Point"}},
        ],
    }
    file.write_text(json.dumps(bad), encoding="utf-8")
    refused = runner.invoke(app, ["units", "boundaries", "import", str(file)])
    assert refused.exit_code == 1
    assert "features[1]" in refused.output
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(UnitBoundary)) == 2
