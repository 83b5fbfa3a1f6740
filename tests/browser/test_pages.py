"""Every page as a person sees it: each page of the registry (tests/browser/pages.py), in
Vietnamese and English, on a 360x740 phone and a 1280x800 desktop, logged in as the role that
uses it, on seeded data. A page fails on a console error or failed request, on sideways
overflow, on a chart that did not draw, or on an axe-core violation of serious or critical impact.

A screenshot of every visit is saved; the folder is printed at the end of the run (set
``SAFEZONE_SCREENSHOTS`` to choose it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts import service as accounts
from safezone.app import create_app
from safezone.campaign.demo import REPORTER as DEMO_REPORTER
from safezone.campaign.demo import REPORTER_ORG as DEMO_REPORTER_ORG
from safezone.campaign.demo import seed_campaign_demo
from safezone.campaign.field_demo import seed_field_demo
from safezone.campaign.models import Organisation
from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.exposure import export, signing, wire
from safezone.exposure.storage import storage_from_settings
from safezone.units.boundaries import import_geojson
from safezone.units.models import Unit
from tests.browser.conftest import serve
from tests.browser.pages import (
    ADMIN,
    CAMPAIGN,
    OFFICER,
    ORG_REPORTER,
    PAGES,
    VERIFIER,
    VOLUNTEER,
    Page,
)
from tests.conftest import PASSWORD, TEST_SECRET, empty_database_url
from tests.declarations.conftest import make_body
from tests.exposure.conftest import Phone, make_keys, new_app_key
from tests.messaging.seed import seed_messaging
from tests.sim.seed import seed_sim

pytestmark = pytest.mark.browser

LANGUAGES = ("vi", "en")
#: (width, height) of a cheap Android phone and of a laptop.
SIZES = ((360, 740), (1280, 800))
DISTRICT, COMMUNE, OTHER_COMMUNE = "555", "22015", "22021"  # Tuy Hoà, Phường 1, Phường 2
#: axe-core impacts that fail a page ("minor" and "moderate" are left to review).
FAILING_IMPACTS = {"serious", "critical"}
CHART_ELEMENTS = "[data-figure], .plotly-graph-div"


@dataclass
class Site:
    """The seeded app, served: its URL, the values that fill path parameters, logins."""

    base_url: str
    values: dict[str, object]
    logins: dict[str, Any] = field(default_factory=dict)  # role -> Playwright storage state


def _squares(session: Any, parent: str) -> bytes:
    """Made-up square boundaries for the communes of ``parent`` (the coverage page's map)."""
    codes = session.scalars(select(Unit.code).where(Unit.parent_code == parent)).all()
    features = []
    for n, code in enumerate(sorted(codes)):
        x, y = 109.2 + (n % 5) * 0.02, 13.0 + (n // 5) * 0.02
        ring = [[x, y], [x + 0.02, y], [x + 0.02, y + 0.02], [x, y + 0.02], [x, y]]
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _seed(settings: Settings, db: Database) -> dict[str, object]:
    """Staff of each role; declarations with daily updates, follow-ups and an outcome; issued,
    claimed and revoked codes; published keys and an export. Returns the path values."""
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        tokens = {}
        for username, role, unit in (
            ("tinh.admin", ADMIN, "54"),
            ("yte.tuyhoa", OFFICER, DISTRICT),
            ("xacminh.tuyhoa", VERIFIER, DISTRICT),
            ("chiendich.tuyhoa", CAMPAIGN, DISTRICT),
            (DEMO_REPORTER, ORG_REPORTER, DISTRICT),
            ("tnv.phuong1", VOLUNTEER, COMMUNE),
            ("tnv.phuong8", VOLUNTEER, "22018"),
        ):
            user = accounts.create_user(
                session, username=username, password=PASSWORD, role=role, unit_code=unit
            )
            tokens[role] = {"Authorization": f"Bearer {accounts.issue_token(session, user)}"}
        signing.generate(session, settings, now=now - dt.timedelta(days=1))
        seed_field_demo(session, settings)  # households, a team and visits in Tuy Hoà

    with TestClient(create_app(settings, db)) as client:
        created = []
        people = (
            ("054085001234", "0905123456", COMMUNE, ["fever", "cough"], True),
            ("054090002345", "0905234567", COMMUNE, [], False),
            ("054075003456", "0905345678", OTHER_COMMUNE, ["cough"], False),
            ("054101004567", "0905456789", OTHER_COMMUNE, ["fever"], True),
        )
        for id_number, phone, unit, symptoms, contact in people:
            body = make_body(
                id_number=id_number, phone=phone, address__unit_code=unit, symptoms=symptoms
            )
            body["exposure"]["confirmed_case"] = contact
            answer = client.post("/api/v1/declarations", json=body)
            assert answer.status_code == 201, answer.text
            created.append(answer.json())
        first = created[0]
        for item in created[:2]:
            update = client.post(
                f"/api/v1/declarations/{item['id']}/updates",
                json={"statuses": ["cough"]},
                headers={"X-Update-Token": item["update_token"]},
            )
            assert update.status_code == 201, update.text
        staff = tokens[OFFICER]
        for item, status in ((created[0], "seen_unwell"), (created[2], "seen_well")):
            followup = client.post(
                f"/api/v1/declarations/{item['id']}/followups",
                json={"status": status, "note": "Đã gọi điện hỏi thăm"},
                headers=staff,
            )
            assert followup.status_code == 201, followup.text
        outcome = client.put(
            f"/api/v1/declarations/{created[2]['id']}/outcome",
            json={"outcome": "completed"},
            headers=staff,
        )
        assert outcome.status_code == 200, outcome.text

        codes = []
        for test_type in ("confirmed", "likely", "confirmed"):
            issued = client.post(
                "/api/v1/verification/codes",
                json={
                    "test_type": test_type,
                    "test_date": now.date().isoformat(),
                    "symptom_date": (now.date() - dt.timedelta(days=2)).isoformat(),
                    "unit_code": DISTRICT,
                },
                headers=tokens[VERIFIER],
            )
            assert issued.status_code == 201, issued.text
            codes.append(issued.json())
        # A phone app sends its API key, as issued by `safezone exposure apps create`.
        client.headers[wire.API_KEY_HEADER] = new_app_key(db)
        published, _ = Phone(client).upload(codes[0]["short_code"], make_keys(now, days=10))
        assert published.status_code == 200, published.text
        revoked = client.post(
            f"/api/v1/verification/codes/{codes[1]['id']}/revoke", headers=tokens[VERIFIER]
        )
        assert revoked.status_code == 200, revoked.text

    with db.session() as session:
        report = export.run_export(
            session, settings, storage_from_settings(settings), now=now + dt.timedelta(hours=3)
        )
    assert report.keys, "the export wrote no key"
    with db.session() as session:
        seed_campaign_demo(session)
        import_geojson(session, _squares(session, DISTRICT))
        organisation_id = session.scalar(
            select(Organisation.id).where(Organisation.code == DEMO_REPORTER_ORG)
        )
    return {
        "code": DISTRICT,
        "district": DISTRICT,
        "commune": COMMUNE,
        "token": first["update_token"],
        "pass_token": first["pass_token"],
        "declaration_id": first["id"],
        **seed_messaging(settings, db, officer="chiendich.tuyhoa", district=DISTRICT),
        "organisation_id": organisation_id,
        # The province's runs: the admin sees them, Tuy Hoà's campaign officer sees none.
        **seed_sim(db, username="tinh.admin"),
    }


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest, browser: Any
) -> Iterator[Site]:
    """One seeded database and server for every page of the module; one login per role."""
    directory = tmp_path_factory.mktemp("pages")
    settings = Settings(
        data_dir=directory,
        database_url=empty_database_url(directory, request),
        secret_key=TEST_SECRET,
        log_json=True,
        exposure=ExposureConfig(health_authorities={"safezone-demo": "VN"}),
    )
    database = Database(settings.sqlalchemy_url)
    try:
        values = _seed(settings, database)
        with serve(settings, database) as base_url:
            result = Site(base_url, values)
            for role, username in (
                (ADMIN, "tinh.admin"),
                (OFFICER, "yte.tuyhoa"),
                (VERIFIER, "xacminh.tuyhoa"),
                (CAMPAIGN, "chiendich.tuyhoa"),
                (ORG_REPORTER, DEMO_REPORTER),
                (VOLUNTEER, "tnv.phuong1"),
            ):
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"{base_url}/login")
                page.fill("#username", username)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
                result.logins[role] = context.storage_state()
                context.close()
            yield result
    finally:
        database.dispose()


