"""Decoys and padding (issue 8 item 5) and the documented shape of the phone API (item 10)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safezone.app import create_app
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.en.keys import TemporaryExposureKey
from safezone.exposure import codes, export
from safezone.exposure.api import CALIBRATION_SAMPLES, ExposureRuntime
from tests.exposure.conftest import NOW, IssueCode, make_keys, new_app_key

WORK_SECONDS = (0.002, 0.004)  # what the (simulated) real work path takes in this test


class FakeTime:
    """A clock that moves only when the code under test sleeps or does (simulated) work."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_decoys_wait_like_real_answers_from_the_first_request(
    settings: Settings, db: Database, issue_code: IssueCode, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeTime()
    durations = random.Random(7)  # simulated work times, not a secret
    real_verify = codes.verify_code

    def timed_verify(*args: Any, **kwargs: Any) -> codes.Verified:
        fake.now += durations.uniform(*WORK_SECONDS)
        return real_verify(*args, **kwargs)

    monkeypatch.setattr(codes, "verify_code", timed_verify)
    app = create_app(settings, db)
    runtime = ExposureRuntime.build(settings, db, clock=fake.clock, sleep=fake.sleep)
    app.state.exposure = runtime
    assert {name: len(s.samples()) for name, s in runtime.latency.items()} == {
        "verify": CALIBRATION_SAMPLES,
        "certificate": CALIBRATION_SAMPLES,
        "publish": CALIBRATION_SAMPLES,
    }
    calibrated = set(runtime.latency["verify"].samples())

    def answer_time(client: TestClient, code: str, **headers: str) -> float:
        before = fake.now
        answer = client.post("/api/verify", json={"code": code}, headers=headers)
        assert answer.status_code == 200, answer.text
        return fake.now - before

    with TestClient(app, headers={"X-API-Key": new_app_key(db)}) as client:
        # Decoys first, before any real success since the start.
        decoys = [answer_time(client, "00000000", **{"X-Chaff": "1"}) for _ in range(20)]
        issued = [issue_code() for _ in range(20)]
        reals = [answer_time(client, code.short_code) for code in issued]
    low, high = WORK_SECONDS
    assert all(low <= seconds <= high for seconds in reals)
    # Every decoy waited a duration measured on the real work path at start-up.
    assert all(any(abs(d - c) < 1e-9 for c in calibrated) for d in decoys)
    assert all(low <= seconds <= high for seconds in decoys)


def test_padding_keys_come_from_the_os_random_source(monkeypatch: pytest.MonkeyPatch) -> None:
    def predictable(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("padding drawn from Mersenne Twister (random.Random)")

    # SystemRandom (what ``secrets`` uses) overrides these; a plain random.Random does not.
    for name in ("random", "getrandbits", "randbytes"):
        monkeypatch.setattr(random.Random, name, predictable)
    real = make_keys(NOW, 3)
    for model in (real, []):
        padding = export.padding_keys(50, model, NOW, 14)
        assert len({key.key_data for key in padding}) == 50
    injected = export.padding_keys(4, real, NOW, 14, random_bytes=lambda n: bytes(range(n)))
    assert [key.key_data for key in injected] == [
        bytes(range(16 * i, 16 * i + 16)) for i in range(4)
    ]


class MemoryStorage:
    """Export files in a dict (the local backend's temporary names use ``random.Random``)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def put(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def get(self, path: str) -> bytes:
        return self.files[path]

    def delete(self, path: str) -> None:
        self.files.pop(path, None)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(path for path in self.files if path.startswith(prefix))


def test_export_with_padding_never_touches_mersenne_twister(
    db: Database,
    settings: Settings,
    signing_key: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def predictable(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("random.Random used by the export")

    for name in ("random", "getrandbits", "randbytes"):
        monkeypatch.setattr(random.Random, name, predictable)
    with db.session() as session:
        report = export.run_export(session, settings, MemoryStorage(), now=NOW)
    assert report.padding_keys >= settings.exposure.min_keys_per_file


def test_padding_bytes_look_uniform() -> None:
    keys: list[TemporaryExposureKey] = export.padding_keys(
        2000, [], dt.datetime(2026, 3, 10, tzinfo=dt.UTC), 14
    )
    counts = [0] * 256
    for key in keys:
        for byte in key.key_data:
            counts[byte] += 1
    expected = 2000 * 16 / 256
    chi_square = sum((count - expected) ** 2 / expected for count in counts)
    assert chi_square < 400  # 255 degrees of freedom: p < 1e-8 for a fair source to exceed


def test_openapi_documents_the_phone_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, schema, fields in (
        (
            "/api/verify",
            "VerifyCodeResponse",
            {"testtype", "symptomDate", "testDate", "token", "error", "errorCode", "padding"},
        ),
        ("/api/certificate", "VerificationCertificateResponse", {"certificate", "errorCode"}),
        (
            "/v1/publish",
            "PublishOut",
            {"revisionToken", "insertedExposures", "error", "code", "padding", "warnings"},
        ),
    ):
        responses = spec["paths"][path]["post"]["responses"]
        ok = responses["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{schema}"}
        assert fields <= set(schemas[schema]["properties"])
        assert "requestBody" in spec["paths"][path]["post"]
    verify = spec["paths"]["/api/verify"]["post"]
    assert set(verify["requestBody"]["content"]["application/json"]["schema"]["properties"]) >= {
        "code",
        "accept",
        "padding",
    }
    assert verify["responses"]["412"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/VerifyCodeResponse"
    }
    assert {"powChallenge", "powBits"} <= set(schemas["VerifyCodeResponse"]["properties"])
    # The app key is a documented security scheme of verify and certificate, not of publish.
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert verify["security"] == [{"APIKeyHeader": []}]
    assert "security" not in spec["paths"]["/v1/publish"]["post"]
    # The old paths still answer but are not documented twice.
    assert "/api/v1/verify" not in spec["paths"]
