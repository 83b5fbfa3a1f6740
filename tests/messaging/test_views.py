"""The officer's pages: compose, preview, submit, approval by a second officer, cancel,
templates and import; through HTTP with a session and CSRF like a browser."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.accounts.models import User
from safezone.db.engine import Database
from safezone.messaging.models import Message, SendCampaign, Template
from tests.conftest import MakeUser, login
from tests.messaging.conftest import DISTRICT, MakeContact

HTML = {"Accept": "text/html"}


def _form(*, start: dt.date | None = None, **changes: str) -> dict[str, str]:
    start = start or dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    values = {
        "name": "Nhắc cài Bluezone tháng 12",
        "template_id": "1",
        "unit_code": DISTRICT,
        "app_code": "bluezone",
        "channel_policy": "sms_only",
        "starts_on": start.strftime("%d/%m/%Y"),
        "send_time": "09:00",
        "max_sends": "3",
        "interval_days": "3",
        "valid_hours": "24",
    }
    values.update(changes)
    return values


@pytest.fixture
def officer(make_user: MakeUser) -> User:
    return make_user("chiendich.tuyhoa", "campaign_officer", DISTRICT)


def _compose(client: TestClient, csrf: str, **changes: str) -> str:
    answer = client.post(
        "/messaging/new",
        data={**_form(**changes), "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def test_compose_preview_submit_plans_messages(
    client: TestClient, db: Database, officer: User, template_id: int, make_contact: MakeContact
) -> None:
    for n in range(3):
        make_contact(n)
    csrf = login(client, officer.username)
    assert client.get("/messaging/new", headers=HTML).status_code == 200
    where = _compose(client, csrf, template_id=str(template_id))
    page = client.get(where, headers=HTML)
    assert page.status_code == 200
    assert re.search(r'data-testid="recipients">3<', page.text)
    assert "UCS-2" in page.text
    answer = client.post(
        f"{where}/submit", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert answer.status_code == 303
    with db.session() as session:
        campaign = session.scalars(select(SendCampaign)).one()
        assert campaign.status == "approved"
        assert campaign.approved_by == officer.username
        assert session.scalar(select(func.count()).select_from(Message)) == 9  # 3 steps in a week
    progress = client.get(f"/api/v1/messaging/campaigns/{campaign.id}/progress")
    assert progress.json()["queued"] == 9
    # Submitting twice is refused and writes nothing.
    again = client.post(f"{where}/submit", data={"csrf_token": csrf}, headers=HTML)
    assert again.status_code == 409


def test_bad_compose_names_every_field_and_stores_nothing(
    client: TestClient, db: Database, officer: User, template_id: int
) -> None:
    csrf = login(client, officer.username)
    answer = client.post(
        "/messaging/new",
        data={
            **_form(
                name="",
                template_id="999",
                unit_code="557",  # another district: not the officer's
                send_time="25:00",
                max_sends="x",
                starts_on="31/02/2026",
            ),
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert answer.status_code == 422
    for name in ("name", "template_id", "send_time", "max_sends", "starts_on"):
        assert f'id="{name}-error"' in answer.text, name
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(SendCampaign)) == 0


def test_large_sends_need_a_second_officer(
    app: object,
    client: TestClient,
    db: Database,
    officer: User,
    make_user: MakeUser,
    template_id: int,
    make_contact: MakeContact,
    settings_threshold_zero: None,
) -> None:
    make_contact(1)
    csrf = login(client, officer.username)
    where = _compose(client, csrf, template_id=str(template_id))
    client.post(f"{where}/submit", data={"csrf_token": csrf}, headers=HTML)
    with db.session() as session:
        assert session.scalars(select(SendCampaign)).one().status == "pending_approval"
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    own = client.post(f"{where}/approve", data={"csrf_token": csrf}, headers=HTML)
    assert own.status_code == 403
    make_user("chiendich2", "campaign_officer", DISTRICT)
    client.cookies.clear()
    csrf = login(client, "chiendich2")
    assert f'action="{where}/approve"' in client.get(where, headers=HTML).text
    approved = client.post(
        f"{where}/approve", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert approved.status_code == 303
    with db.session() as session:
        campaign = session.scalars(select(SendCampaign)).one()
        assert (campaign.status, campaign.approved_by) == ("approved", "chiendich2")
        assert session.scalar(select(func.count()).select_from(Message)) == 3
    cancelled = client.post(
        f"{where}/cancel", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert cancelled.status_code == 303
    with db.session() as session:
        assert set(session.scalars(select(Message.status))) == {"cancelled"}


@pytest.fixture
def settings_threshold_zero(app: object) -> None:
    from safezone.config import MessagingConfig

    state = app.state  # type: ignore[attr-defined]
    state.settings = state.settings.model_copy(
        update={"messaging": MessagingConfig(approval_threshold=0)}
    )


def test_forms_need_csrf(client: TestClient, officer: User) -> None:
    login(client, officer.username)
    answer = client.post("/messaging/new", data=_form(), headers=HTML)
    assert answer.status_code == 403


def test_templates_page_creates_and_previews(
    client: TestClient, db: Database, officer: User
) -> None:
    csrf = login(client, officer.username)
    bad = client.post(
        "/messaging/templates",
        data={
            "name": "qc",
            "klass": "advertising",
            "body_vi": "Xin chào {{ ten }}",
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert bad.status_code == 422
    assert 'id="body_vi-error"' in bad.text
    good = client.post(
        "/messaging/templates",
        data={
            "name": "qc",
            "klass": "advertising",
            "body_vi": "Khuyến mãi cài {{ app }}",
            "strip_diacritics": "on",
            "csrf_token": csrf,
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert good.status_code == 303
    page = client.get("/messaging/templates", headers=HTML)
    assert "[QC] Khuyen mai cai" in page.text
    assert "GSM-7" in page.text
    with db.session() as session:
        assert session.scalars(select(Template)).one().created_by == officer.username


def test_import_page(client: TestClient, officer: User) -> None:
    csrf = login(client, officer.username)
    ok = client.post(
        "/messaging/contacts/import",
        data={"csrf_token": csrf},
        files={"file": ("list.csv", b"phone,unit_code\n0905123456,22015\n", "text/csv")},
        headers=HTML,
    )
    assert ok.status_code == 200, ok.text
    assert 'data-testid="import-result"' in ok.text
    outside = client.post(
        "/messaging/contacts/import",
        data={"csrf_token": csrf},
        files={"file": ("list.csv", b"phone,unit_code\n0905123457,22052\n", "text/csv")},
        headers=HTML,
    )
    assert outside.status_code == 422
    assert "22052" in outside.text
