"""The Content-Security-Policy allows what our pages need and nothing inline without a nonce."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, MakeUser

pytestmark = pytest.mark.browser

PAGES = ["/declarations/dashboard", "/exposure/stats", "/declare", "/pass/verify", "/units"]


def test_pages_run_under_the_policy(live_server: str, page, make_user: MakeUser) -> None:  # type: ignore[no-untyped-def]
    make_user("csp.admin", "admin", "54")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill("csp.admin")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/units**")
    for path in PAGES:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("networkidle")
    # Chart pages ran their (nonce-carrying) inline plotly script; whether it draws is the
    # layout's business (script order), whether it may run is the policy's.
    assert not [p for p in problems if "Content Security Policy" in p], problems
    # An injected inline script without the nonce is refused (and reported).
    page.goto(f"{live_server}/units")
    page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.injected = true'; document.body.appendChild(s); }"""
    )
    assert page.evaluate("() => window.injected === true") is False
    blocked = [p for p in problems if "Content Security Policy" in p]
    assert len(blocked) == 1, problems