class Visit:
    """A browser page with listeners that record what a person would not see but should not
    happen: console errors, uncaught exceptions, failed and 4xx/5xx requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught error: {error}"))
        page.on(
            "requestfailed",
            lambda req: self.problems.append(f"request failed: {req.url} ({req.failure})"),
        )
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")


def check_page(page: Any, *, charts: bool, width: int, exempt: tuple[str, ...] = ()) -> list[str]:
    """What is wrong with the page as loaded now: overflow, charts, axe-core (serious+)."""
    from axe_playwright_python.sync_playwright import Axe

    problems = []
    if charts:
        try:
            page.wait_for_function(
                f"""() => {{
                    const charts = [...document.querySelectorAll({CHART_ELEMENTS!r})];
                    return charts.length > 0 && charts.every(c => c.querySelector('.main-svg'));
                }}""",
                timeout=60_000,
            )
        except Exception:  # noqa: BLE001 - reported below with what is on the page
            drawn = page.evaluate(
                f"""() => [...document.querySelectorAll({CHART_ELEMENTS!r})]
                    .map(c => (c.id || c.className) + ': ' + !!c.querySelector('.main-svg'))"""
            )
            problems.append(f"charts not drawn (element: has SVG): {drawn or 'no chart element'}")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate(
            f"""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > {width} + 1)
                .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' +
                    Math.round(e.getBoundingClientRect().right))"""
        )
        problems.append(f"sideways overflow: {scroll_width}px > {width}px, e.g. {wide}")
    # Plotly's SVG is left out: thousands of nodes make axe slow, and every chart's numbers are
    # in a table on the same page, which axe does check.
    results = Axe().run(page, context={"exclude": [[".main-svg"]]})
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS and violation["id"] not in exempt:
            targets = [" ".join(node["target"]) for node in violation["nodes"][:5]]
            problems.append(f"axe {violation['impact']}: {violation['id']} on {targets}")
    return problems


@pytest.fixture(scope="module")
def contexts(browser: Any, site: Site) -> Iterator[Any]:
    """Browser contexts by (role, language, size), made once and shared by the module's tests:
    the visits change nothing, and a context per visit would double the run time."""
    made: dict[tuple[str | None, str, tuple[int, int]], Any] = {}

    def get(role: str | None, lang: str, size: tuple[int, int]) -> Any:
        key = (role, lang, size)
        if key not in made:
            width, height = size
            phone = width < 600
            made[key] = browser.new_context(
                viewport={"width": width, "height": height},
                is_mobile=phone,
                has_touch=phone,
                locale="vi-VN" if lang == "vi" else "en-GB",
                storage_state=site.logins[role] if role else None,
            )
            made[key].add_cookies([{"name": "lang", "value": lang, "url": site.base_url}])
        return made[key]

    yield get
    for context in made.values():
        context.close()


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("entry", PAGES, ids=[page.name for page in PAGES])
def test_page_as_a_person_sees_it(  # type: ignore[no-untyped-def]
    contexts, site: Site, screenshots: Path, entry: Page, lang: str, size: tuple[int, int]
) -> None:
    page = contexts(entry.role, lang, size).new_page()
    try:
        page.set_default_timeout(60_000)  # generous: CI machines are shared and slow
        visit = Visit(page)
        response = page.goto(site.base_url + entry.url(site.values), wait_until="load")
        assert response is not None
        assert response.status == 200, f"{entry.name}: HTTP {response.status}"
        assert page.locator("html").get_attribute("lang") == lang
        if entry.ready:
            page.wait_for_selector(entry.ready)
        problems = check_page(page, charts=entry.charts, width=size[0], exempt=entry.axe_exempt)
        page.screenshot(path=screenshots / f"{entry.name}-{lang}-{size[0]}.png", full_page=True)
        problems = visit.problems + problems
        assert not problems, f"{entry.name} ({lang}, {size[0]}px):\n  " + "\n  ".join(problems)
    finally:
        page.close()
