"""End to end: 50 simulated phones, one case, codes, certificate, publish, export, matching.

Phones use the device side of ``safezone.en`` (key store, encounter log, matching, risk) and
talk to the server only over HTTP, as the apps would. Decoy uploads in the same run must change
nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.en.device import EncounterLog, KeyStore, exposure_windows, match_sightings
from safezone.en.export import read_export
from safezone.en.risk import RiskLevel, cwa_default, evaluate
from safezone.exposure import export, signing
from safezone.exposure.models import ExposureKey, Upload, VerificationToken
from safezone.exposure.storage import LocalStorage
from tests.conftest import MakeUser
from tests.exposure.conftest import Phone, key_json

PHONES = 50
CLOSE = range(1, 6)  # 25 minutes at about 31 dB: high risk
BRIEF = range(6, 9)  # 2 minutes at about 51 dB: low risk
DECOYS = range(40, 50)


@dataclass
class SimPhone:
    """One simulated phone: its keys and what it heard."""

    number: int
    keys: KeyStore = field(default_factory=KeyStore)
    log: EncounterLog = field(default_factory=EncounterLog)

    def hear(self, other: SimPhone, start: float, minutes: int, rssi: int) -> None:
        """Record ``other``'s advertisement once a minute for ``minutes`` minutes."""
        for minute in range(minutes):
            when = start + minute * 60
            self.log.record_service_data(other.keys.advertisement(when), rssi, when)


def simulate_day(day: dt.date, rng: random.Random) -> list[SimPhone]:
    """A day of encounters: the case meets CLOSE and BRIEF; everyone meets a few others."""
    phones = [SimPhone(n) for n in range(PHONES)]
    ten = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC).timestamp()
    case = phones[0]
    for n in CLOSE:
        phones[n].hear(case, ten, 25, -55)
        case.hear(phones[n], ten, 25, -55)
    for n in BRIEF:
        phones[n].hear(case, ten + 3600, 2, -75)
    for phone in phones[1:]:
        # Meetings between phones that are not the case, across the day.
        for other in rng.sample(phones[1:], 3):
            if other is not phone:
                start = ten + rng.randrange(2 * 3600, 8 * 3600)
                phone.hear(other, start, rng.randrange(5, 30), rng.randrange(-80, -50))
    return phones


@pytest.mark.slow
def test_fifty_phones_exactly_the_contacts_are_notified(
    db: Database,
    client: TestClient,
    phone: Phone,
    settings: Settings,
    storage: LocalStorage,
    make_user: MakeUser,
    token_for: object,
) -> None:
    now = dt.datetime.now(dt.UTC)
    yesterday = now.date() - dt.timedelta(days=1)
    phones = simulate_day(yesterday, random.Random(4))
    with db.session() as session:
        signing.generate(session, settings, now=now)

    # A verifier in Tuy Hòa issues a code for the case (onset the day before yesterday).
    worker = make_user("xacminh", "verifier", "555")
    headers = token_for(worker)  # type: ignore[operator]
    issued = client.post(
        "/api/v1/verification/codes",
        json={
            "test_type": "confirmed",
            "test_date": now.date().isoformat(),
            "symptom_date": (yesterday - dt.timedelta(days=1)).isoformat(),
            "unit_code": "555",
        },
        headers=headers,
    )
    assert issued.status_code == 201, issued.text

    # Decoy traffic from other phones, before and after the real upload.
    def decoys() -> None:
        for n in DECOYS:
            fake_keys = phones[n].keys.keys_for_upload(now.timestamp())
            for path, body in (
                ("/api/verify", {"code": "12345678"}),
                ("/api/certificate", {"token": "x" * 43, "ekeyhmac": "A" * 44}),
                (
                    "/v1/publish",
                    {
                        "temporaryExposureKeys": key_json(fake_keys),
                        "healthAuthorityID": "safezone-demo",
                        "verificationPayload": "x.y.z",
                        "hmacKey": "AAAA",
                    },
                ),
            ):
                answer = client.post(path, json=body, headers={"X-Chaff": "1"})
                assert answer.status_code == 200

    decoys()
    case_keys = phones[0].keys.keys_for_upload(now.timestamp())
    assert len(case_keys) == 1
    published, _ = phone.upload(issued.json()["short_code"], case_keys)
    assert published.status_code == 200, published.text
    assert published.json()["insertedExposures"] == 1
    decoys()

    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ExposureKey)) == 1
        assert session.scalar(select(func.count()).select_from(Upload)) == 1
        assert session.scalar(select(func.count()).select_from(VerificationToken)) == 1
        report = export.run_export(session, settings, storage, now=now + dt.timedelta(hours=3))
    assert report.keys == 1
    assert report.padding_keys >= 999

    # Every phone downloads the signing key, the index and the files, verifies and matches.
    published_keys = client.get("/exposure/v1/signing-keys").json()
    trusted = {
        (k["keyId"], k["keyVersion"]): load_pem_public_key(k["publicKeyPem"].encode())
        for k in published_keys
    }
    index = client.get("/exposure/v1/VN/index.txt").text.split()
    assert index
    diagnosis_keys = []
    for path in index:
        data = client.get(f"/exposure/v1/{path}").content
        diagnosis_keys.extend(read_export(data, trusted).keys)  # type: ignore[arg-type]
    results = {}
    for sim in phones[1:]:
        matched = match_sightings(sim.log, diagnosis_keys, now=now)
        windows = exposure_windows(matched)
        if windows:
            results[sim.number] = evaluate(windows, cwa_default(), now.date()).total_risk_level
    assert set(results) == set(CLOSE) | set(BRIEF)
    assert {results[n] for n in CLOSE} == {RiskLevel.HIGH}
    assert {results[n] for n in BRIEF} == {RiskLevel.LOW}
