"""Every HTML page is in the page registry (tests/browser/pages.py), so the browser checks visit
it. Runs without a browser."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from tests.browser.pages import PAGES, html_pages, unregistered


def test_every_html_page_has_a_registry_entry(app: FastAPI) -> None:
    missing = unregistered(app)
    assert not missing, (
        f"pages without an entry in tests/browser/pages.py: {missing}; add one line each "
        "(route, role, charts) so the browser checks visit them"
    )


def test_a_page_added_later_is_reported(app: FastAPI) -> None:
    @app.get("/campaign/board", response_class=HTMLResponse)
    def board() -> HTMLResponse:
        return HTMLResponse("<p>board</p>")

    @app.get("/campaign/poster")
    def poster() -> HTMLResponse:  # found by its return annotation too
        return HTMLResponse("<p>poster</p>")

    @app.get("/campaign/figures")
    def figures() -> dict[str, int]:  # JSON: not a page
        return {"visits": 1}

    assert unregistered(app) == ["/campaign/board", "/campaign/poster"]


def test_the_registry_lists_only_real_pages(app: FastAPI, client: TestClient) -> None:
    pages = html_pages(app)
    stale = sorted({page.route for page in PAGES} - pages)
    assert not stale, f"registry entries without a route: {stale}"
    # Sanity of the detector: JSON and redirects are not pages; FastAPI's CDN pages are gone.
    assert "/api/v1/units/{code}" not in pages
    assert "/" not in pages
    assert "/redoc" not in pages
    assert {"/docs", "/declarations/dashboard", "/exposure/stats", "/login"} <= pages
    assert len({page.name for page in PAGES}) == len(PAGES), "two entries share a name"
