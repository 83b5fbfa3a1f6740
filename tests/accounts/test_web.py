"""Login and logout through the form, CSRF, bearer tokens."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from safezone.accounts import service
from safezone.accounts.models import AuditEvent, User, UserSession
from safezone.db.engine import Database
from safezone.web.deps import CurrentUser
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


def _post_login(client: TestClient, username: str, password: str) -> Response:
    page = client.get("/login", headers=HTML)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        headers=HTML,
        follow_redirects=False,
    )


def _from(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, base_url="http://testserver", client=(address, 40000))


def test_unknown_throttled_and_wrong_password_look_identical(
    app: FastAPI, make_user: MakeUser
) -> None:
    """Before: 423 "account locked until HH:MM UTC" for existing accounts only."""
    make_user("lock.web")
    client = _from(app, "203.0.113.9")

    def answer(username: str, password: str) -> tuple[int, str]:
        response = _post_login(client, username, password)
        # The form echoes the name typed; everything else must match byte for byte.
        return response.status_code, response.text.replace(username, "NAME")

    assert answer("lock.web", "bad-bad-1") == answer("ghost.web", "bad-bad-1")
    for _ in range(6):
        _post_login(client, "lock.web", "bad-bad-1")
        _post_login(client, "ghost.web", "bad-bad-1")
    throttled = answer("lock.web", PASSWORD)
    assert throttled == answer("ghost.web", PASSWORD) == answer("lock.web", "bad-bad-1")
    assert throttled[0] == 429
    assert "thử lại sau 15 phút" in throttled[1]
    assert "khoá" not in throttled[1]
    assert "locked" not in throttled[1]


def test_an_attacker_cannot_lock_the_user_out(app: FastAPI, make_user: MakeUser) -> None:
    make_user("target.web")
    attacker = _from(app, "203.0.113.66")
    statuses = [_post_login(attacker, "target.web", "guess-guess").status_code for _ in range(10)]
    assert statuses == [401] * 5 + [429] * 5
    user = _from(app, "198.51.100.7")
    assert _post_login(user, "target.web", PASSWORD).status_code == 303
    assert user.get("/api/v1/me").json()["username"] == "target.web"


def test_failed_attempts_are_reported_once_at_the_next_login(
    app: FastAPI, make_user: MakeUser, db: Database
) -> None:
    make_user("notified")
    attacker = _from(app, "203.0.113.66")
    for _ in range(3):
        _post_login(attacker, "notified", "guess-guess")
    user = _from(app, "198.51.100.7")
    assert _post_login(user, "notified", PASSWORD).status_code == 303
    first = user.get("/units", headers=HTML).text
    assert "Có 3 lần đăng nhập sai vào tài khoản của bạn kể từ lần đăng nhập trước." in first
    again = user.get("/units?lang=en", headers=HTML).text
    assert "failed login" not in again
    assert "đăng nhập sai" not in again
    with db.session() as session:
        failed = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed"))
        assert len(failed.all()) == 3


def test_english_notice_uses_the_plural(app: FastAPI, make_user: MakeUser) -> None:
    make_user("notified.en")
    attacker = _from(app, "203.0.113.66")
    _post_login(attacker, "notified.en", "guess-guess")
    user = _from(app, "198.51.100.7")
    user.get("/units?lang=en", headers=HTML)
    assert _post_login(user, "notified.en", PASSWORD).status_code == 303
    assert "1 failed login attempt since your last login." in user.get("/units", headers=HTML).text


def test_a_copied_cookie_is_worthless_after_logout(app: FastAPI, make_user: MakeUser) -> None:
    """Before: the signed cookie carried the user id and worked for 8 hours after logout."""
    make_user("copied")
    victim = _from(app, "198.51.100.7")
    csrf = login(victim, "copied")
    thief = _from(app, "203.0.113.66")
    thief.cookies.update(victim.cookies)
    assert thief.get("/api/v1/me").json()["username"] == "copied"
    response = victim.post("/logout", data={"csrf_token": csrf}, headers=HTML)
    assert response.status_code in (200, 303)
    assert thief.get("/api/v1/me").status_code == 401
    assert thief.get("/declarations", headers=HTML, follow_redirects=False).status_code in (
        302,
        303,
        401,
    )


def test_a_password_change_ends_the_other_sessions(
    app: FastAPI, make_user: MakeUser, db: Database
) -> None:
    created = make_user("rotated.pw")
    laptop, phone = _from(app, "198.51.100.7"), _from(app, "198.51.100.8")
    login(laptop, "rotated.pw")
    login(phone, "rotated.pw")
    with db.session() as session:
        service.set_password(
            session, session.get_one(User, created.id), "a-new-long-password", actor="admin"
        )
    assert laptop.get("/api/v1/me").status_code == 401
    assert phone.get("/api/v1/me").status_code == 401
    login(phone, "rotated.pw", "a-new-long-password")
    assert phone.get("/api/v1/me").status_code == 200


def test_cookie_sessions_need_the_csrf_header_on_json_writes(
    app: FastAPI, make_user: MakeUser, token_for
) -> None:  # type: ignore[no-untyped-def]
    """Before: only form POSTs were checked; a JSON POST riding on the cookie was not."""
    officer = make_user("json.officer", "verifier", "555")
    browser = _from(app, "198.51.100.7")
    csrf = login(browser, "json.officer")
    body = {"unit_code": "555", "test_type": "confirmed", "test_date": None}
    refused = browser.post("/api/v1/verification/codes", json=body)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "csrf_failed"

    # Every unsafe method of every route that takes the staff user, e.g. a DELETE:
    def remove(user: CurrentUser) -> dict[str, str]:
        return {"removed_by": user.username}

    app.add_api_route("/api/v1/test-only", remove, methods=["PUT", "PATCH", "DELETE"])
    for method in ("PUT", "PATCH", "DELETE"):
        assert browser.request(method, "/api/v1/test-only").status_code == 403, method
        allowed = browser.request(method, "/api/v1/test-only", headers={"X-CSRF-Token": csrf})
        assert allowed.json() == {"removed_by": "json.officer"}, method
    wrong = browser.post(
        "/api/v1/verification/codes", json=body, headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status_code == 403
    sent = browser.post("/api/v1/verification/codes", json=body, headers={"X-CSRF-Token": csrf})
    assert sent.status_code != 403
    machine = _from(app, "198.51.100.9")
    with_token = machine.post("/api/v1/verification/codes", json=body, headers=token_for(officer))
    assert with_token.status_code == sent.status_code
    assert browser.get("/api/v1/me").status_code == 200  # reads need no header


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


def test_logging_in_again_replaces_the_session(
    app: FastAPI, make_user: MakeUser, db: Database
) -> None:
    make_user("twice")
    client = _from(app, "198.51.100.7")
    login(client, "twice")
    copy = _from(app, "203.0.113.66")
    copy.cookies.update(client.cookies)
    login(client, "twice")
    assert client.get("/api/v1/me").status_code == 200
    assert copy.get("/api/v1/me").status_code == 401
    with db.session() as session:
        assert len(session.scalars(select(UserSession)).all()) == 1


def test_a_password_change_revokes_the_api_tokens(
    client: TestClient, make_user: MakeUser, db: Database, token_for
) -> None:  # type: ignore[no-untyped-def]
    """Before: a token leaked together with the password outlived the password change."""
    created = make_user("token.owner", "verifier", "555")
    headers = token_for(created)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with db.session() as session:
        service.set_password(
            session, session.get_one(User, created.id), "a-new-long-password", actor="admin"
        )
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    with db.session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password")
        ).one()
    assert event.detail == {"sessions_ended": 0, "tokens_revoked": 1}


def _change(browser: TestClient, csrf: str, current: str, new: str, confirm: str) -> Response:
    return browser.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": current,
            "new_password": new,
            "confirm_password": confirm,
        },
        headers=HTML,
    )


def test_staff_change_their_own_password(app: FastAPI, make_user: MakeUser) -> None:
    make_user("self.service")
    laptop, phone = _from(app, "198.51.100.7"), _from(app, "198.51.100.8")
    csrf = login(laptop, "self.service")
    login(phone, "self.service")
    form = laptop.get("/account/password", headers=HTML)
    assert form.status_code == 200
    assert "Đổi mật khẩu" in form.text
    response = _change(laptop, csrf, PASSWORD, "another-long-secret", "another-long-secret")
    assert response.status_code == 200
    assert "Đã đổi mật khẩu" in response.text
    # The laptop that changed it stays logged in; every other session ends.
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    login(phone, "self.service", "another-long-secret")
    assert phone.get("/api/v1/me").status_code == 200


def test_password_change_errors_name_the_field_and_change_nothing(
    app: FastAPI, make_user: MakeUser
) -> None:
    make_user("careful.user")
    browser = _from(app, "198.51.100.7")
    csrf = login(browser, "careful.user")
    wrong = _change(browser, csrf, "not-my-password", "another-long-secret", "different-secret")
    assert wrong.status_code == 422
    assert "Mật khẩu hiện tại không đúng." in wrong.text
    assert "Hai lần nhập mật khẩu mới không khớp." in wrong.text
    assert 'id="current_password" name="current_password"' in wrong.text
    short = _change(browser, csrf, PASSWORD, "short", "short")
    assert short.status_code == 422
    assert "ít nhất" in short.text
    english = browser.post(
        "/account/password?lang=en",
        data={
            "csrf_token": csrf,
            "current_password": "nope",
            "new_password": "x" * 12,
            "confirm_password": "x" * 12,
        },
        headers=HTML,
    )
    assert "The current password is wrong." in english.text
    # The old password still works: nothing was changed.
    other = _from(app, "198.51.100.9")
    login(other, "careful.user")
    assert other.get("/api/v1/me").status_code == 200


def test_password_change_needs_login_and_csrf(app: FastAPI, make_user: MakeUser) -> None:
    make_user("csrf.pw")
    stranger = _from(app, "203.0.113.5")
    page = stranger.get("/account/password", headers=HTML, follow_redirects=False)
    assert page.status_code in (302, 303, 401)
    browser = _from(app, "198.51.100.7")
    login(browser, "csrf.pw")
    forged = _change(browser, "forged", PASSWORD, "another-long-secret", "another-long-secret")
    assert forged.status_code == 403
