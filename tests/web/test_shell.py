"""Health check, metrics, OpenAPI, languages, body limit, request logs, translations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from fastapi.testclient import TestClient

from safezone.app import create_app
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.web import i18n

HTML = {"Accept": "text/html"}
SRC = Path(__file__).resolve().parents[2] / "src" / "safezone"


def test_healthz_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_503_when_the_database_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with TestClient(create_app(settings, broken)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_metrics_count_requests_by_route_template(
    client: TestClient,
    make_user,
    token_for,  # type: ignore[no-untyped-def]
) -> None:
    client.get("/api/v1/units/555")
    body = client.get("/metrics", headers=token_for(make_user("metrics.admin"))).text
    assert (
        'safezone_http_requests_total{method="GET",route="/api/v1/units/{code}",status="200"}'
        in body
    )


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "/api/v1/units/{code}" in schema["paths"]
    assert client.get("/docs").status_code == 200


def test_vietnamese_by_default_and_english_remembered(client: TestClient) -> None:
    assert "Dân số" in client.get("/units/54", headers=HTML).text
    english = client.get("/units/54?lang=en", headers=HTML)
    assert "Population" in english.text
    assert "872,964" in english.text
    assert "lang=en" in english.headers["set-cookie"]
    assert "Population" in client.get("/units/555", headers=HTML).text
    assert "Dân số" in client.get("/units/555?lang=vi", headers=HTML).text


def test_unknown_language_falls_back_to_vietnamese(client: TestClient) -> None:
    assert '<html lang="vi">' in client.get("/units/54?lang=fr", headers=HTML).text


def test_unknown_unit_page_is_a_translated_404(client: TestClient) -> None:
    response = client.get("/units/nope?lang=en", headers=HTML)
    assert response.status_code == 404
    assert "No administrative unit has code" in response.text


def test_oversized_body_is_refused(settings: Settings, db: Database) -> None:
    small = settings.model_copy(
        update={"web": settings.web.model_copy(update={"max_body_bytes": 2048})}
    )
    with TestClient(create_app(small, db)) as client:
        response = client.post(
            "/login",
            content=b"x" * 5000,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "body_too_large"


def test_request_log_has_no_query_path_values_or_addresses(
    client: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    from safezone.logs import configure_logging

    configure_logging("INFO", json=True)
    client.get("/api/v1/units/22015?secret=054085001234")
    lines = [line for line in capsys.readouterr().err.splitlines() if '"request"' in line]
    assert lines, "no request log line"
    assert '"route": "/api/v1/units/{code}"' in lines[-1]
    for forbidden in ("22015", "054085001234", "testclient", "127.0.0.1"):
        assert forbidden not in lines[-1]


def test_every_translatable_string_has_a_vietnamese_translation() -> None:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = {
        message if isinstance(message, str) else (message[0], message[1])
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(SRC),
            method_map=method_map,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
        )
    }
    catalog = i18n.translations("vi")

    def untranslated(message: str | tuple[str, str]) -> bool:
        if isinstance(message, str):
            return catalog.gettext(message) == message
        return catalog.ngettext(message[0], message[1], 1) == message[0]  # plural entries

    missing = sorted(str(m) for m in found if untranslated(m))
    assert not missing, f"missing Vietnamese translations: {missing}"
    assert found, "the extractor found nothing"


def test_role_names_are_translated() -> None:
    i18n.set_locale("en")
    assert i18n.gettext("health_officer") == "Health officer"
    i18n.set_locale("vi")
    assert i18n.gettext("health_officer") == "Cán bộ y tế"
    assert re.fullmatch(r"872\.964", i18n.format_number(872964))
