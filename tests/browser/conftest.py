"""Real-browser fixtures: Debian's Chromium driven by Playwright, against a live server.

Playwright's own browser download does not work on our machines, so the tests launch
``/usr/bin/chromium``. Without it the tests are skipped, unless ``SAFEZONE_REQUIRE_BROWSER=1``
(set by CI) turns the absence into a failure.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from safezone.app import create_app
from safezone.config import Settings
from safezone.db.engine import Database
from tests.conftest import free_port

CHROMIUM = Path(os.environ.get("SAFEZONE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def live_server(settings: Settings, db: Database) -> Iterator[str]:
    """The app served by uvicorn on a free local port; yields its base URL."""
    with serve(settings, db) as base_url:
        yield base_url


@contextmanager
def serve(settings: Settings, db: Database) -> Iterator[str]:
    """Serve the app in a thread for the ``with`` block (any fixture scope); yields its URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, db),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="package")
def browser():  # type: ignore[no-untyped-def]
    """One headless Chromium for the browser tests.

    Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
    thread while it is open, so tests after this package that call ``asyncio.run`` (the
    reference device, on bumble) would fail with "cannot be called from a running event loop".
    """
    if not CHROMIUM.exists():
        if os.environ.get("SAFEZONE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and SAFEZONE_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh desktop-sized browser page (own cookies)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):  # type: ignore[no-untyped-def]
    """A fresh phone-sized page (360x740, touch), like a cheap Android phone."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


SCREENSHOTS_KEY = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def screenshots(pytestconfig: pytest.Config) -> Path:
    """Where page screenshots go (printed in the run's summary). ``SAFEZONE_SCREENSHOTS`` picks
    the folder; by default a new temporary one, not under pytest's basetemp (other runs prune
    it)."""
    chosen = os.environ.get("SAFEZONE_SCREENSHOTS")
    directory = Path(chosen or tempfile.mkdtemp(prefix="safezone-pages-"))
    directory.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[SCREENSHOTS_KEY] = directory
    return directory


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print where the page screenshots are, so a person can look at them."""
    directory = config.stash.get(SCREENSHOTS_KEY, None)
    if directory is not None:
        terminalreporter.write_line(f"page screenshots: {directory}")
