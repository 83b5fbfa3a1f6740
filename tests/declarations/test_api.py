"""The JSON API: citizens (declare, update, daily updates, tokens) and bad input."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.declarations.base import VIETNAM, local_today
from safezone.declarations.models import DailyUpdate, Declaration, IdempotencyRecord, Person

URL = "/api/v1/declarations"
Body = Callable[..., dict[str, Any]]


def counts(db: Database) -> tuple[int, int, int, int]:
    """Rows in each declarations table (to show nothing was half-stored)."""
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Person, Declaration, DailyUpdate, IdempotencyRecord)
        )


def declare(client: TestClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def errors_of(response: Any) -> dict[str, str]:
    """field -> code; every error carries both languages."""
    payload = response.json()
    for error in payload["errors"]:
        assert error["message_vi"], error
        assert error["message_en"], error
        assert set(error) == {"field", "code", "message_vi", "message_en"}
    return {error["field"]: error["code"] for error in payload["errors"]}


def test_declare_returns_id_pass_token_and_risk(client: TestClient, body: Body) -> None:
    created = declare(client, body())
    assert set(created) == {"id", "pass_token", "update_token", "risk"}
    assert created["risk"] == "medium"  # symptoms, no exposure
    assert created["update_token"].startswith("szu_")
    checked = client.post("/api/v1/passes/verify", json={"token": created["pass_token"]}).json()
    assert checked["valid"] is True
    assert checked["risk"] == "medium"
    assert checked["initials"] == "NVA"
    assert dt.datetime.fromisoformat(checked["issued"]).astimezone(VIETNAM).date() == local_today()


def test_the_issue_example_body_is_accepted(client: TestClient, body: Body) -> None:
    example = body(symptoms=["fever", "cough"])
    example["exposure"]["confirmed_case"] = True
    assert declare(client, example)["risk"] == "high"
    assert declare(client, body(id_number="C1234567", symptoms=[]))["risk"] == "low"


def test_every_bad_field_is_reported_in_both_languages(
    client: TestClient, body: Body, db: Database
) -> None:
    future = (local_today() + dt.timedelta(days=2)).isoformat()
    bad = body(
        full_name="A" * 101,
        birth_year=local_today().year + 1,
        id_number="12345",
        phone="0123",
        address={"unit_code": "555", "street": "x" * 201},
        symptoms=["fever", "sneezing"],
        travel=[{"place": "Hà Nội", "from": future, "to": future}],
        pledge=False,
    )
    before = counts(db)
    response = client.post(URL, json=bad)
    assert response.status_code == 422
    assert errors_of(response) == {
        "full_name": "string_too_long",
        "birth_year": "birth_year_out_of_range",
        "id_number": "invalid_id_number",
        "phone": "invalid_phone",
        "address.unit_code": "not_a_commune",
        "address.street": "string_too_long",
        "symptoms.1": "literal_error",
        "travel.0.from": "date_in_future",
        "travel.0.to": "date_in_future",
        "pledge": "pledge_required",
    }
    assert counts(db) == before


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"id_number": "05408500123"}, "id_number", "invalid_id_number"),
        ({"id_number": "ABC"}, "id_number", "invalid_id_number"),
        ({"phone": "12345"}, "phone", "invalid_phone"),
        ({"address": {"unit_code": "99999", "street": "1"}}, "address.unit_code", "unknown_unit"),
        ({"address": {"unit_code": "54", "street": "1"}}, "address.unit_code", "not_a_commune"),
        ({"birth_year": 1899}, "birth_year", "birth_year_out_of_range"),
        ({"birth_year": None}, "birth_year", "birth_required"),
        ({"symptoms": ["flu"]}, "symptoms.0", "literal_error"),
        ({"conditions": ["asthma"]}, "conditions.0", "literal_error"),
        ({"pledge": False}, "pledge", "pledge_required"),
        ({"pledge": None}, "pledge", "bool_type"),
        ({"full_name": "x" * 500}, "full_name", "string_too_long"),
        ({"declaration_type": "tourism"}, "declaration_type", "literal_error"),
        ({"gender": "?"}, "gender", "literal_error"),
        ({"email": "not-an-address"}, "email", "invalid_email"),
        ({"nationality": "V1"}, "nationality", "invalid_nationality"),
        ({"nationality": "XX"}, "nationality", "invalid_nationality"),  # not assigned
        ({"nationality": "EU"}, "nationality", "invalid_nationality"),  # not a country
        ({"nationality": "Việt Nam"}, "nationality", "string_too_long"),
        ({"colour": "red"}, "colour", "extra_forbidden"),
    ],
)
def test_bad_input(
    client: TestClient, body: Body, db: Database, changes: dict[str, Any], field: str, code: str
) -> None:
    before = counts(db)
    response = client.post(URL, json=body(**changes))
    assert response.status_code == 422, response.text
    assert errors_of(response).get(field) == code, response.json()
    assert counts(db) == before


def test_missing_pledge_and_birth_are_reported_with_other_errors(
    client: TestClient, body: Body
) -> None:
    bad = body(birth_year=None, phone="1")
    del bad["pledge"]
    found = errors_of(client.post(URL, json=bad))
    assert found == {"birth_year": "birth_required", "phone": "invalid_phone", "pledge": "missing"}


def test_travel_dates_in_order(client: TestClient, body: Body) -> None:
    today = local_today()
    earlier = (today - dt.timedelta(days=2)).isoformat()
    travel = [{"place": "Huế", "from": today.isoformat(), "to": earlier}]
    assert errors_of(client.post(URL, json=body(travel=travel))) == {"travel.0": "date_order"}


def test_travel_dates_outside_the_last_14_days_are_refused(
    client: TestClient, body: Body, db: Database
) -> None:
    today = local_today()
    before = counts(db)
    old = [{"place": "Huế", "from": "2020-03-01", "to": "2020-03-05"}]
    response = client.post(URL, json=body(travel=old))
    assert errors_of(response) == {
        "travel.0.from": "date_outside_window",
        "travel.0.to": "date_outside_window",
    }
    start = (today - dt.timedelta(days=14)).strftime("%d/%m/%Y")
    assert start in response.json()["errors"][0]["message_vi"]
    assert counts(db) == before
    edge = [
        {
            "place": "Huế",
            "from": (today - dt.timedelta(days=14)).isoformat(),
            "to": today.isoformat(),
        }
    ]
    assert client.post(URL, json=body(travel=edge)).status_code == 201


def test_gender_is_required_or_explicitly_not_stated(client: TestClient, body: Body) -> None:
    missing = body()
    del missing["gender"]
    response = client.post(URL, json=missing)
    assert errors_of(response) == {"gender": "missing"}
    assert response.json()["errors"][0]["message_vi"] == "Giới tính: bắt buộc"
    assert response.json()["errors"][0]["message_en"] == "Gender: required"
    assert declare(client, body(gender="not_stated"))["risk"] == "medium"


def test_wrong_content_type_bad_json_and_oversized_body(
    client: TestClient, body: Body, db: Database
) -> None:
    before = counts(db)
    as_form = client.post(URL, data={"full_name": "x"})
    assert as_form.status_code == 415
    assert errors_of(as_form) == {None: "unsupported_media_type"}
    broken = client.post(URL, content=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 422
    assert errors_of(broken) == {"body": "json_invalid"}
    not_object = client.post(URL, json=[1, 2])
    assert not_object.status_code == 422
    huge = body(full_name="A" * 2_000_000)
    too_big = client.post(
        URL, content=json.dumps(huge), headers={"Content-Type": "application/json"}
    )
    assert too_big.status_code == 413
    assert counts(db) == before


def test_update_with_token_recomputes_risk(client: TestClient, body: Body) -> None:
    created = declare(client, body(symptoms=[]))
    assert created["risk"] == "low"
    changed = body(symptoms=["fever"])
    changed["exposure"]["confirmed_case"] = True
    response = client.put(
        f"{URL}/{created['id']}", json=changed, headers={"X-Update-Token": created["update_token"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["risk"] == "high"
    assert response.json()["update_token"] == created["update_token"]


def test_update_token_is_required_and_checked(client: TestClient, body: Body, db: Database) -> None:
    first = declare(client, body())
    second = declare(client, body(id_number="054085009999", phone="0905000111"))
    url = f"{URL}/{first['id']}"
    assert client.put(url, json=body()).status_code == 401
    wrong = client.put(url, json=body(), headers={"X-Update-Token": second["update_token"]})
    unknown = client.put(f"{URL}/999999", json=body(), headers={"X-Update-Token": "x"})
    # A wrong token answers exactly like an unknown id: nothing tells which ids exist.
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()
    assert errors_of(wrong) == {"id": "declaration_not_found"}
    # Without a token, every id answers 401, existing or not.
    assert client.put(f"{URL}/999999", json=body()).status_code == 401
    # A bad token is refused before the body is even looked at.
    assert client.put(url, json={"nonsense": 1}, headers={"X-Update-Token": "x"}).status_code == 404


def test_revoked_token_stops_working(client: TestClient, body: Body) -> None:
    created = declare(client, body())
    headers = {"X-Update-Token": created["update_token"]}
    assert client.delete(f"{URL}/{created['id']}/update-token", headers=headers).status_code == 204
    response = client.post(
        f"{URL}/{created['id']}/updates", json={"statuses": ["healthy"]}, headers=headers
    )
    assert response.status_code == 403
    assert errors_of(response) == {"update_token": "update_token_revoked"}


def test_one_daily_update_per_person_per_day(client: TestClient, body: Body, db: Database) -> None:
    created = declare(client, body(symptoms=[]))
    url = f"{URL}/{created['id']}/updates"
    headers = {"X-Update-Token": created["update_token"]}
    first = client.post(url, json={"statuses": ["fever", "cough"]}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["risk"] == "medium"  # recomputed from the update's symptoms
    before = counts(db)
    again = client.post(url, json={"statuses": ["healthy"]}, headers=headers)
    assert again.status_code == 409
    assert errors_of(again) == {"day": "daily_update_exists"}
    assert counts(db) == before
    yesterday = (local_today() - dt.timedelta(days=1)).isoformat()
    late = client.post(url, json={"statuses": ["healthy"], "day": yesterday}, headers=headers)
    assert late.status_code == 201


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"statuses": []}, "statuses", "too_short"),
        ({"statuses": ["sneezing"]}, "statuses.0", "literal_error"),
        ({"statuses": ["healthy", "fever"]}, "statuses", "healthy_with_symptoms"),
        ({"statuses": ["fever"], "day": "2999-01-01"}, "day", "day_out_of_range"),
    ],
)
def test_bad_daily_updates(
    client: TestClient, body: Body, db: Database, payload: dict[str, Any], field: str, code: str
) -> None:
    created = declare(client, body())
    before = counts(db)
    response = client.post(
        f"{URL}/{created['id']}/updates",
        json=payload,
        headers={"X-Update-Token": created["update_token"]},
    )
    assert response.status_code == 422
    assert errors_of(response) == {field: code}
    assert counts(db) == before


def test_idempotency_key_replays_the_first_answer(
    client: TestClient, body: Body, db: Database
) -> None:
    first = declare(client, body(), **{"Idempotency-Key": "retry-1"})
    again = declare(client, body(), **{"Idempotency-Key": "retry-1"})
    assert again == first
    assert counts(db)[1] == 1
    other = client.post(
        URL, json=body(full_name="Trần Thị Bình"), headers={"Idempotency-Key": "retry-1"}
    )
    assert other.status_code == 409
    assert errors_of(other) == {"Idempotency-Key": "idempotency_key_reused"}
    # Written for a citizen: what happened and what to do, no protocol names.
    message = other.json()["errors"][0]
    assert "Idempotency" not in message["message_vi"]
    assert "Idempotency" not in message["message_en"]
    assert "tải lại" in message["message_vi"]
    assert declare(client, body(), **{"Idempotency-Key": "retry-2"})["id"] != first["id"]


def test_pass_verification_endpoint_rejects_tampering(client: TestClient, body: Body) -> None:
    token = declare(client, body())["pass_token"]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    result = client.post("/api/v1/passes/verify", json={"token": tampered}).json()
    assert result == {
        "valid": False,
        "reason": "bad_signature",
        "serial": None,
        "issued": None,
        "expires": None,
        "risk": None,
        "initials": None,
        "birth_year": None,
    }
    assert client.post("/api/v1/passes/verify", json={"token": "garbage"}).json()["reason"] == (
        "malformed"
    )
