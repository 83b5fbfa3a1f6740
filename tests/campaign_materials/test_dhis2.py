"""The DHIS2 push against a local fake server (tests/campaign_materials/fake_dhis2.py): the
payload matches the mapping, conflicts are reported, failures are retried."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from safezone.campaign.materials import dhis2
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations.base import Policy, local_today
from safezone.errors import InvalidInput
from tests.declarations.conftest import declare, make_body

from . import fake_dhis2
from .conftest import COMMUNE, OTHER_COMMUNE, seed_figures

MAPPING_FILE = Path(__file__).parent / "data" / "dhis2_mapping.json"
TODAY = local_today()
PERIOD = TODAY.strftime("%Y%m%d")


@pytest.fixture
def policy(settings: Settings) -> Policy:
    return Policy.from_settings(settings)


def payload(db: Database, policy: Policy, period: str = PERIOD) -> dhis2.Payload:
    mapping = dhis2.load_mapping(MAPPING_FILE)
    with db.session() as session:
        return dhis2.build_payload(session, mapping, period, policy=policy)


def test_payload_matches_the_mapping(db: Database, policy: Policy) -> None:
    declare(db, policy, make_body())  # one declaration in Phường 1 today
    # Today is taken now, not when the module was collected: a run may cross midnight.
    today = local_today()
    period = today.strftime("%Y%m%d")
    with db.session() as session:
        seed_figures(
            session,
            {(COMMUNE, "ncovi"): 1600, (COMMUNE, "bluezone"): 2300, (OTHER_COMMUNE, "ncovi"): 7},
            day=today,
        )
    built = payload(db, policy, period)
    raw = json.loads(MAPPING_FILE.read_text())
    body = built.body
    assert body["dataSet"] == raw["dataSet"]
    assert body["period"] == period
    values = {
        (item["orgUnit"], item["dataElement"], item.get("categoryOptionCombo")): item["value"]
        for item in body["dataValues"]
    }
    assert all(item["period"] == period for item in body["dataValues"])
    p1, p4 = raw["orgUnits"][COMMUNE], raw["orgUnits"][OTHER_COMMUNE]
    ncovi, bluezone = raw["coverage"]["ncovi"], raw["coverage"]["bluezone"]
    assert values[(p1, ncovi["dataElement"], ncovi["categoryOptionCombo"])] == "1600"
    assert values[(p1, bluezone["dataElement"], bluezone["categoryOptionCombo"])] == "2300"
    assert values[(p4, ncovi["dataElement"], ncovi["categoryOptionCombo"])] == "7"
    risk_total = sum(
        int(values[(p1, target["dataElement"], target["categoryOptionCombo"])])
        for target in raw["declarations"].values()
    )
    assert risk_total == 1
    assert len(body["dataValues"]) == 2 * (2 + 3)
    # Every other commune is listed as not mapped, never silently left out.
    assert COMMUNE not in built.unmapped_units
    assert len(built.unmapped_units) == 110


def test_push_reports_a_conflict_in_the_import_summary(db: Database, policy: Policy) -> None:
    built = payload(db, policy)
    with fake_dhis2.serve(["conflict"]) as server:
        summary = dhis2.push(
            built.body,
            url=server.url,
            username=fake_dhis2.USER,
            password=fake_dhis2.PASSWORD,
        )
    assert server.shape_errors == []
    assert not summary.ok
    assert summary.ignored == 1
    assert summary.conflicts == ["DiszpKrYNg8: Org unit not in hierarchy of current user"]


def test_push_retries_server_errors_then_succeeds(db: Database, policy: Policy) -> None:
    built = payload(db, policy)
    waits: list[float] = []
    with fake_dhis2.serve([503, 502, "ok"]) as server:
        summary = dhis2.push(
            built.body,
            url=server.url,
            username=fake_dhis2.USER,
            password=fake_dhis2.PASSWORD,
            retries=3,
            backoff_seconds=1,
            sleep=waits.append,
        )
    assert summary.ok
    assert summary.imported == len(built.body["dataValues"])
    assert waits == [1, 2]
    assert len(server.received) == 3
    with fake_dhis2.serve([503, 503]) as server, pytest.raises(dhis2.PushFailed):
        dhis2.push(
            built.body,
            url=server.url,
            username=fake_dhis2.USER,
            password=fake_dhis2.PASSWORD,
            retries=1,
            sleep=waits.append,
        )


def test_bad_mapping_and_period_name_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        dhis2.load_mapping({"orgUnits": {"22015": "short"}, "coverage": {"ncovi": {}}})
    fields = [error.field for error in caught.value.errors]
    assert fields == ["orgUnits.22015", "coverage.ncovi.dataElement"]
    with pytest.raises(InvalidInput) as caught:
        dhis2.parse_period("2026-11")
    assert caught.value.errors[0].field == "period"


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("20261130", dt.date(2026, 11, 30), dt.date(2026, 11, 30)),
        ("2026W48", dt.date(2026, 11, 23), dt.date(2026, 11, 29)),
        ("202612", dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("202602", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ],
)
def test_dhis2_periods(period: str, start: dt.date, end: dt.date) -> None:
    assert dhis2.parse_period(period) == (start, end)
