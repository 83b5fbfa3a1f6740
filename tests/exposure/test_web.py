"""HTTP: verify/certificate answers, decoys and rate limits; the code page and the statistics
page (scope matrix); staff code API."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.exposure.models import VerificationCode, VerificationToken
from tests.conftest import MakeUser, login
from tests.exposure.conftest import IssueCode, Phone, make_keys


def test_verify_and_certificate_answers_and_decoys_have_one_size(
    db: Database, client: TestClient, phone: Phone, issue_code: IssueCode
) -> None:
    issued = issue_code(symptom_date=dt.datetime.now(dt.UTC).date())
    real = phone.verify(issued.long_code)
    assert real.status_code == 200
    assert set(real.json()) == {"token", "testtype", "symptomDate", "testDate", "padding"}
    decoy = phone.verify("00000000", **{"X-Chaff": "1"})
    wrong = phone.verify("00000000")
    assert wrong.status_code == 400
    assert wrong.json()["errorCode"] == "code_invalid"
    assert len(real.content) == len(decoy.content) == len(wrong.content)
    assert set(decoy.json()) == set(real.json())
    keys = make_keys(dt.datetime.now(dt.UTC), 3)
    certificate = phone.certificate(real.json()["token"], keys, b"secret")
    decoy_certificate = client.post(
        "/api/certificate", json={"token": "x", "ekeyhmac": "y"}, headers={"X-Chaff": "1"}
    )
    assert certificate.status_code == decoy_certificate.status_code == 200
    assert len(certificate.content) == len(decoy_certificate.content)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(VerificationToken)) == 1


def test_bad_phone_requests_are_4xx_with_an_error_code(client: TestClient) -> None:
    for path in ("/api/verify", "/api/certificate"):
        assert (
            client.post(
                path, content=b"{", headers={"Content-Type": "application/json"}
            ).status_code
            == 400
        )
        # Google's verification server: a body that is not JSON is unparsable too (400).
        not_json = client.post(path, content=b"{}", headers={"Content-Type": "text/plain"})
        assert not_json.status_code == 400
        assert not_json.json()["errorCode"] == "unparsable_request"
        assert client.post(path, json={"code": 5, "token": 1}).json()["errorCode"]


def test_staff_api_issues_and_revokes_within_scope(
    db: Database, client: TestClient, make_user: MakeUser, token_for: Any
) -> None:
    verifier = token_for(make_user("xacminh", "verifier", "555"))
    officer = token_for(make_user("yte", "health_officer", "555"))
    other = token_for(make_user("xacminh2", "verifier", "22015"))
    body = {
        "test_type": "confirmed",
        "test_date": dt.datetime.now(dt.UTC).date().isoformat(),
        "unit_code": "555",
    }
    assert client.post("/api/v1/verification/codes", json=body).status_code == 401
    assert client.post("/api/v1/verification/codes", json=body, headers=officer).status_code == 403
    assert client.post("/api/v1/verification/codes", json=body, headers=other).status_code == 404
    issued = client.post("/api/v1/verification/codes", json=body, headers=verifier)
    assert issued.status_code == 201
    code_id = issued.json()["id"]
    assert client.get(f"/api/v1/verification/codes/{code_id}", headers=other).status_code == 404
    status = client.get(f"/api/v1/verification/codes/{code_id}", headers=verifier).json()
    assert status["status"] == "active"
    assert "short_code" not in status
    revoked = client.post(f"/api/v1/verification/codes/{code_id}/revoke", headers=verifier)
    assert revoked.json()["status"] == "revoked"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(VerificationCode)) == 1


def test_code_page_issue_and_revoke(client: TestClient, make_user: MakeUser) -> None:
    make_user("xacminh", "verifier", "555")
    csrf = login(client, "xacminh")
    page = client.get("/exposure/codes", headers={"Accept": "text/html"})
    assert page.status_code == 200
    issued = client.post(
        "/exposure/codes",
        data={
            "csrf_token": csrf,
            "test_type": "likely",
            "unit_code": "555",
            "test_date": dt.datetime.now(dt.UTC).date().isoformat(),
        },
        headers={"Accept": "text/html"},
    )
    assert issued.status_code == 201
    assert re.search(r'data-testid="short-code">\d{8}<', issued.text)
    code_id = re.search(r'data-testid="code-(\d+)"', issued.text)
    assert code_id
    revoked = client.post(
        f"/exposure/codes/{code_id.group(1)}/revoke",
        data={"csrf_token": csrf},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    no_csrf = client.post(
        "/exposure/codes",
        data={"test_type": "likely", "unit_code": "555"},
        headers={"Accept": "text/html"},
    )
    assert no_csrf.status_code == 403
    bad = client.post(
        "/exposure/codes",
        data={"csrf_token": csrf, "test_type": "likely", "unit_code": "555"},
        headers={"Accept": "text/html"},
    )
    assert bad.status_code == 422


def test_stats_page_has_charts_and_scoped_code_counts(
    client: TestClient, make_user: MakeUser, issue_code: IssueCode
) -> None:
    issue_code(unit_code="555")
    issue_code(unit_code="22015")  # a commune of Tuy Hòa
    issue_code(unit_code="557")  # another district
    make_user("tinh", "health_officer", "54")
    make_user("phuong", "health_officer", "22015")
    make_user("tnv", "volunteer", "22015")
    for username, expected in (("tinh", "3"), ("phuong", "1")):
        client.cookies.clear()
        login(client, username)
        page = client.get("/exposure/stats", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert 'data-testid="total-codes-issued">' + expected + "<" in page.text
        assert 'id="exposure-chart" data-figure=' in page.text
        assert 'src="/static/charts.js"' in page.text
    client.cookies.clear()
    login(client, "tnv")
    assert client.get("/exposure/stats", headers={"Accept": "text/html"}).status_code == 403
    assert client.get("/assets/plotly.min.js").status_code == 200
