"""A NUL character (U+0000) anywhere in a request is refused before any route runs, naming the
field, on SQLite and PostgreSQL alike (PostgreSQL answered 500: its text cannot hold one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from safezone.accounts.models import User
from safezone.campaign.models import Team
from safezone.db.engine import Database
from safezone.web.guards import _first_nul
from tests.conftest import MakeUser


@pytest.fixture
def admin(make_user: MakeUser, token_for: Callable[[User], dict[str, str]]) -> dict[str, str]:
    return token_for(make_user("admin.tinh", "admin", "54"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Đội 1", "unit_code": "\x00", "areas": [], "members": []}, "unit_code"),
        ({"name": "Đội\x001", "unit_code": "555", "areas": [], "members": []}, "name"),
        (
            {"name": "Đội 1", "unit_code": "555", "areas": ["22015", "2\x00"], "members": []},
            "areas.1",
        ),
    ],
)
def test_a_json_body_with_nul_is_refused_naming_the_field(
    client: TestClient, db: Database, admin: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/api/v1/campaign/teams", json=body, headers=admin)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [(error["field"], error["code"]) for error in errors] == [(field, "nul_character")]
    assert "NUL" in errors[0]["message_vi"]
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0


def test_nul_in_the_query_or_the_path(client: TestClient, admin: dict[str, str]) -> None:
    query = client.get("/api/v1/units", params={"parent": "5\x004"}, headers=admin)
    assert query.status_code == 422
    assert query.json()["errors"][0]["field"] == "parent"
    path = client.get("/api/v1/units/54%00", headers=admin)
    assert path.status_code == 404


def test_an_escaped_backslash_is_not_a_nul(client: TestClient, admin: dict[str, str]) -> None:
    # The text "\u0000" (a backslash, then "u0000") is ordinary: the route's own rules apply.
    body = {"name": "a\\u0000b", "unit_code": "555", "areas": [], "members": []}
    response = client.post("/api/v1/campaign/teams", json=body, headers=admin)
    assert all(error["code"] != "nul_character" for error in response.json().get("errors", []))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in (key, *_strings(item))]
    return [text for item in value for text in _strings(item)]


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_first_nul_finds_one_exactly_when_there_is_one(value: Any) -> None:
    found = _first_nul(value, "")
    assert (found is not None) == any("\x00" in text for text in _strings(value))
