"""Login and logout through the form, CSRF, bearer tokens."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts.models import AuditEvent
from safezone.db.engine import Database
from tests.conftest import PASSWORD, MakeUser, csrf_from, login

HTML = {"Accept": "text/html"}


def test_login_and_logout(client: TestClient, make_user: MakeUser, db: Database) -> None:
    make_user("web.user", "health_officer", "555")
    csrf = login(client, "web.user")
    page = client.get("/units", headers=HTML)
    assert "web.user" in page.text
    assert "Thành phố Tuy Hòa" in page.text  # a staff member lands on their own unit
    assert client.get("/api/v1/me").json()["unit_code"] == "555"
    response = client.post(
        "/logout", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert response.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    with db.session() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["login", "logout"]


def test_login_without_csrf_token_is_refused(client: TestClient, make_user: MakeUser) -> None:
    make_user("csrf.user")
    client.get("/login", headers=HTML)
    response = client.post(
        "/login", data={"username": "csrf.user", "password": PASSWORD}, headers=HTML
    )
    assert response.status_code == 403
    assert "tải lại trang" in response.text
    response = client.post(
        "/login", data={"username": "csrf.user", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "csrf_failed"
    assert client.get("/api/v1/me").status_code == 401


def test_logout_needs_csrf(client: TestClient, make_user: MakeUser) -> None:
    make_user("stay.user")
    login(client, "stay.user")
    assert client.post("/logout", headers=HTML).status_code == 403
    assert client.get("/api/v1/me").status_code == 200


def test_wrong_password_message_in_both_languages(client: TestClient, make_user: MakeUser) -> None:
    make_user("lang.user")
    for lang, expected in (
        ("vi", "Tên đăng nhập hoặc mật khẩu không đúng."),
        ("en", "Wrong username or password."),
    ):
        page = client.get(f"/login?lang={lang}", headers=HTML)
        response = client.post(
            "/login",
            data={
                "username": "lang.user",
                "password": "nope-nope",
                "csrf_token": csrf_from(page.text),
            },
            headers=HTML,
        )
        assert response.status_code == 401
        assert expected in response.text


def test_locked_account_through_the_form(client: TestClient, make_user: MakeUser) -> None:
    make_user("lock.web")
    statuses = []
    for _ in range(6):
        page = client.get("/login", headers=HTML)
        statuses.append(
            client.post(
                "/login",
                data={
                    "username": "lock.web",
                    "password": "bad-bad-1",
                    "csrf_token": csrf_from(page.text),
                },
                headers=HTML,
            ).status_code
        )
    assert statuses == [401, 401, 401, 401, 423, 423]
    page = client.get("/login", headers=HTML)
    response = client.post(
        "/login",
        data={"username": "lock.web", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        headers=HTML,
    )
    assert response.status_code == 423
    assert "tạm khoá" in response.text


def test_open_redirects_are_ignored(client: TestClient, make_user: MakeUser) -> None:
    make_user("redirect.user")
    page = client.get("/login", headers=HTML)
    response = client.post(
        "/login",
        data={
            "username": "redirect.user",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": "//evil.example/",
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert response.headers["location"] == "/units"


def test_bearer_token_needs_no_cookie_or_csrf(
    client: TestClient, make_user: MakeUser, token_for
) -> None:  # type: ignore[no-untyped-def]
    user = make_user("machine", "verifier", "54")
    headers = token_for(user)
    assert client.get("/api/v1/me", headers=headers).json() == {
        "username": "machine",
        "role": "verifier",
        "unit_code": "54",
        "unit_name": "Tỉnh Phú Yên",
    }
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer sz_wrong"})
    assert bad.status_code == 401
    assert bad.json()["errors"][0]["code"] == "login_required"


def test_pages_redirect_to_login_when_logged_out(client: TestClient) -> None:
    response = client.post("/logout", headers=HTML, follow_redirects=False)
    # CSRF is checked first; without a session there is no token to match.
    assert response.status_code == 403
