"""Campaign officers create volunteer teams on the teams page (it was API and CLI only)."""

from __future__ import annotations

import html

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.accounts.models import AuditEvent
from safezone.campaign.models import Team, TeamArea, TeamMember
from safezone.db.engine import Database
from tests.conftest import MakeUser, csrf_from, login

from .conftest import COMMUNE, OTHER_COMMUNE, OTHER_DISTRICT_COMMUNE

HTML = {"Accept": "text/html"}


def _teams(db: Database) -> int:
    with db.read_session() as session:
        return int(session.scalar(select(func.count()).select_from(Team)) or 0)


def test_officer_creates_a_team_with_areas_and_members(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    for name in ("tnv.a", "tnv.b"):
        make_user(name, "volunteer", COMMUNE)
    make_user("tnv.xa", "volunteer", OTHER_DISTRICT_COMMUNE)  # another district: not offered
    login(client, make_user("canbo.tuyhoa", "campaign_officer", "555").username)

    page = client.get("/campaign/teams", headers=HTML)
    assert page.status_code == 200
    assert "Đội mới" in page.text
    assert 'value="tnv.a"' in page.text
    assert 'value="tnv.xa"' not in page.text
    assert f'value="{OTHER_DISTRICT_COMMUNE}"' not in page.text

    created = client.post(
        "/campaign/teams",
        data={
            "csrf_token": csrf_from(page.text),
            "name": "Chi đoàn Phường 1",
            "unit_code": "555",
            "areas": [COMMUNE, OTHER_COMMUNE],
            "members": ["tnv.a", "tnv.b"],
        },
        headers=HTML,
        follow_redirects=False,
    )
    assert created.status_code == 303
    listed = client.get("/campaign/teams", headers=HTML).text
    assert "Chi đoàn Phường 1" in listed
    assert "tnv.a, tnv.b" in listed
    with db.read_session() as session:
        team = session.scalars(select(Team)).one()
        assert team.unit_code == "555"
        areas = session.scalars(select(TeamArea.unit_code).where(TeamArea.team_id == team.id))
        assert sorted(areas) == sorted([COMMUNE, OTHER_COMMUNE])
        members = session.scalars(select(TeamMember).where(TeamMember.team_id == team.id))
        assert len(list(members)) == 2
        saved = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "campaign.team.save")
        ).all()
        assert saved == ["canbo.tuyhoa"]


def test_bad_fields_are_named_the_form_is_kept_and_nothing_is_stored(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    make_user("tnv.a", "volunteer", COMMUNE)
    csrf = login(client, make_user("canbo.tuyhoa", "campaign_officer", "555").username)
    response = client.post(
        "/campaign/teams",
        data={
            "csrf_token": csrf,
            "name": " ",
            "unit_code": "555",
            "areas": [COMMUNE, OTHER_DISTRICT_COMMUNE],  # the second is outside the officer's units
            "members": ["tnv.a", "canbo.tuyhoa"],  # an officer is not a volunteer
        },
        headers=HTML,
    )
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Tên đội cần 1-200 ký tự." in text
    assert f"Địa bàn '{OTHER_DISTRICT_COMMUNE}'" in text
    assert "'canbo.tuyhoa' không phải tình nguyện viên" in text
    assert f'value="{COMMUNE}" checked' in text  # what was chosen stays chosen
    assert _teams(db) == 0


def test_other_roles_and_strangers_cannot_create_teams(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    body = {"name": "Đội lạ", "unit_code": COMMUNE, "areas": [COMMUNE], "members": []}
    assert client.post("/campaign/teams", data=body, headers=HTML).status_code == 403  # no CSRF
    for role in ("volunteer", "health_officer", "verifier"):
        with TestClient(client.app) as other:
            csrf = login(other, make_user(f"x.{role}", role, COMMUNE).username)
            response = other.post(
                "/campaign/teams", data={**body, "csrf_token": csrf}, headers=HTML
            )
            assert response.status_code == 403, role
    assert _teams(db) == 0
