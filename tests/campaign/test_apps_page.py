"""Admins edit the apps catalogue on a page (it was the API's PATCH only)."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts.models import AuditEvent
from safezone.campaign.models import CampaignApp
from safezone.db.engine import Database
from tests.conftest import MakeUser, csrf_from, login

HTML = {"Accept": "text/html"}


def _app(db: Database, code: str) -> tuple[str, str, int, bool]:
    with db.read_session() as session:
        app = session.get_one(CampaignApp, code)
        return app.name, app.android_url, app.position, app.active


def test_admin_edits_an_app_and_the_change_is_recorded(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    login(client, make_user("admin.tinh", "admin", "54").username)
    page = client.get("/campaign/apps", headers=HTML)
    assert page.status_code == 200
    assert 'action="/campaign/apps/bluezone"' in page.text
    saved = client.post(
        "/campaign/apps/bluezone",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Bluezone",
            "purpose_vi": "Cảnh báo tiếp xúc gần",
            "android_url": "https://play.google.com/store/apps/details?id=com.mic.bluezone",
            "ios_url": "",
            "position": "7",
            "countable_per_unit": "1",
            # "active" unticked: the app is no longer promoted
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert _app(db, "bluezone") == (
        "Bluezone",
        "https://play.google.com/store/apps/details?id=com.mic.bluezone",
        7,
        False,
    )
    with db.read_session() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.app.update")
        ).one()
    assert (event.actor, event.object_id, event.detail["active"]) == (
        "admin.tinh",
        "bluezone",
        "False",
    )


def test_bad_fields_are_named_and_nothing_changes(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    before = _app(db, "ncovi")
    csrf = login(client, make_user("admin.tinh", "admin", "54").username)
    response = client.post(
        "/campaign/apps/ncovi",
        data={
            "csrf_token": csrf,
            "name": "NCOVI mới",
            "android_url": "http://play.google.com/",
            "position": "abc",
            "active": "1",
        },
        headers=HTML,
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Liên kết Google Play: Liên kết phải bắt đầu bằng https://." in text
    assert "Thứ tự: Từ 0 đến 1000." in text
    assert 'value="NCOVI mới"' in text  # the form keeps what was typed
    assert _app(db, "ncovi") == before
    english = client.post(
        "/campaign/apps/ncovi?lang=en",
        data={"csrf_token": csrf, "name": "", "position": "1"},
        headers=HTML,
    )
    assert "Name: Bad length." in html.unescape(english.text)
    assert (
        client.post(
            "/campaign/apps/nope", data={"csrf_token": csrf, "name": "x"}, headers=HTML
        ).status_code
        == 404
    )
