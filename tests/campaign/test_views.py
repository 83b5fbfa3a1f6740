"""Dashboards: the map where boundaries exist, sorted bars otherwise; CSV of the same numbers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from safezone.accounts.models import User
from safezone.campaign import service
from safezone.db.engine import Database
from safezone.units.boundaries import import_geojson
from tests.conftest import MakeUser

HTML = {"Accept": "text/html"}
COUNTS = b"unit_code,app,installs,as_of\n22015,ncovi,1200,2026-11-20\n22021,ncovi,800,2026-11-20\n"


def test_coverage_page_bars_then_map(
    client: TestClient,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    headers = {**token_for(make_user("canbo", "campaign_officer", "555")), **HTML}
    with db.session() as session:
        service.import_counts(session, COUNTS)
    page = client.get("/campaign?unit=555&app=ncovi", headers=headers)
    assert page.status_code == 200
    assert 'id="coverage-bars"' in page.text
    assert "Phường 1" in page.text
    square = {
        "type": "Polygon",
        "coordinates": [[[109.3, 13.1], [109.31, 13.1], [109.31, 13.11], [109.3, 13.1]]],
    }
    collection = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"code": "22015"}, "geometry": square}],
    }
    with db.session() as session:
        import_geojson(session, json.dumps(collection).encode())
    mapped = client.get("/campaign?unit=555&app=ncovi", headers=headers)
    assert 'id="coverage-map"' in mapped.text
    assert 'class="chart"' in mapped.text  # drawn, not the "no data" notice
    assert "choropleth" in mapped.text


def test_every_number_as_csv(
    client: TestClient,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    headers = token_for(make_user("yteto", "health_officer", "555"))
    with db.session() as session:
        service.import_counts(session, COUNTS)
    answer = client.get(
        "/api/v1/campaign/coverage?unit=555&app=ncovi&format=csv&as_of=2026-11-21", headers=headers
    )
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0]["unit_code"] == "555"
    assert int(rows[0]["installs"]) == sum(int(r["installs"]) for r in rows[1:]) == 2000
    as_json = client.get(
        "/api/v1/campaign/coverage?unit=555&app=ncovi&as_of=2026-11-21", headers=headers
    ).json()
    assert as_json["unit"]["installs"] == 2000
    assert as_json["unit"]["source"] == "official"
    for path in ("communes", "behind", "rankings", "trend"):
        got = client.get(f"/api/v1/campaign/{path}?unit=555&format=csv", headers=headers)
        assert got.status_code == 200, path
        assert got.headers["content-type"].startswith("text/csv"), path
