"""Fixtures of the exposure-server tests: settings with the demo health authority, policies,
a signing key, and a phone that walks the verification protocol over HTTP."""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import tekmac
from safezone.exposure import apps, codes, signing, wire
from safezone.exposure.publish import PublishPolicy
from safezone.exposure.storage import LocalStorage

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
#: A fixed "now" in the middle of a UTC day, so windows and days are predictable.
NOW = dt.datetime(2026, 3, 10, 13, 25, tzinfo=dt.UTC)


@pytest.fixture
def exposure_config() -> ExposureConfig:
    """The exposure settings of a test (override in a module to change them)."""
    return ExposureConfig(health_authorities={"safezone-demo": "VN"})


@pytest.fixture
def settings(tmp_path: Path, database_url: str, exposure_config: ExposureConfig) -> Settings:
    """Settings with one health authority (``safezone-demo`` -> ``VN``)."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=TEST_SECRET,
        log_json=True,
        exposure=exposure_config,
    )


@pytest.fixture
def code_policy(settings: Settings) -> codes.CodePolicy:
    """The verification policy."""
    return codes.CodePolicy.from_settings(settings)


@pytest.fixture
def publish_policy(settings: Settings, code_policy: codes.CodePolicy) -> PublishPolicy:
    """The publish policy."""
    return PublishPolicy.from_settings(settings, code_policy)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    """The local export directory the app serves."""
    return LocalStorage(tmp_path / "exposure")


@pytest.fixture
def signing_key(db: Database, settings: Settings) -> signing.PublicSigningKey:
    """A generated export signing key."""
    with db.session() as session:
        return signing.generate(session, settings, now=NOW - dt.timedelta(days=30))


def interval(when: dt.datetime) -> int:
    """ENIntervalNumber of ``when``."""
    return int(when.timestamp()) // 600


def day_start(when: dt.datetime) -> int:
    """Interval of UTC midnight of ``when``'s day."""
    return interval(when) // 144 * 144


def make_keys(now: dt.datetime, days: int = 14, risk: int = 0) -> list[TemporaryExposureKey]:
    """``days`` expired daily keys ending yesterday (oldest first)."""
    today = day_start(now)
    return [
        TemporaryExposureKey(os.urandom(16), today - 144 * n, 144, risk) for n in range(days, 0, -1)
    ]


def key_json(keys: list[TemporaryExposureKey]) -> list[dict[str, Any]]:
    """Keys in the publish API's JSON shape."""
    return [
        {
            "key": base64.b64encode(k.key_data).decode(),
            "rollingStartNumber": k.rolling_start_interval_number,
            "rollingPeriod": k.rolling_period,
            "transmissionRisk": k.transmission_risk_level,
        }
        for k in keys
    ]


def certificate_for(
    policy: codes.CodePolicy,
    keys: list[TemporaryExposureKey],
    secret: bytes,
    *,
    now: dt.datetime,
    test_type: str = "confirmed",
    symptom_date: dt.date | None = None,
    test_date: dt.date | None = None,
) -> str:
    """A valid certificate for ``keys`` (bypassing codes, for publish tests)."""
    return codes.sign_certificate(
        policy,
        test_type=test_type,
        test_date=test_date or now.date(),
        symptom_date=symptom_date,
        ekeyhmac=tekmac(keys, secret),
        now=now,
    )


def publish_body(
    policy: codes.CodePolicy,
    keys: list[TemporaryExposureKey],
    *,
    now: dt.datetime,
    test_type: str = "confirmed",
    symptom_date: dt.date | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A complete, valid publish request body."""
    secret = os.urandom(32)
    body = {
        "temporaryExposureKeys": key_json(keys),
        "healthAuthorityID": "safezone-demo",
        "verificationPayload": certificate_for(
            policy, keys, secret, now=now, test_type=test_type, symptom_date=symptom_date
        ),
        "hmacKey": base64.b64encode(secret).decode(),
        "padding": base64.b64encode(os.urandom(600)).decode(),
    }
    body.update(extra)
    return body


def new_app_key(database: Database) -> str:
    """The API key of a new app (a fresh name each time) in ``database``."""
    with database.session() as session:
        return apps.create_app(session, f"app-{os.urandom(6).hex()}", actor="test", now=NOW).key


@pytest.fixture
def app_key(db: Database) -> str:
    """The API key of an app created for the test (sent as ``X-API-Key``)."""
    return new_app_key(db)


@pytest.fixture
def client(app: Any, app_key: str) -> Iterator[TestClient]:
    """An HTTP client for the app that sends the test app's key, as a phone app does."""
    with TestClient(
        app, base_url="http://testserver", headers={wire.API_KEY_HEADER: app_key}
    ) as test_client:
        yield test_client


@dataclass
class Phone:
    """A phone talking to the server over HTTP, as the apps do."""

    client: TestClient

    def verify(self, code: str, **headers: str) -> Any:
        """POST /api/verify."""
        return self.client.post(wire.VERIFY_PATH, json={"code": code}, headers=headers)

    def certificate(self, token: str, keys: list[TemporaryExposureKey], secret: bytes) -> Any:
        """POST /api/certificate with the keys' HMAC."""
        return self.client.post(
            wire.CERTIFICATE_PATH, json={"token": token, "ekeyhmac": tekmac(keys, secret)}
        )

    def upload(
        self, code: str, keys: list[TemporaryExposureKey], **extra: Any
    ) -> tuple[Any, dict[str, Any]]:
        """The whole protocol: verify, certificate, publish. Returns (response, body sent)."""
        verified = self.verify(code)
        assert verified.status_code == 200, verified.text
        secret = os.urandom(32)
        issued = self.certificate(verified.json()["token"], keys, secret)
        assert issued.status_code == 200, issued.text
        body = {
            "temporaryExposureKeys": key_json(keys),
            "healthAuthorityID": "safezone-demo",
            "verificationPayload": issued.json()["certificate"],
            "hmacKey": base64.b64encode(secret).decode(),
            "padding": base64.b64encode(os.urandom(500)).decode(),
            **extra,
        }
        return self.client.post("/v1/publish", json=body), body


@pytest.fixture
def phone(client: TestClient) -> Phone:
    """A phone using the test client."""
    return Phone(client)


IssueCode = Callable[..., codes.IssuedCode]


@pytest.fixture
def issue_code(db: Database, code_policy: codes.CodePolicy) -> IssueCode:
    """Issue a code now: ``issue_code(test_type="confirmed", symptom_date=...)``."""

    def factory(
        test_type: str = "confirmed",
        *,
        test_date: dt.date | None = None,
        symptom_date: dt.date | None = None,
        unit_code: str = "555",
        now: dt.datetime | None = None,
    ) -> codes.IssuedCode:
        moment = now or dt.datetime.now(dt.UTC)
        with db.session() as session:
            return codes.issue_code(
                session,
                code_policy,
                unit_code=unit_code,
                test_type=test_type,
                test_date=test_date or moment.date(),
                symptom_date=symptom_date,
                actor="test",
                now=moment,
            )

    return factory


@pytest.fixture
def fresh_client(app: Any, app_key: str) -> Iterator[TestClient]:
    """A second client without cookies (with the app key)."""
    with TestClient(
        app, base_url="http://testserver", headers={wire.API_KEY_HEADER: app_key}
    ) as test_client:
        yield test_client
