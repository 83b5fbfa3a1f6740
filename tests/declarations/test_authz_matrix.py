"""Authorization matrix: every staff endpoint and page x every role x inside/outside the subtree.

Out of scope is 404, exactly like a missing declaration: never data, never a hint.
Roles other than health officer (and admin) get 403 whatever the target; anonymous callers
get 401 from the API and are sent to the login page from the pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safezone.accounts.models import User
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE, OTHER_DISTRICT_COMMUNE, make_body

HTML = {"Accept": "text/html"}

#: (method, path template, JSON body or None, is a page)
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    ("GET", "/api/v1/declarations/{id}", None, False),
    ("GET", "/api/v1/declarations?unit={unit}", None, False),
    ("GET", "/api/v1/declarations/stats?unit={unit}", None, False),
    ("POST", "/api/v1/declarations/{id}/assignment", {"unit_code": "{unit}"}, False),
    ("POST", "/api/v1/declarations/{id}/followups", {"status": "seen_well"}, False),
    ("PUT", "/api/v1/declarations/{id}/outcome", {"outcome": "completed"}, False),
    ("GET", "/declarations?unit={unit}", None, True),
    ("GET", "/declarations/{id}", None, True),
    ("GET", "/declarations/dashboard?unit={unit}", None, True),
    ("GET", "/declarations/export.csv?unit={unit}", None, True),
    ("GET", "/declarations/export.xlsx?unit={unit}", None, True),
    ("POST", "/declarations/{id}/assign", {"unit_code": "{unit}"}, True),
    ("POST", "/declarations/{id}/followup", {"status": "seen_well"}, True),
    ("POST", "/declarations/{id}/outcome", {"outcome": "completed"}, True),
]

#: (role, unit of the user, commune inside its subtree, commune outside it)
CALLERS = [
    ("health_officer", COMMUNE, COMMUNE, OTHER_DISTRICT_COMMUNE),
    ("health_officer", "555", COMMUNE, OTHER_DISTRICT_COMMUNE),
    ("health_officer", "557", OTHER_DISTRICT_COMMUNE, COMMUNE),
    ("admin", "555", COMMUNE, OTHER_DISTRICT_COMMUNE),
    ("campaign_officer", COMMUNE, COMMUNE, OTHER_DISTRICT_COMMUNE),
    ("verifier", "54", COMMUNE, OTHER_DISTRICT_COMMUNE),
    ("volunteer", COMMUNE, COMMUNE, OTHER_DISTRICT_COMMUNE),
    (None, None, COMMUNE, OTHER_DISTRICT_COMMUNE),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _call(
    client: TestClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    page: bool,
    headers: dict[str, str],
) -> Any:
    headers = {**headers, **(HTML if page else {})}
    if page and method == "POST":
        # Bearer-token clients are exempt from CSRF, so the matrix isolates authorization.
        return client.request(method, path, data=body, headers=headers, follow_redirects=False)
    return client.request(method, path, json=body, headers=headers, follow_redirects=False)


@pytest.mark.parametrize(("method", "template", "body", "page"), ENDPOINTS)
@pytest.mark.parametrize(("role", "unit", "inside", "outside"), CALLERS)
def test_matrix(
    client: TestClient,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    method: str,
    template: str,
    body: dict[str, Any] | None,
    page: bool,
    role: str | None,
    unit: str | None,
    inside: str,
    outside: str,
) -> None:
    targets = {}
    for where, commune in (("in", inside), ("out", outside)):
        phone = "0905111222" if where == "in" else "0905333444"
        id_number = "054085000001" if where == "in" else "054085000002"
        created = client.post(
            "/api/v1/declarations",
            json=make_body(id_number=id_number, phone=phone, address__unit_code=commune),
        )
        assert created.status_code == 201
        targets[where] = {"id": created.json()["id"], "unit": commune}
    headers: dict[str, str] = {}
    if role is not None:
        assert unit is not None
        headers = token_for(make_user("caller", role, unit))

    for where, ids in targets.items():
        path = _fill(template, ids)
        response = _call(client, method, path, _fill(body, ids), page, headers)
        label = f"{role}@{unit} {method} {path} ({where})"
        if role is None:
            # Pages send people to the login form; a form post without a session already
            # fails the CSRF check, before authentication is even considered.
            expected = (403 if method == "POST" else 303) if page else 401
            assert response.status_code == expected, label
            continue
        if role not in ("health_officer", "admin"):
            assert response.status_code == 403, label
            continue
        if where == "out":
            assert response.status_code == 404, label
            assert "Nguyễn Văn An" not in response.text, label
            continue
        assert response.status_code in (200, 201, 303), f"{label}: {response.text[:300]}"
        if method == "GET" and "{id}" in template:
            assert "Nguyễn Văn An" in response.text, label


@pytest.mark.parametrize(("role", "unit", "inside", "outside"), CALLERS[:4])
def test_queue_lists_only_the_subtree(
    client: TestClient,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    role: str,
    unit: str,
    inside: str,
    outside: str,
) -> None:
    ids = {}
    for commune, id_number, phone in (
        (inside, "054085000001", "0905111222"),
        (outside, "054085000002", "0905333444"),
    ):
        body = make_body(id_number=id_number, phone=phone, address__unit_code=commune)
        ids[commune] = client.post("/api/v1/declarations", json=body).json()["id"]
    headers = token_for(make_user("caller", role, unit))
    listed = {
        item["id"] for item in client.get("/api/v1/declarations", headers=headers).json()["items"]
    }
    assert listed == {ids[inside]}
    page = client.get("/declarations", headers={**headers, **HTML}).text
    assert f'href="/declarations/{ids[inside]}"' in page
    assert f'href="/declarations/{ids[outside]}"' not in page
    csv = client.get("/declarations/export.csv", headers=headers).text
    assert f"\n{ids[inside]}," in csv
    assert f"\n{ids[outside]}," not in csv
