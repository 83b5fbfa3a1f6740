"""Authorization matrix: every campaign endpoint and page x every role x inside/outside the area.

Out of scope is 404 (a unit or organisation elsewhere looks like a missing one); roles that may
not use an endpoint get 403; anonymous callers get 401 from the API, the login redirect from
pages (303) and a CSRF refusal (403) on page posts. Imports naming a unit elsewhere store nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.accounts.models import User
from safezone.campaign import service
from safezone.campaign.models import AdoptionFigure, Organisation, Target
from safezone.db.engine import Database
from tests.conftest import MakeUser

IN_UNIT, OUT_UNIT = "22015", "22052"  # Phường 1 (Tuy Hoà, 555) and a Sông Cầu commune (557)
HTML = {"Accept": "text/html"}
READ, WRITE, ADMIN, ORG_READ, ORG_WRITE = "read", "write", "admin", "org_read", "org_write"

#: (method, path, body, kind, page, scoped): ``{unit}``/``{org}`` are filled per target.
ENDPOINTS: list[tuple[str, str, Any, str, bool, bool]] = [
    ("GET", "/api/v1/campaign/apps", None, READ, False, False),
    ("PATCH", "/api/v1/campaign/apps/ncovi", {"position": 3}, ADMIN, False, False),
    ("GET", "/campaign/apps", None, ADMIN, True, False),
    (
        "POST",
        "/campaign/apps/ncovi",
        {
            "name": "NCOVI",
            "position": "3",
            "active": "1",
            "android_url": "https://play.google.com/",
        },
        ADMIN,
        True,
        False,
    ),
    ("GET", "/api/v1/campaign/coverage?unit={unit}", None, READ, False, True),
    ("GET", "/api/v1/campaign/coverage?unit={unit}&format=csv", None, READ, False, True),
    ("GET", "/api/v1/campaign/communes?unit={unit}", None, READ, False, True),
    ("GET", "/api/v1/campaign/behind?unit={unit}", None, READ, False, True),
    ("GET", "/api/v1/campaign/rankings?unit={unit}", None, READ, False, True),
    ("GET", "/api/v1/campaign/trend?unit={unit}&days=3", None, READ, False, True),
    ("GET", "/api/v1/campaign/targets", None, READ, False, False),
    (
        "PUT",
        "/api/v1/campaign/targets",
        {"unit_code": "{unit}", "app_code": "ncovi", "share": 0.7},
        WRITE,
        False,
        True,
    ),
    ("DELETE", "/api/v1/campaign/targets?unit={unit}&app=bluezone", None, WRITE, False, True),
    ("PUT", "/api/v1/campaign/ratios?unit={unit}", {"ratio": 0.5}, WRITE, False, True),
    (
        "POST",
        "/api/v1/campaign/imports/counts",
        "unit_code,app,installs,as_of\n{unit},ncovi,5,2026-11-01\n",
        WRITE,
        False,
        True,
    ),
    (
        "POST",
        "/api/v1/campaign/imports/organisations",
        "code,name,kind,unit_code,headcount\nNEW-{unit},Mới,agency,{unit},5\n",
        WRITE,
        False,
        True,
    ),
    ("POST", "/api/v1/campaign/refresh", None, WRITE, False, False),
    ("GET", "/api/v1/campaign/organisations", None, ORG_READ, False, False),
    ("GET", "/api/v1/campaign/organisations/{org}/reports", None, ORG_READ, False, True),
    (
        "POST",
        "/api/v1/campaign/organisations/{org}/reports",
        {"app_code": "ncovi", "as_of": "2026-11-01", "headcount": 10, "installs": 4},
        ORG_WRITE,
        False,
        True,
    ),
    ("GET", "/api/v1/campaign/compliance", None, ORG_READ, False, False),
    ("GET", "/api/v1/campaign/compliance?format=csv", None, ORG_READ, False, False),
    ("GET", "/campaign?unit={unit}", None, READ, True, True),
    ("GET", "/campaign/rankings?unit={unit}", None, READ, True, True),
    ("GET", "/campaign/behind?unit={unit}", None, READ, True, True),
    ("GET", "/campaign/targets", None, READ, True, False),
    (
        "POST",
        "/campaign/targets",
        {"unit_code": "{unit}", "app_code": "ncovi", "percent": "70"},
        WRITE,
        True,
        True,
    ),
    ("GET", "/campaign/organisations", None, ORG_READ, True, False),
    ("GET", "/campaign/organisations/{org}", None, ORG_READ, True, True),
    (
        "POST",
        "/campaign/organisations/{org}",
        {"app_code": "ncovi", "as_of": "2026-11-01", "headcount": "10", "installs": "4"},
        ORG_WRITE,
        True,
        True,
    ),
]

#: role -> the kinds of endpoint it may use
ALLOWED = {
    "admin": {READ, WRITE, ADMIN, ORG_READ, ORG_WRITE},
    "campaign_officer": {READ, WRITE, ORG_READ, ORG_WRITE},
    "health_officer": {READ, ORG_READ},
    "org_reporter": {ORG_READ, ORG_WRITE},
    "volunteer": set(),
    "verifier": set(),
}
CALLERS = [
    ("campaign_officer", "555"),
    ("health_officer", "555"),
    ("admin", "555"),
    ("org_reporter", IN_UNIT),
    ("volunteer", IN_UNIT),
    ("verifier", "54"),
    (None, None),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.fixture
def orgs(db: Database) -> dict[str, int]:
    with db.session() as session:
        for code, unit in (("ORG-IN", IN_UNIT), ("ORG-OUT", OUT_UNIT)):
            session.add(
                Organisation(code=code, name=code, kind="agency", unit_code=unit, headcount=10)
            )
            # A target to delete (DELETE /targets).
            session.add(Target(unit_code=unit, app_code="bluezone", base="population", share=0.5))
        session.flush()
        return {o.code: o.id for o in session.scalars(select(Organisation))}


@pytest.mark.parametrize(("method", "template", "body", "kind", "page", "scoped"), ENDPOINTS)
@pytest.mark.parametrize(("role", "unit"), CALLERS)
def test_matrix(
    client: TestClient,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    orgs: dict[str, int],
    method: str,
    template: str,
    body: Any,
    kind: str,
    page: bool,
    scoped: bool,
    role: str | None,
    unit: str | None,
) -> None:
    headers: dict[str, str] = {}
    if role is not None:
        assert unit is not None
        user = make_user("caller", role, unit)
        headers = token_for(user)
        if role == "org_reporter":
            with db.session() as session:
                service.bind_reporter(session, username="caller", organisation_code="ORG-IN")
    targets = {"in": {"unit": IN_UNIT, "org": orgs["ORG-IN"]}}
    if scoped:
        targets["out"] = {"unit": OUT_UNIT, "org": orgs["ORG-OUT"]}
    for where, ids in targets.items():
        path = _fill(template, ids)
        payload = _fill(body, ids)
        label = f"{role}@{unit} {method} {path} ({where})"
        request_headers = {**headers, **(HTML if page else {})}
        if isinstance(payload, str):
            response = client.request(
                method,
                path,
                content=payload.encode(),
                headers={**request_headers, "Content-Type": "text/csv"},
            )
        elif page and method == "POST":
            response = client.request(
                method, path, data=payload, headers=request_headers, follow_redirects=False
            )
        else:
            response = client.request(
                method, path, json=payload, headers=request_headers, follow_redirects=False
            )
        if role is None:
            expected = (403 if method == "POST" else 303) if page else 401
            assert response.status_code == expected, label
            continue
        if kind not in ALLOWED[role]:
            assert response.status_code == 403, label
            continue
        if where == "out":
            # Imports name the unit inside the file: refused as unknown, nothing stored.
            assert response.status_code in ((422,) if "imports" in path else (404,)), label
            assert "ORG-OUT" not in response.text, label
            continue
        assert response.status_code in (200, 201, 204, 303), f"{label}: {response.text[:300]}"
    with db.session() as session:
        assert not session.scalar(
            select(func.count())
            .select_from(AdoptionFigure)
            .where(AdoptionFigure.unit_code == OUT_UNIT)
        )
