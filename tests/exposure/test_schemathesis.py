"""Property-based API test: schemathesis generates requests from the OpenAPI schema of the
exposure endpoints; no answer may be a server error (5xx)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

EXPOSURE_PATHS = r"^/(api/verify|api/certificate|v1/publish|api/v1/verification/codes|exposure/v1/)"


def test_exposure_endpoints_never_fail_with_5xx(app: Any, client: Any, app_key: str) -> None:
    del client  # started so the app's lifespan runs
    schema = schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=EXPOSURE_PATHS)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            # With a live app key, so verify and certificate get past the key check.
            response = case.call(headers={"X-API-Key": app_key})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        check()
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert "POST /v1/publish" in checked
    assert "POST /api/verify" in checked
    assert "POST /api/certificate" in checked
    assert len(checked) >= 8
