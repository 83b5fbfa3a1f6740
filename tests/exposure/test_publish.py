"""Publish: the reference server's validation rules, revisions, embargo, decoys, bad input."""

from __future__ import annotations

import base64
import datetime as dt
import os
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.exposure import codes
from safezone.exposure.models import ExposureKey, Upload, UsedCertificate
from safezone.exposure.publish import PublishPolicy, PublishRejected, publish
from safezone.exposure.wire import PublishIn
from tests.exposure.conftest import NOW, day_start, interval, key_json, make_keys, publish_body


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(ExposureKey)) or 0,
            session.scalar(select(func.count()).select_from(Upload)) or 0,
            session.scalar(select(func.count()).select_from(UsedCertificate)) or 0,
        )


def _publish(db: Database, policy: PublishPolicy, body: dict[str, Any], now: dt.datetime = NOW):
    with db.session() as session:
        return publish(session, policy, PublishIn.model_validate(body), now=now)


def test_valid_upload_is_stored_with_report_type_risk_and_onset(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    keys = make_keys(NOW)
    onset = NOW.date() - dt.timedelta(days=5)
    result = _publish(
        db, publish_policy, publish_body(code_policy, keys, now=NOW, symptom_date=onset)
    )
    assert result.inserted == 14
    assert result.warnings == []
    with db.session() as session:
        rows = {r.key_data: r for r in session.scalars(select(ExposureKey))}
    assert set(rows) == {k.key_data for k in keys}
    newest = rows[keys[-1].key_data]
    assert newest.report_type == ReportType.CONFIRMED_TEST
    assert newest.transmission_risk == 2  # back-filled from "confirmed"
    assert newest.days_since_onset == 4  # yesterday's key, onset five days ago
    assert newest.region == "VN"
    assert newest.created_at == dt.datetime(2026, 3, 10, 13, tzinfo=dt.UTC)  # hour, not second
    assert _counts(db) == (14, 1, 1)


def test_keys_still_valid_are_embargoed_until_they_expire(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    today = TemporaryExposureKey(os.urandom(16), day_start(NOW), 144)
    _publish(db, publish_policy, publish_body(code_policy, [today], now=NOW))
    with db.session() as session:
        row = session.scalars(select(ExposureKey)).one()
    assert row.created_at == dt.datetime(2026, 3, 11, tzinfo=dt.UTC)


def test_likely_keys_without_onset_get_the_default_and_risk_four(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    keys = make_keys(NOW, days=2)
    _publish(db, publish_policy, publish_body(code_policy, keys, now=NOW, test_type="likely"))
    with db.session() as session:
        rows = session.scalars(select(ExposureKey).order_by(ExposureKey.rolling_start)).all()
    assert [r.transmission_risk for r in rows] == [4, 4]
    assert [r.report_type for r in rows] == [int(ReportType.CONFIRMED_CLINICAL_DIAGNOSIS)] * 2
    assert [r.days_since_onset for r in rows] == [2, 3]  # onset defaults to 4 days ago


def test_keys_far_from_onset_are_dropped_with_a_warning(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    keys = make_keys(NOW, days=14)
    onset = NOW.date() - dt.timedelta(days=20)
    result = _publish(
        db, publish_policy, publish_body(code_policy, keys, now=NOW, symptom_date=onset)
    )
    # Keys of the last 5 days are more than 14 days after the onset: dropped, with a warning.
    assert result.inserted == 9
    assert len(result.warnings) == 5


def _bad_bodies(
    policy: codes.CodePolicy, now: dt.datetime
) -> dict[str, tuple[dict[str, Any], str]]:
    keys = make_keys(now, days=3)
    cases: dict[str, tuple[dict[str, Any], str]] = {}
    thirty_one = [
        TemporaryExposureKey(os.urandom(16), day_start(now) - 144 * 14 + n, 1) for n in range(31)
    ]
    cases["31 keys"] = (publish_body(policy, thirty_one, now=now), "bad_request")
    cases["no keys"] = (publish_body(policy, [], now=now), "bad_request")
    duplicate = publish_body(policy, keys, now=now)
    duplicate["temporaryExposureKeys"].append(duplicate["temporaryExposureKeys"][0])
    cases["duplicate key"] = (duplicate, "bad_request")
    bad64 = publish_body(policy, keys, now=now)
    bad64["temporaryExposureKeys"][0]["key"] = "not base64!"
    cases["invalid base64"] = (bad64, "bad_request")
    short = publish_body(policy, keys, now=now)
    short["temporaryExposureKeys"][0]["key"] = base64.b64encode(b"x" * 15).decode()
    cases["15-byte key"] = (short, "bad_request")
    future = [TemporaryExposureKey(os.urandom(16), interval(now) + 6, 144)]
    cases["key from the future"] = (publish_body(policy, future, now=now), "bad_request")
    old = [TemporaryExposureKey(os.urandom(16), day_start(now) - 144 * 16, 144)]
    cases["key older than 15 days"] = (publish_body(policy, old, now=now), "bad_request")
    for period in (0, 145):
        body = publish_body(policy, keys, now=now)
        body["temporaryExposureKeys"][0]["rollingPeriod"] = period
        cases[f"rolling period {period}"] = (body, "bad_request")
    risky = publish_body(policy, keys, now=now)
    risky["temporaryExposureKeys"][0]["transmissionRisk"] = 9
    cases["transmission risk 9"] = (risky, "bad_request")
    same_start = [TemporaryExposureKey(os.urandom(16), day_start(now) - 144, 144)] * 0 + [
        TemporaryExposureKey(os.urandom(16), day_start(now) - 144, p) for p in (10, 20, 30, 144)
    ]
    cases["four keys with one start"] = (publish_body(policy, same_start, now=now), "bad_request")
    overlapping = [
        TemporaryExposureKey(os.urandom(16), day_start(now) - 144, 144),
        TemporaryExposureKey(os.urandom(16), day_start(now) - 100, 44),
    ]
    cases["overlapping keys"] = (publish_body(policy, overlapping, now=now), "bad_request")
    unknown = publish_body(policy, keys, now=now, healthAuthorityID="elsewhere")
    cases["unknown health authority"] = (unknown, "unknown_health_authority_id")
    other_keys = publish_body(policy, keys, now=now)
    other_keys["verificationPayload"] = publish_body(policy, make_keys(now, 3), now=now)[
        "verificationPayload"
    ]
    cases["certificate for other keys"] = (
        other_keys,
        "health_authority_verification_certificate_invalid",
    )
    wrong_secret = publish_body(policy, keys, now=now)
    wrong_secret["hmacKey"] = base64.b64encode(os.urandom(32)).decode()
    cases["wrong hmacKey"] = (wrong_secret, "health_authority_verification_certificate_invalid")
    expired = publish_body(policy, keys, now=now - dt.timedelta(minutes=16))
    cases["expired certificate"] = (expired, "health_authority_verification_certificate_invalid")
    forged = publish_body(policy, keys, now=now)
    forged["verificationPayload"] = forged["verificationPayload"][:-4] + "AAAA"
    cases["forged signature"] = (forged, "health_authority_verification_certificate_invalid")
    return cases


def test_every_bad_upload_is_refused_with_its_code_and_stores_nothing(
    db: Database, client: TestClient, code_policy: codes.CodePolicy
) -> None:
    for name, (body, code) in _bad_bodies(code_policy, dt.datetime.now(dt.UTC)).items():
        response = client.post("/v1/publish", json=body)
        assert 400 <= response.status_code < 500, name
        answer = response.json()
        assert answer["code"] == code, (name, answer)
        assert answer["error"], name
        assert "insertedExposures" not in answer, name
        assert _counts(db) == (0, 0, 0), name


def test_wrong_audience_or_issuer_is_refused(
    db: Database, publish_policy: PublishPolicy, settings: Any
) -> None:
    from dataclasses import replace

    other = replace(codes.CodePolicy.from_settings(settings), audience="another-server")
    keys = make_keys(NOW, 2)
    with pytest.raises(PublishRejected) as error:
        _publish(db, publish_policy, publish_body(other, keys, now=NOW))
    assert error.value.code == "health_authority_verification_certificate_invalid"
    assert _counts(db) == (0, 0, 0)


def test_a_certificate_works_once(
    db: Database, client: TestClient, code_policy: codes.CodePolicy
) -> None:
    now = dt.datetime.now(dt.UTC)
    body = publish_body(code_policy, make_keys(now), now=now)
    assert client.post("/v1/publish", json=body).status_code == 200
    replay = client.post("/v1/publish", json=body)
    assert replay.status_code == 401
    assert replay.json()["code"] == "health_authority_verification_certificate_invalid"


def test_revision_likely_to_confirmed_with_the_token_only(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    keys = make_keys(NOW, days=4)
    first = _publish(
        db, publish_policy, publish_body(code_policy, keys, now=NOW, test_type="likely")
    )
    later = NOW + dt.timedelta(hours=5)
    with pytest.raises(PublishRejected) as missing:
        _publish(db, publish_policy, publish_body(code_policy, keys, now=later), later)
    assert missing.value.code == "missing_revision_token"
    other = _publish(db, publish_policy, publish_body(code_policy, make_keys(NOW, 1), now=NOW))
    with pytest.raises(PublishRejected) as foreign:
        _publish(
            db,
            publish_policy,
            publish_body(code_policy, keys, now=later, revisionToken=other.revision_token),
            later,
        )
    assert foreign.value.code == "invalid_revision_token"
    revised = _publish(
        db,
        publish_policy,
        publish_body(code_policy, keys, now=later, revisionToken=first.revision_token),
        later,
    )
    assert revised.inserted == 4
    assert revised.revised_keys == 4
    with db.session() as session:
        rows = session.scalars(
            select(ExposureKey).where(ExposureKey.key_data.in_([k.key_data for k in keys]))
        ).all()
    assert {r.revised_report_type for r in rows} == {int(ReportType.CONFIRMED_TEST)}
    assert {r.revised_transmission_risk for r in rows} == {2}
    with pytest.raises(PublishRejected) as again:
        _publish(
            db,
            publish_policy,
            publish_body(
                code_policy,
                keys,
                now=later,
                test_type="negative",
                revisionToken=revised.revision_token,
            ),
            later,
        )
    assert again.value.code == "key_already_revised"


def test_confirmed_cannot_become_likely(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    keys = make_keys(NOW, days=2)
    first = _publish(db, publish_policy, publish_body(code_policy, keys, now=NOW))
    with pytest.raises(PublishRejected) as error:
        _publish(
            db,
            publish_policy,
            publish_body(
                code_policy, keys, now=NOW, test_type="likely", revisionToken=first.revision_token
            ),
        )
    assert error.value.code == "invalid_report_type_transition"


def test_first_negative_upload_stores_no_keys(
    db: Database, publish_policy: PublishPolicy, code_policy: codes.CodePolicy
) -> None:
    result = _publish(
        db, publish_policy, publish_body(code_policy, make_keys(NOW), now=NOW, test_type="negative")
    )
    assert result.inserted == 0
    assert _counts(db)[:2] == (0, 0)


def test_revision_tokens_have_one_length(publish_policy: PublishPolicy) -> None:
    lengths = {len(publish_policy.revision_token([os.urandom(16)] * n)) for n in (0, 1, 14, 30)}
    assert lengths == {publish_policy.revision_token_length}


def test_http_bad_input_oversized_wrong_type_malformed(db: Database, client: TestClient) -> None:
    big = client.post(
        "/v1/publish",
        content=b'{"padding": "' + b"a" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    # The key server's statuses (413, 415), each with its one code for a bad body.
    assert big.status_code == 413
    assert big.json()["code"] == "bad_request"
    wrong_type = client.post("/v1/publish", content=b"{}", headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json()["code"] == "bad_request"
    for raw in (b"{not json", b"[]", b'{"temporaryExposureKeys": "x"}', b"null"):
        response = client.post(
            "/v1/publish", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["code"] == "bad_request"
    wrong_types = {
        "temporaryExposureKeys": [{"key": 5, "rollingStartNumber": "1", "rollingPeriod": 1}],
        "healthAuthorityID": "safezone-demo",
    }
    assert client.post("/v1/publish", json=wrong_types).status_code == 400
    assert _counts(db) == (0, 0, 0)


def test_decoy_upload_answers_like_a_real_one_and_stores_nothing(
    db: Database, client: TestClient, code_policy: codes.CodePolicy
) -> None:
    now = dt.datetime.now(dt.UTC)
    body = publish_body(code_policy, make_keys(now), now=now)
    decoy = client.post("/v1/publish", json=body, headers={"X-Chaff": "1"})
    assert _counts(db) == (0, 0, 0)
    real = client.post("/v1/publish", json=body)
    assert real.status_code == decoy.status_code == 200
    assert len(real.content) == len(decoy.content)
    assert set(real.json()) == set(decoy.json())
    assert len(real.json()["revisionToken"]) == len(decoy.json()["revisionToken"])
    assert decoy.json()["insertedExposures"] == real.json()["insertedExposures"] == 14
    # An error answer has the same size as well.
    assert len(client.post("/v1/publish", json={"x": 1}).content) == len(real.content)


def test_publish_api_body_is_json_with_reference_field_names(
    client: TestClient, code_policy: codes.CodePolicy
) -> None:
    now = dt.datetime.now(dt.UTC)
    keys = make_keys(now, 2)
    body = publish_body(code_policy, keys, now=now)
    body["temporaryExposureKeys"] = key_json(keys)
    answer = client.post("/v1/publish", json=body)
    assert answer.headers["cache-control"] == "no-store"
    assert {"revisionToken", "insertedExposures", "padding"} <= set(answer.json())
