"""Every integer path and query parameter of every route is bounded: values an id column
cannot hold (2^31 on PostgreSQL's INTEGER, 2^63 and 2^64 anywhere) and non-positive ones never
reach the database and never give a 5xx.

The parameters are found by walking ``app.routes`` (dependencies included), so a route added
later is checked without touching this file.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic.fields import FieldInfo

from safezone.app import create_app
from safezone.config import Settings
from safezone.web.deps import MAX_ROW_ID
from tests.conftest import TEST_SECRET, MakeUser

VALUES = (2**31, 2**63, 2**64, -1, 0)
MAX_INT64 = 2**63 - 1


@dataclass(frozen=True)
class IntParam:
    method: str
    path: str
    kind: str  # "path" or "query"
    name: str
    info: FieldInfo

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.kind}:{self.name}"


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return int in typing.get_args(annotation)
    return False


def _fields(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    for field in dependant.path_params:
        yield "path", field
    for field in dependant.query_params:
        yield "query", field
    for sub in dependant.dependencies:
        yield from _fields(sub)


def integer_params(app: FastAPI) -> list[IntParam]:
    """Every integer path or query parameter of every API route."""
    found = []
    # Included routers are resolved lazily (FastAPI >= 0.165): walk their effective routes.
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or context.path is None:
            continue
        for kind, field in _fields(route.dependant):
            if _is_int(field.field_info.annotation):
                for method in sorted(route.methods - {"HEAD"}):
                    found.append(
                        IntParam(method, context.path, kind, field.alias, field.field_info)
                    )
    return found


def _bounds(info: FieldInfo) -> tuple[int | None, int | None]:
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", low)
        high = getattr(item, "le", high)
    return low, high


# Collected at import time from an app built with default settings, so the parametrisation
# follows the routes as they are (a new route shows up as new test cases).
_PARAMS = integer_params(create_app(Settings(database_url="sqlite://", secret_key=TEST_SECRET)))


def test_the_walk_finds_the_known_parameters() -> None:
    names = {str(param) for param in _PARAMS}
    for expected in (
        "GET /api/v1/declarations/{declaration_id} path:declaration_id",
        "PUT /api/v1/declarations/{declaration_id} path:declaration_id",
        "POST /declarations/{declaration_id}/outcome path:declaration_id",
        "GET /api/v1/verification/codes/{code_id} path:code_id",
        "GET /api/v1/declarations query:per_page",
        "GET /api/v1/passes/revocations query:since",
    ):
        assert expected in names, sorted(names)


@pytest.mark.parametrize("param", _PARAMS, ids=str)
def test_every_integer_parameter_declares_bounds(param: IntParam) -> None:
    low, high = _bounds(param.info)
    assert low is not None, f"{param}: no lower bound"
    assert high is not None, f"{param}: no upper bound"
    limit = MAX_ROW_ID if param.kind == "path" else MAX_INT64
    assert high <= limit, f"{param}: upper bound beyond what the database holds"


def _url(param: IntParam, value: int) -> tuple[str, dict[str, Any]]:
    path = param.path
    if param.kind == "path":
        path = path.replace("{" + param.name + "}", str(value))
    # Any other path parameter gets a harmless placeholder (an existing-looking id).
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "1" + path[path.index("}", start) + 1 :]
    return path, ({param.name: value} if param.kind == "query" else {})


@pytest.fixture
def staff(
    client: TestClient, make_user: MakeUser, token_for: Callable[..., dict[str, str]]
) -> dict[str, str]:
    """Headers of an admin of the province: past every login and role check."""
    return token_for(make_user("admin.tinh", "admin", "54"))


@pytest.mark.parametrize("param", _PARAMS, ids=str)
def test_out_of_range_integers_never_give_a_server_error(
    client: TestClient, staff: dict[str, str], param: IntParam
) -> None:
    low, high = _bounds(param.info)
    for value in VALUES:
        path, query = _url(param, value)
        for headers in (staff, {}):
            response = client.request(param.method, path, params=query, headers=headers, json={})
            assert response.status_code < 500, (str(param), value, response.text[:300])
            out_of_range = (low is not None and value < low) or (high is not None and value > high)
            if headers and out_of_range:
                # With an admin token every login and role check passes: the value decides.
                expected = 404 if param.kind == "path" else 422
                assert response.status_code == expected, (str(param), value, response.text[:300])
