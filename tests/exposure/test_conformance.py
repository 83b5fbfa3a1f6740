"""Wire conformance with Google's verification and key servers, generated from data.

Every line of ``data/conformance.jsonl`` is one test: a request (endpoint, headers, body or raw
bytes, with ``$placeholders`` for what the test sets up first) and the answer it must get
(status, ``errorCode`` or ``code``, the exact set of fields, some values). The cases are
transcribed from ``pkg/api/api.go`` and the handlers of google/exposure-notifications-
verification-server and from ``pkg/api/v1/exposure_types.go`` of google/exposure-
notifications-server; ``source`` names where each comes from.

Placeholders: ``$code``/``$longCode`` (a code issued as ``given.code`` says), ``$token`` (a
token as ``given.token`` says), ``$ekeyhmac`` (a valid 32-byte HMAC), ``$padding`` (1-2 KB of
base64), ``$keys``/``$certificate``/``$hmacKey``/``$revisionToken`` (an upload as
``given.upload`` says), ``$keysPeriod145`` (a key with an out-of-range period), ``$tooLarge``
(a body over the size limit).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from safezone.accounts.service import Scope
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import tekmac
from safezone.exposure import api, apps, codes, wire
from safezone.exposure.models import VerificationToken
from safezone.exposure.publish import PublishPolicy, publish
from tests.conftest import MakeUser
from tests.exposure.conftest import day_start, key_json, make_keys

CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "conformance.jsonl").read_text().splitlines()
    if line.strip()
]
PATHS = {
    "verify": wire.VERIFY_PATH,
    "verify_legacy": wire.LEGACY_VERIFY_PATH,
    "certificate": wire.CERTIFICATE_PATH,
    "certificate_legacy": wire.LEGACY_CERTIFICATE_PATH,
    "publish": wire.PUBLISH_PATH,
    "issue": "/api/v1/verification/codes",
}
PHONE_ENDPOINTS = {"verify", "verify_legacy", "certificate", "certificate_legacy", "publish"}


@dataclass
class Given:
    """What a case set up, by placeholder name."""

    values: dict[str, Any] = field(default_factory=dict)
    code: codes.IssuedCode | None = None
    token: str | None = None


def _issue(db: Database, policy: codes.CodePolicy, spec: dict[str, Any]) -> codes.IssuedCode:
    now = dt.datetime.now(dt.UTC)
    state = spec.get("state", "active")
    # An expired code was issued two days ago (both its codes are past their expiry).
    issued_at = now - dt.timedelta(days=2) if state == "expired" else now
    with db.session() as session:
        issued = codes.issue_code(
            session,
            policy,
            unit_code="555",
            test_type=spec["testType"],
            test_date=issued_at.date(),
            symptom_date=issued_at.date() - dt.timedelta(days=1)
            if spec.get("symptomDate")
            else None,
            actor="conformance",
            now=issued_at,
        )
    with db.session() as session:
        if state == "claimed":
            codes.verify_code(session, policy, issued.long_code, now=now)
        elif state == "revoked":
            codes.revoke_code(session, Scope("54", "54/"), issued.id, actor="t", now=now)
    return issued


def _token(db: Database, policy: codes.CodePolicy, spec: dict[str, Any]) -> str:
    now = dt.datetime.now(dt.UTC)
    state = spec.get("state", "active")
    issued = _issue(db, policy, {"testType": spec["testType"]})
    with db.session() as session:
        token = codes.verify_code(session, policy, issued.short_code, now=now).token
    if state == "expired":
        # Tokens live 24 h: move this one's expiry into the past.
        with db.session() as session:
            session.execute(
                update(VerificationToken)
                .where(VerificationToken.token_hmac == policy.digest("token", token))
                .values(expires_at=now - dt.timedelta(hours=1))
            )
    if state == "used":
        with db.session() as session:
            codes.issue_certificate(session, policy, token, _hmac(), now=now)
    return token


def _hmac() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _upload(
    db: Database, settings: Settings, policy: codes.CodePolicy, spec: dict[str, Any]
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    keys = make_keys(now, days=spec["keys"])
    values: dict[str, Any] = {}
    if spec.get("publishedAs"):
        # The same keys were published before (another report type): the revision token.
        secret = os.urandom(32)
        earlier = {
            "temporaryExposureKeys": key_json(keys),
            "healthAuthorityID": "safezone-demo",
            "verificationPayload": _certificate(policy, keys, secret, spec["publishedAs"], now),
            "hmacKey": base64.b64encode(secret).decode(),
        }
        with db.session() as session:
            result = publish(
                session,
                PublishPolicy.from_settings(settings, policy),
                wire.PublishIn.model_validate(earlier),
                now=now,
            )
        values["$revisionToken"] = result.revision_token
    secret = os.urandom(32)
    values["$keys"] = key_json(keys)
    values["$certificate"] = _certificate(policy, keys, secret, spec["testType"], now)
    values["$hmacKey"] = base64.b64encode(secret).decode()
    odd = TemporaryExposureKey(os.urandom(16), day_start(now) - 144, 144)
    values["$keysPeriod145"] = [dict(key_json([odd])[0], rollingPeriod=145)]
    return values


def _certificate(
    policy: codes.CodePolicy,
    keys: list[TemporaryExposureKey],
    secret: bytes,
    test_type: str,
    now: dt.datetime,
) -> str:
    return codes.sign_certificate(
        policy,
        test_type=test_type,
        test_date=now.date() - dt.timedelta(days=1),
        symptom_date=None,
        ekeyhmac=tekmac(keys, secret),
        now=now,
    )


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, str) and node in values:
        return values[node]
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    return node


def _api_key(db: Database, kind: str, live: str) -> str | None:
    if kind == "none":
        return None
    if kind == "empty":
        return ""
    if kind == "unknown":
        return apps.KEY_PREFIX + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    if kind == "revoked":
        with db.session() as session:
            created = apps.create_app(
                session, "revoked-app", actor="t", now=dt.datetime.now(dt.UTC)
            )
            apps.revoke_app(session, created.name, actor="t", now=dt.datetime.now(dt.UTC))
        return created.key
    return live


def _error_code(endpoint: str, answer: dict[str, Any]) -> str | None:
    if endpoint in ("issue", "code_status"):  # the staff API's error list
        return str(answer["errors"][0]["code"])
    name = "code" if endpoint == "publish" else "errorCode"
    return answer.get(name)


def _check(endpoint: str, response: Any, expect: dict[str, Any], settings: Settings) -> None:
    assert response.status_code == expect["status"], response.text[:500]
    answer = response.json()
    expected_code = expect.get("errorCode", expect.get("code"))
    if expected_code is not None:
        assert _error_code(endpoint, answer) == expected_code, answer
    if "fields" in expect:
        assert set(answer) == set(expect["fields"]), answer
    for name, value in expect.get("values", {}).items():
        assert answer[name] == value, answer
    if endpoint in PHONE_ENDPOINTS:
        # Padding: every phone answer, success or error, has one size.
        assert len(response.content) == settings.exposure.response_size_bytes
        assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_conformance(
    case: dict[str, Any],
    app: FastAPI,
    db: Database,
    settings: Settings,
    code_policy: codes.CodePolicy,
    app_key: str,
    make_user: MakeUser,
    token_for: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    given = Given(values={"$ekeyhmac": _hmac()})
    given.values["$padding"] = base64.b64encode(os.urandom(1024 + os.urandom(1)[0] * 4)).decode()
    given.values["$tooLarge"] = '{"padding": "' + "a" * 70_000 + '"}'
    spec = case.get("given", {})
    if "code" in spec:
        given.code = _issue(db, code_policy, spec["code"])
        given.values["$code"] = given.code.short_code
        given.values["$longCode"] = given.code.long_code
    if "token" in spec:
        given.token = _token(db, code_policy, spec["token"])
        given.values["$token"] = given.token
    if "upload" in spec:
        given.values.update(_upload(db, settings, code_policy, spec["upload"]))
    endpoint = case["endpoint"]
    headers = dict(case.get("headers", {}))
    key = _api_key(db, case.get("apiKey", "live"), app_key)
    if key is not None:
        headers[wire.API_KEY_HEADER] = key
    if endpoint in ("issue", "code_status"):
        headers.update(token_for(make_user("xacminh", "verifier", "555")))
    if case.get("fault") == "store":

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise OperationalError("SELECT 1", {}, Exception("database went away"))

        monkeypatch.setattr(api, "_run_db", broken)

    with TestClient(app, base_url="http://testserver") as client:
        if endpoint == "code_status":
            response = client.get(f"/api/v1/verification/codes/{case['codeId']}", headers=headers)
        elif "raw" in case:
            raw = _fill(case["raw"], given.values)
            headers["Content-Type"] = case["contentType"]
            response = client.post(PATHS[endpoint], content=raw.encode(), headers=headers)
        else:
            body = _fill(case["body"], given.values)
            response = client.post(PATHS[endpoint], json=body, headers=headers)
        _check(endpoint, response, case["expect"], settings)
        then = case["expect"].get("then")
        if then:
            # The same client, a second request: what the refusal left usable.
            again = client.post(
                PATHS[endpoint],
                json=_fill(then["body"], given.values),
                headers={wire.API_KEY_HEADER: app_key},
            )
            _check(endpoint, again, then, settings)
    if case["expect"].get("unchanged"):
        # A refused request spent nothing: the code (or token) still works.
        now = dt.datetime.now(dt.UTC)
        with db.session() as session:
            if given.code is not None:
                codes.verify_code(session, code_policy, given.code.short_code, now=now)
            if given.token is not None:
                codes.issue_certificate(session, code_policy, given.token, _hmac(), now=now)


def test_every_error_code_of_the_issue_and_the_accept_hierarchy_are_covered() -> None:
    """The suite covers each error code issue 14 lists, the 401, and each step of accept."""
    covered = {case["expect"].get("errorCode", case["expect"].get("code")) for case in CASES}
    required = {
        wire.ERR_UNPARSABLE_REQUEST,
        wire.ERR_CODE_INVALID,
        wire.ERR_CODE_EXPIRED,
        wire.ERR_CODE_NOT_FOUND,
        wire.ERR_TOKEN_INVALID,
        wire.ERR_TOKEN_EXPIRED,
        wire.ERR_HMAC_INVALID,
        wire.ERR_MISSING_DATE,
        wire.ERR_INVALID_TEST_TYPE,
        wire.ERR_INTERNAL,
        wire.ERR_UNSUPPORTED_TEST_TYPE,
        "unauthorized",
        wire.PUBLISH_BAD_REQUEST,
        wire.PUBLISH_INTERNAL,
        wire.PUBLISH_UNKNOWN_HEALTH_AUTHORITY,
        wire.PUBLISH_CERTIFICATE_INVALID,
        wire.PUBLISH_MISSING_REVISION_TOKEN,
        wire.PUBLISH_INVALID_REVISION_TOKEN,
        wire.PUBLISH_INVALID_TRANSITION,
    }
    assert required <= covered, required - covered
    accept_steps = {
        (tuple(case["body"].get("accept") or ()), case["given"]["code"]["testType"])
        for case in CASES
        if case["id"].startswith("accept-") and "given" in case
    }
    for level in ("confirmed", "likely", "negative"):
        for code_type in ("confirmed", "likely", "negative"):
            assert ((level,), code_type) in accept_steps
