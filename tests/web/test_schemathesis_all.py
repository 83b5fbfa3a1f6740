"""Property-based API test over EVERY operation of ``/openapi.json``: schemathesis generates
requests from the schema and sends them with a province admin's bearer token, so endpoints
behind a login are exercised past their 401. No answer may be a server error (5xx).

Runs on SQLite and on PostgreSQL (``SAFEZONE_TEST_DATABASE_URL``) like the rest of the suite.
The number of examples per operation is kept small so the whole run takes a minute or two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.exposure import apps
from tests.conftest import MakeUser
from tests.declarations.conftest import make_body

EXAMPLES = 25


def test_every_json_endpoint_never_fails_with_5xx(
    app: Any,
    client: TestClient,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[..., dict[str, str]],
) -> None:
    staff = token_for(make_user("admin.tinh", "admin", "54"))
    # The phone's verify and certificate want a live app key (X-API-Key) as well; schemathesis
    # would send random ones for the documented scheme, so ours goes last.
    with db.session() as session:
        app_key = {"X-API-Key": apps.create_app(session, "st", actor=None, now=utcnow()).key}
    # A little data, so that list, read and stats queries have rows to work on.
    for number in range(3):
        body = make_body(id_number=f"05408500{number:04d}", phone=f"090500{number:04d}")
        assert client.post("/api/v1/declarations", json=body).status_code == 201
    assert (
        client.post("/api/v1/verification/codes", json={"test_type": "confirmed"}, headers=staff)
    ).status_code < 500

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    expected = {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    checked = []
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            response = case.call(headers={**staff, **(case.headers or {}), **app_key})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            statuses.setdefault(f"{case.method} {case.operation.path}", set()).add(
                response.status_code
            )

        check()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert set(checked) == expected  # every operation of the schema, none skipped
    # The token opened the door: no operation answered only "login required" or "forbidden".
    # (Publishing needs a verification certificate, not a login: random ones are refused.)
    locked = sorted(
        name for name, seen in statuses.items() if seen <= {401, 403} and name != "POST /v1/publish"
    )
    assert not locked, locked
    # The documented bodies are generated as JSON and reach the service's validation.
    assert 422 in statuses["POST /api/v1/declarations"]
    assert statuses["POST /api/v1/declarations"] != {415}
