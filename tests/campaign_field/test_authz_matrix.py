"""Authorization matrix of the door-to-door endpoints and pages: every role x inside/outside
the caller's subtree. Wrong role: 403. Out of scope: 404, like a missing object, never data.
Anonymous: 401 from the API, the login page (303) from pages."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.campaign import households, teams
from safezone.campaign.privacy import vault_for
from safezone.config import Settings
from safezone.db.engine import Database
from tests.campaign_field.conftest import COMMUNE, OTHER_DISTRICT_COMMUNE, household_file
from tests.conftest import MakeUser

HTML = {"Accept": "text/html"}
VOLUNTEER_ONLY = {"volunteer", "admin"}
OFFICERS = {"campaign_officer", "admin"}
PROGRESS = {"volunteer", "campaign_officer", "health_officer", "admin"}

#: (method, path template, JSON body, is a page, roles allowed, scoped by the target)
ENDPOINTS: list[tuple[str, str, Any, bool, set[str], bool]] = [
    ("GET", "/api/v1/campaign/walk-list", None, False, VOLUNTEER_ONLY, False),
    ("POST", "/api/v1/campaign/visits/sync", {"visits": []}, False, VOLUNTEER_ONLY, False),
    ("GET", "/api/v1/campaign/volunteers/progress?unit={unit}", None, False, PROGRESS, True),
    ("GET", "/api/v1/campaign/volunteers/progress.csv?unit={unit}", None, False, PROGRESS, True),
    ("GET", "/api/v1/campaign/teams?unit={unit}", None, False, OFFICERS, True),
    (
        "PUT",
        "/api/v1/campaign/teams/{team}",
        {"name": "Đội", "unit_code": "{unit}", "areas": ["{unit}"], "members": []},
        False,
        OFFICERS,
        True,
    ),
    ("POST", "/api/v1/campaign/teams/{team}/distribute", None, False, OFFICERS, True),
    (
        "POST",
        "/api/v1/campaign/teams",
        {"name": "Đội mới", "unit_code": "{unit}", "areas": ["{unit}"], "members": []},
        False,
        OFFICERS,
        True,
    ),
    ("GET", "/volunteer/", None, True, VOLUNTEER_ONLY, False),
    ("GET", "/campaign/volunteers?unit={unit}", None, True, PROGRESS, True),
    ("GET", "/campaign/volunteers.csv?unit={unit}", None, True, PROGRESS, True),
    ("GET", "/campaign/households/import", None, True, OFFICERS, False),
    ("GET", "/campaign/teams", None, True, OFFICERS, False),
    ("POST", "/campaign/teams/{team}/distribute", {}, True, OFFICERS, True),
]

#: (role, unit of the user)
CALLERS = [
    ("campaign_officer", "555"),
    ("campaign_officer", COMMUNE),
    ("admin", "555"),
    ("health_officer", "555"),
    ("volunteer", COMMUNE),
    ("verifier", "54"),
    ("org_reporter", COMMUNE),
    (None, None),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return value


def _targets(db: Database, settings: Settings) -> dict[str, dict[str, Any]]:
    vault = vault_for(settings)
    found = {}
    with db.session() as session:
        for where, commune in (("in", COMMUNE), ("out", OTHER_DISTRICT_COMMUNE)):
            households.import_households(
                session,
                vault,
                household_file([("", "", "1 Lê Lợi", "Nguyễn Văn An", "3", "")]),
                "h.csv",
                unit_code=commune,
                today=dt.date(2026, 11, 30),
            )
            team = teams.save_team(
                session,
                Scope("54", "54/"),
                name=f"Đội {where}",
                unit_code=commune,
                areas=[commune],
                members=[],
                actor="test",
            )
            found[where] = {"unit": commune, "team": team.id}
    return found


@pytest.mark.parametrize(("method", "template", "body", "page", "allowed", "scoped"), ENDPOINTS)
@pytest.mark.parametrize(("role", "unit"), CALLERS)
def test_matrix(
    client: TestClient,
    db: Database,
    settings: Settings,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    method: str,
    template: str,
    body: Any,
    page: bool,
    allowed: set[str],
    scoped: bool,
    role: str | None,
    unit: str | None,
) -> None:
    targets = _targets(db, settings)
    headers: dict[str, str] = {}
    if role is not None:
        assert unit is not None
        headers = token_for(make_user("caller", role, unit))
    for where, ids in targets.items():
        path = _fill(template, ids)
        sent = _fill(body, ids)
        label = f"{role}@{unit} {method} {path} ({where})"
        extra = {**headers, **(HTML if page else {})}
        if page and method == "POST":
            response = client.request(
                method, path, data=sent, headers=extra, follow_redirects=False
            )
        else:
            response = client.request(
                method, path, json=sent, headers=extra, follow_redirects=False
            )
        if role is None:
            expected = (403 if method == "POST" else 303) if page else 401
            assert response.status_code == expected, label
            continue
        if role not in allowed:
            assert response.status_code == 403, label
            continue
        outside = where == "out" and scoped and not (role == "admin" and unit == "54")
        if outside:
            # Creating a team names a unit: out of scope is the same answer as an unknown unit.
            creating = method == "POST" and template == "/api/v1/campaign/teams"
            assert response.status_code == (422 if creating else 404), label
            if creating:
                assert response.json()["errors"][0]["code"] == "unit_not_found"
            assert "Nguyễn Văn An" not in response.text, label
            continue
        assert response.status_code in (200, 201, 303), f"{label}: {response.text[:300]}"
        assert "Nguyễn Văn An" not in response.text, label  # no list shows a stranger's name


def test_walk_list_over_http_shows_only_own_households(
    client: TestClient,
    db: Database,
    settings: Settings,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    volunteer = make_user("tnv.a", "volunteer", COMMUNE)
    other = make_user("tnv.b", "volunteer", COMMUNE)
    targets = _targets(db, settings)
    with db.session() as session:
        team = teams.get_team(session, targets["in"]["team"], Scope("54", "54/"))
        teams.save_team(
            session,
            Scope("54", "54/"),
            name=team.name,
            unit_code=COMMUNE,
            areas=[COMMUNE],
            members=["tnv.a"],
            actor="test",
            team_id=team.id,
        )
        teams.distribute(session, team)
    mine = client.get("/api/v1/campaign/walk-list", headers=token_for(volunteer)).json()
    assert [h["head_name"] for h in mine["households"]] == ["Nguyễn Văn An"]
    household = mine["households"][0]["household_id"]
    theirs = client.get("/api/v1/campaign/walk-list", headers=token_for(other)).json()
    assert theirs["households"] == []
    body = {
        "visits": [
            {
                "client_id": str(uuid.uuid4()),
                "household_id": household,
                "visited_at": dt.datetime.now(dt.UTC).isoformat(),
                "outcome": "not_home",
            }
        ]
    }
    refused = client.post("/api/v1/campaign/visits/sync", json=body, headers=token_for(other))
    assert refused.status_code == 200
    assert refused.json()["results"][0]["errors"][0]["code"] == "household_not_found"
    stored = client.post("/api/v1/campaign/visits/sync", json=body, headers=token_for(volunteer))
    assert stored.json()["stored"] == 1
    again = client.post("/api/v1/campaign/visits/sync", json=body, headers=token_for(volunteer))
    assert (again.json()["stored"], again.json()["unchanged"]) == (0, 1)


def test_sync_body_errors_name_the_field(
    client: TestClient, make_user: MakeUser, token_for: Callable[[User], dict[str, str]]
) -> None:
    headers = token_for(make_user("tnv.a", "volunteer", COMMUNE))
    bad = {"visits": [{"client_id": "x", "household_id": 0, "visited_at": "2026-11-30T09:00"}]}
    response = client.post("/api/v1/campaign/visits/sync", json=bad, headers=headers)
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"visits.0.client_id", "visits.0.household_id", "visits.0.outcome"} <= fields
    assert all(error["message_vi"] for error in response.json()["errors"])


def test_consent_at_the_door_becomes_a_messaging_contact(
    client: TestClient,
    db: Database,
    settings: Settings,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    from safezone.messaging import base as messaging_base
    from safezone.messaging import contacts as messaging_contacts
    from safezone.messaging.models import ContactApp

    volunteer = make_user("tnv.a", "volunteer", COMMUNE)
    targets = _targets(db, settings)
    with db.session() as session:
        teams.save_team(
            session,
            Scope("54", "54/"),
            name="Đội in",
            unit_code=COMMUNE,
            areas=[COMMUNE],
            members=["tnv.a"],
            actor="test",
            team_id=targets["in"]["team"],
        )
        teams.distribute(
            session, teams.get_team(session, targets["in"]["team"], Scope("54", "54/"))
        )
    headers = token_for(volunteer)
    household = client.get("/api/v1/campaign/walk-list", headers=headers).json()["households"][0]
    body = {
        "visits": [
            {
                "client_id": str(uuid.uuid4()),
                "household_id": household["household_id"],
                "visited_at": dt.datetime.now(dt.UTC).isoformat(),
                "outcome": "home",
                "people_home": 1,
                "smartphones": 1,
                "apps": [{"app_code": "ncovi", "result": "installed_with_help"}],
                "consent_reminders": True,
                "reminder_phone": "0905 777 888",
            }
        ]
    }
    stored = client.post("/api/v1/campaign/visits/sync", json=body, headers=headers)
    assert stored.json()["stored"] == 1
    with db.session() as session:
        contact = messaging_contacts.find(
            session, messaging_base.vault_for(settings), "+84905777888"
        )
        assert contact is not None
        assert (contact.source, contact.consent_by, contact.unit_code) == (
            "visit",
            "tnv.a",
            COMMUNE,
        )
        assert contact.consent_at is not None
        installed = session.scalars(
            select(ContactApp.app_code).where(ContactApp.contact_id == contact.id)
        ).all()
        assert list(installed) == ["ncovi"]
