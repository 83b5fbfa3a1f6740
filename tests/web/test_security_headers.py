"""Security headers, Secure cookies over HTTPS, and who may read /metrics."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from safezone.app import create_app
from safezone.config import Settings, WebConfig
from safezone.db.engine import Database
from tests.conftest import MakeUser, login

HTML = {"Accept": "text/html"}


def _with_web(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"web": settings.web.model_copy(update=changes)})


@pytest.mark.parametrize("path", ["/units", "/login", "/api/v1/units/555", "/nope", "/healthz"])
def test_every_response_carries_the_security_headers(client: TestClient, path: str) -> None:
    headers = client.get(path, headers=HTML).headers
    policy = headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src is not None
    assert "'unsafe-inline'" not in script_src.group(1)
    assert "'unsafe-eval'" not in script_src.group(1)
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in headers  # plain HTTP: no HSTS


def test_the_script_nonce_changes_with_every_response(client: TestClient) -> None:
    nonces = {
        re.search(
            r"'nonce-([^']+)'", client.get("/login").headers["content-security-policy"]
        ).group(1)  # type: ignore[union-attr]
        for _ in range(3)
    }
    assert len(nonces) == 3


def test_plain_http_cookies_are_not_secure(client: TestClient, make_user: MakeUser) -> None:
    make_user("plain.user")
    client.get("/login?lang=en", headers=HTML)
    page = client.get("/login", headers=HTML)
    assert "secure" not in page.headers.get("set-cookie", "").lower()


@pytest.mark.parametrize("field", ["https", "secure_cookies"])
def test_https_makes_every_cookie_secure_and_sends_hsts(
    settings: Settings, db: Database, make_user: MakeUser, field: str
) -> None:
    make_user("tls.user")
    web = WebConfig.model_validate({**settings.web.model_dump(exclude={"https"}), field: True})
    app = create_app(settings.model_copy(update={"web": web}), db)
    with TestClient(app, base_url="https://testserver") as client:
        first = client.get("/login?lang=en", headers=HTML)
        cookies = first.headers.get_list("set-cookie")
        assert len(cookies) == 2  # language and session (its CSRF token)
        assert all("; secure" in cookie.lower() for cookie in cookies)
        assert first.headers["strict-transport-security"].startswith("max-age=")
        login(client, "tls.user")
        assert client.get("/api/v1/me").status_code == 200


def test_https_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEZONE_WEB__HTTPS", "true")
    assert Settings().web.https
    monkeypatch.delenv("SAFEZONE_WEB__HTTPS")
    monkeypatch.setenv("SAFEZONE_WEB__SECURE_COOKIES", "true")  # the older name still works
    assert Settings().web.https
    assert Settings().web.secure_cookies


def test_metrics_from_networks_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEZONE_WEB__METRICS_FROM", '["10.0.0.0/8"]')
    assert Settings().web.metrics_from == ["10.0.0.0/8"]
    monkeypatch.setenv("SAFEZONE_WEB__METRICS_FROM", '["not-a-network"]')
    with pytest.raises(ValueError, match="not-a-network"):
        Settings()


def _metrics(app, address: str, headers: dict[str, str] | None = None) -> int:  # type: ignore[no-untyped-def]
    with TestClient(app, client=(address, 40000)) as client:
        return client.get("/metrics", headers=headers or {}).status_code


def test_metrics_need_an_admin_or_an_allowed_address(
    settings: Settings, db: Database, make_user: MakeUser, token_for
) -> None:  # type: ignore[no-untyped-def]
    """Before: /metrics answered anyone."""
    app = create_app(settings, db)
    admin = token_for(make_user("ops.admin", "admin", "54"))
    officer = token_for(make_user("ops.officer", "health_officer", "555"))
    assert _metrics(app, "203.0.113.5") == 403
    assert _metrics(app, "203.0.113.5", officer) == 403
    assert _metrics(app, "203.0.113.5", admin) == 200
    assert _metrics(app, "127.0.0.1") == 200
    assert _metrics(app, "::1") == 200
    only_token = create_app(_with_web(settings, metrics_from=[]), db)
    assert _metrics(only_token, "127.0.0.1") == 403
    assert _metrics(only_token, "127.0.0.1", admin) == 200
    monitoring = create_app(_with_web(settings, metrics_from=["10.1.0.0/16"]), db)
    assert _metrics(monitoring, "10.1.2.3") == 200
    assert _metrics(monitoring, "127.0.0.1") == 403


def test_admin_session_reads_metrics_too(client: TestClient, make_user: MakeUser) -> None:
    make_user("ops.browser", "admin", "54")
    assert client.get("/metrics").status_code == 403
    login(client, "ops.browser")
    assert client.get("/metrics").status_code == 200
