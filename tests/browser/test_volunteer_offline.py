"""The volunteer's offline app in a real browser (Debian Chromium, 360x740): log in, load the
walk list, lose the signal, record three visits (shown as queued), get the signal back, sync;
a second sync stores nothing new; the coverage page shows the new installs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from safezone.accounts import service as accounts
from safezone.campaign.field_demo import seed_field_demo
from safezone.campaign.models import Visit, VisitApp
from safezone.config import Settings
from safezone.db.engine import Database
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


def _visits(db: Database) -> tuple[int, int]:
    with db.session() as session:
        visits = int(session.scalar(select(func.count()).select_from(Visit)) or 0)
        helped = int(
            session.scalar(
                select(func.count())
                .select_from(VisitApp)
                .where(VisitApp.result == "installed_with_help")
            )
            or 0
        )
    return visits, helped


def _login(context: Any, base_url: str, username: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def _coverage_installs(page: Any, base_url: str) -> int:
    """The NCOVI installs of Tuy Hoà on its coverage page (no official count: door to door)."""
    page.goto(f"{base_url}/campaign?unit=555&app=ncovi")
    return int(page.inner_text("[data-testid=installs]").replace(".", "").replace(",", ""))


def test_offline_visits_queue_then_sync_once(
    browser: Any, live_server: str, db: Database, settings: Settings
) -> None:
    with db.session() as session:
        for username, unit in (("tnv.phuong1", "22015"), ("tnv.phuong8", "22018")):
            accounts.create_user(
                session, username=username, password=PASSWORD, role="volunteer", unit_code=unit
            )
        accounts.create_user(
            session, username="chiendich", password=PASSWORD, role="campaign_officer",
            unit_code="555",
        )  # fmt: skip
        seed_field_demo(session, settings)
    before_visits, before_helped = _visits(db)

    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    office = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    officer = _login(office, live_server, "chiendich")
    installs_before = _coverage_installs(officer, live_server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/login")
        page.fill("#username", "tnv.phuong1")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        page.goto(f"{live_server}/volunteer/")
        page.wait_for_selector("#walk-list li[data-household]")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        households = page.locator("#walk-list li[data-household]")
        assert households.count() >= 3
        ids = [households.nth(i).get_attribute("data-household") for i in range(3)]
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        context.set_offline(True)
        page.wait_for_function("() => !navigator.onLine")
        for household in ids:
            page.click(f"[data-testid=record-{household}]")
            page.wait_for_selector("#visit-dialog[open]")
            page.select_option("#app-ncovi", "installed_with_help")
            page.select_option("#app-bluezone", "already_installed")
            if household == ids[0] and os.environ.get("SAFEZONE_SCREENSHOTS"):
                shots = Path(os.environ["SAFEZONE_SCREENSHOTS"])
                page.screenshot(path=shots / "volunteer-visit-form-360.png")
            page.click("[data-testid=visit-save]")
            page.wait_for_selector("#visit-dialog:not([open])", state="hidden")
        page.wait_for_function("() => document.getElementById('queue-count').textContent === '3'")
        assert page.locator("#queue-list li[data-queued]").count() == 3
        assert "Mất sóng" in page.inner_text("[data-testid=net-status]")
        assert _visits(db) == (before_visits, before_helped)  # nothing reached the server
        # Still no signal: the app reopens from the phone (service worker, IndexedDB).
        page.reload()
        page.wait_for_function("() => document.getElementById('queue-count').textContent === '3'")
        assert page.locator("#walk-list li[data-household]").count() == households.count()

        with page.expect_request("**/api/v1/campaign/visits/sync") as sent:
            context.set_offline(False)  # the app syncs as soon as the signal is back
        page.wait_for_function("() => document.getElementById('queue-count').textContent === '0'")
        page.wait_for_function("() => document.getElementById('sync-result').textContent !== ''")
        assert "3" in page.inner_text("[data-testid=sync-result]")
        assert _visits(db) == (before_visits + 3, before_helped + 3)

        # The same batch again (a retry after a lost answer) stores nothing new.
        body = json.loads(sent.value.post_data or "{}")
        assert len(body["visits"]) == 3
        csrf = page.get_attribute('meta[name="csrf-token"]', "content") or ""
        again = page.request.post(
            f"{live_server}/api/v1/campaign/visits/sync",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )
        assert again.status == 200
        assert (again.json()["stored"], again.json()["unchanged"]) == (0, 3)
        page.click("[data-testid=sync-now]")  # nothing queued: nothing sent
        assert _visits(db) == (before_visits + 3, before_helped + 3)

        # The installs are in the door-to-door numbers.
        progress = page.request.get(f"{live_server}/api/v1/campaign/volunteers/progress").json()
        mine = next(row for row in progress["rows"] if row["volunteer"] == "tnv.phuong1")
        assert mine["installs_helped"] >= 3
        assert errors == []

        # The commune's coverage page shows the new installs (one phone in each household).
        assert _coverage_installs(officer, live_server) == installs_before + 3
    finally:
        context.close()
        office.close()
