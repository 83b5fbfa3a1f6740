"""The materials page and its downloads: authorization matrix (role x inside/outside the
subtree; out of scope is 404), and what the page shows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safezone.accounts.models import User
from safezone.campaign.materials import broadcasts
from safezone.campaign.materials.models import (
    BroadcastScript,
    CampaignReport,
    ReportFormat,
    ReportPeriod,
)
from safezone.db.engine import Database
from tests.conftest import MakeUser

from .conftest import COMMUNE, seed_figures

OUTSIDE = "22052"  # a commune of Sông Cầu (557)
HTML = {"Accept": "text/html"}

#: (method, path template, form body or None, campaign officers only: changes something or
#: reads personal data)
ENDPOINTS: list[tuple[str, str, dict[str, str] | None, bool]] = [
    ("GET", "/campaign/materials/{unit}", None, False),
    ("GET", "/campaign/materials/{unit}/poster.pdf?paper=A3", None, False),
    ("GET", "/campaign/materials/{unit}/flyer.pdf", None, False),
    ("GET", "/campaign/materials/{unit}/guide/bluezone.pdf", None, False),
    ("GET", "/campaign/materials/{unit}/broadcast/{script}/audio", None, False),
    ("GET", "/campaign/materials/{unit}/broadcast/{script}/script.txt", None, False),
    ("GET", "/campaign/materials/{unit}/reports/{report}", None, False),
    ("GET", "/campaign/materials/{unit}/walk-sheet.pdf", None, True),
    ("POST", "/campaign/materials/{unit}/schedule", {"times": "06:30", "active": "on"}, True),
    ("POST", "/campaign/materials/{unit}/broadcast/aired", {"slot": "{slot}"}, True),
    ("POST", "/campaign/materials/{unit}/recipients", {"emails": "soyte@phuyen.gov.vn"}, True),
    ("POST", "/campaign/materials/{unit}/reports", {"period": "day"}, True),
]

CALLERS = [
    ("campaign_officer", COMMUNE, COMMUNE, OUTSIDE),
    ("campaign_officer", "555", COMMUNE, OUTSIDE),
    ("health_officer", "555", COMMUNE, OUTSIDE),
    ("health_officer", "557", OUTSIDE, COMMUNE),
    ("admin", "555", COMMUNE, OUTSIDE),
    ("verifier", "54", COMMUNE, OUTSIDE),
    ("volunteer", COMMUNE, COMMUNE, OUTSIDE),
    (None, None, COMMUNE, OUTSIDE),
]
READERS = {"campaign_officer", "health_officer", "admin"}
WRITERS = {"campaign_officer", "admin"}


def seed_unit(db: Database, code: str) -> dict[str, Any]:
    """A schedule, a script with audio and a stored report for ``code``."""
    with db.session() as session:
        seed_figures(session, {(code, "bluezone"): 1000})
        schedule = broadcasts.set_schedule(
            session, code, broadcasts.ScheduleInput(times="00:00,06:00,12:00,18:00"), user=None
        )
        today = dt.datetime.now(broadcasts.LOCAL_ZONE).date()
        slot = broadcasts.slots(schedule, today)[0]
        script = BroadcastScript(
            unit_code=code, text=f"Kịch bản {code}", digest=code, audio=b"ID3 audio"
        )
        report = CampaignReport(
            unit_code=code,
            period=ReportPeriod.DAY,
            period_start=dt.date(2026, 11, 29),
            period_end=dt.date(2026, 11, 29),
            format=ReportFormat.PDF,
            content=b"%PDF- report of " + code.encode(),
        )
        session.add_all([script, report])
        session.flush()
        return {"unit": code, "script": script.id, "report": report.id, "slot": slot.isoformat()}


def fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("method", "template", "body", "writes"), ENDPOINTS)
@pytest.mark.parametrize(("role", "unit", "inside", "outside"), CALLERS)
def test_matrix(
    client: TestClient,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    template: str,
    body: dict[str, str] | None,
    writes: bool,
    role: str | None,
    unit: str | None,
    inside: str,
    outside: str,
) -> None:
    targets = {"in": seed_unit(db, inside), "out": seed_unit(db, outside)}
    headers: dict[str, str] = dict(HTML)
    if role is not None:
        assert unit is not None
        headers.update(token_for(make_user("caller", role, unit)))
    for where, ids in targets.items():
        path = fill(template, ids)
        response = client.request(
            method, path, data=fill(body, ids), headers=headers, follow_redirects=False
        )
        label = f"{role}@{unit} {method} {path} ({where})"
        if role is None:
            # The login page for reads; a form post without a session fails CSRF first.
            assert response.status_code == (403 if method == "POST" else 303), label
            continue
        if role not in (WRITERS if writes else READERS):
            assert response.status_code == 403, label
            continue
        if where == "out":
            assert response.status_code == 404, label
            assert f"Kịch bản {ids['unit']}" not in response.text, label
            assert b"report of" not in response.content, label
            continue
        assert response.status_code in (200, 303), f"{label}: {response.text[:300]}"


def test_page_shows_script_audio_reports_and_forms(
    client: TestClient, db: Database, make_user: MakeUser, token_for: Callable[[User], Any]
) -> None:
    ids = seed_unit(db, COMMUNE)
    headers = {**HTML, **token_for(make_user("canbo.cd", "campaign_officer", "555"))}
    page = client.get(f"/campaign/materials/{COMMUNE}", headers=headers)
    assert page.status_code == 200
    text = page.text
    assert f"Kịch bản {COMMUNE}" in text
    assert f'src="/campaign/materials/{COMMUNE}/broadcast/{ids["script"]}/audio"' in text
    assert f"/campaign/materials/{COMMUNE}/reports/{ids['report']}" in text
    assert "Giọng đọc là giọng tổng hợp" in text
    assert 'action="/campaign/materials/22015/schedule"' in text
    english = client.get(f"/campaign/materials/{COMMUNE}?lang=en", headers=headers).text
    assert "The voice is synthetic" in english
    reader = {**HTML, **token_for(make_user("yte.tuyhoa", "health_officer", "555"))}
    read_only = client.get(f"/campaign/materials/{COMMUNE}", headers=reader).text
    assert "/schedule" not in read_only
    audio = client.get(
        f"/campaign/materials/{COMMUNE}/broadcast/{ids['script']}/audio", headers=reader
    )
    assert audio.headers["content-type"] == "audio/mpeg"
    assert audio.content == b"ID3 audio"


def test_bad_schedule_is_shown_and_nothing_stored(
    client: TestClient, db: Database, make_user: MakeUser, token_for: Callable[[User], Any]
) -> None:
    headers = {**HTML, **token_for(make_user("canbo.cd", "campaign_officer", COMMUNE))}
    response = client.post(
        f"/campaign/materials/{COMMUNE}/schedule",
        data={"times": "7h", "weekdays": "9"},
        headers=headers,
    )
    assert response.status_code == 422
    assert "HH:MM" in response.text
    assert "thứ Hai" in response.text
    assert "Chưa có lịch phát." in response.text
