"""Authorization matrix of the messaging staff routes: every route x role x inside/outside.

Sends belong to a unit subtree: outside the caller's subtree a send is 404, exactly like a
missing one. Roles other than campaign officer (and admin) get 403; anonymous callers get 401
from the API and the login page from the pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from safezone.accounts.models import User
from tests.conftest import MakeUser
from tests.messaging.conftest import MakeCampaign

HTML = {"Accept": "text/html"}

#: (method, path, is a page); {id} is a send's id.
ROUTES: list[tuple[str, str, bool]] = [
    ("GET", "/messaging", True),
    ("GET", "/messaging/new", True),
    ("GET", "/messaging/templates", True),
    ("GET", "/messaging/contacts/import", True),
    ("GET", "/messaging/campaigns/{id}", True),
    ("POST", "/messaging/campaigns/{id}/cancel", True),
    ("GET", "/api/v1/messaging/campaigns/{id}/progress", False),
]

#: (role, unit of the caller, district of the send inside its subtree, one outside it)
CALLERS = [
    ("campaign_officer", "555", "555", "557"),
    ("campaign_officer", "22015", "22015", "557"),
    ("campaign_officer", "557", "557", "555"),
    ("admin", "555", "555", "557"),
    ("health_officer", "555", "555", "557"),
    ("verifier", "54", "555", "557"),
    ("volunteer", "555", "555", "557"),
    (None, None, "555", "557"),
]


@pytest.mark.parametrize(("method", "template", "page"), ROUTES)
@pytest.mark.parametrize(("role", "unit", "inside", "outside"), CALLERS)
def test_matrix(
    client: TestClient,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    make_campaign: MakeCampaign,
    method: str,
    template: str,
    page: bool,
    role: str | None,
    unit: str | None,
    inside: str,
    outside: str,
) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    targets = {
        "in": make_campaign(unit=inside, starts_on=tomorrow, status="draft"),
        "out": make_campaign(unit=outside, starts_on=tomorrow, status="draft"),
    }
    headers: dict[str, str] = {}
    if role is not None:
        assert unit is not None
        headers = token_for(make_user("caller", role, unit))
    if page:
        headers = {**headers, **HTML}
    for where, campaign_id in targets.items():
        if "{id}" not in template and where == "out":
            continue
        path = template.format(id=campaign_id)
        response = client.request(method, path, headers=headers, follow_redirects=False)
        label = f"{role}@{unit} {method} {path} ({where})"
        if role is None:
            expected = (403 if method == "POST" else 303) if page else 401
            assert response.status_code == expected, label
            continue
        if role not in ("campaign_officer", "admin"):
            assert response.status_code == 403, label
            continue
        if where == "out":
            assert response.status_code == 404, label
            assert "Nhắc cài Bluezone" not in response.text, label
            continue
        assert response.status_code in (200, 303), f"{label}: {response.text[:300]}"
