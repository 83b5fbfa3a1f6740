"""The shared layout in a real browser: charts draw (or say there is no data), the phone menu,
pages that overflowed at 360 px, readable link buttons, role landing pages, /docs offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, MakeUser
from tests.declarations.conftest import make_body

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _console_errors(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_dashboard_chart_draws_after_plotly_loads(  # type: ignore[no-untyped-def]
    live_server: str, page, make_user: MakeUser, app
) -> None:
    with TestClient(app) as client:
        assert client.post("/api/v1/declarations", json=make_body()).status_code == 201
    make_user("yte.tuyhoa", "health_officer", "555")
    errors = _console_errors(page)
    _login(page, live_server, "yte.tuyhoa")
    # The load event waits for plotly.js (3.5 MB): on a busy CI machine that takes a while.
    page.set_default_timeout(60_000)
    page.goto(f"{live_server}/declarations/dashboard")
    # Plotly puts its SVG into the placeholder once drawn; before the fix the inline script ran
    # first ("Plotly is not defined") and the frame stayed empty.
    page.wait_for_selector("#declarations-chart .main-svg")
    assert page.locator("#declarations-chart .main-svg").count() >= 1
    assert not errors


def test_empty_charts_say_there_is_no_data_yet(  # type: ignore[no-untyped-def]
    live_server: str, page, make_user: MakeUser
) -> None:
    make_user("yte.tuyhoa", "health_officer", "555")
    errors = _console_errors(page)
    _login(page, live_server, "yte.tuyhoa")
    for path, chart in (
        ("/declarations/dashboard", "declarations"),
        ("/exposure/stats", "exposure"),
    ):
        page.goto(f"{live_server}{path}")
        empty = page.get_by_test_id("chart-empty")
        assert empty.inner_text() == "Chưa có dữ liệu: biểu đồ sẽ hiện khi có số liệu."
        assert empty.get_attribute("id") == f"{chart}-chart"
        assert page.locator("[data-figure]").count() == 0  # no empty frame
    page.goto(f"{live_server}/exposure/stats?lang=en")
    assert page.get_by_test_id("chart-empty").inner_text().startswith("No data yet")
    assert not errors


def test_no_plotly_download_on_pages_without_charts(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server}/declare")
    page.wait_for_load_state("networkidle")
    assert not [url for url in requested if "plotly" in url]


def test_phone_menu_is_compact_and_opens_without_javascript(  # type: ignore[no-untyped-def]
    browser, live_server: str, make_user: MakeUser
) -> None:
    make_user("tinh.admin", "admin", "54")
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
    )
    page = context.new_page()
    _login(page, live_server, "tinh.admin")
    page.goto(f"{live_server}/units")
    header = page.locator("header.topbar").bounding_box()
    assert header is not None
    assert header["height"] < 70  # was about 200 px of a 740 px screen
    queue_link = page.get_by_role("link", name="Danh sách khai báo")
    assert not queue_link.is_visible()
    page.get_by_text("Danh mục").click()  # a <details>: no script needed
    assert queue_link.is_visible()
    assert page.get_by_role("button", name="Đăng xuất").is_visible()
    box = queue_link.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 360
    context.close()


def test_desktop_menu_is_open_without_a_click(  # type: ignore[no-untyped-def]
    live_server: str, page, make_user: MakeUser
) -> None:
    make_user("tinh.admin", "admin", "54")
    _login(page, live_server, "tinh.admin")
    assert not page.get_by_text("Danh mục", exact=True).is_visible()
    for name in ("Tổng quan", "Danh sách khai báo", "Mã xác nhận", "Thống kê cảnh báo tiếp xúc"):
        assert page.get_by_role("link", name=name).is_visible()
    assert page.get_by_role("button", name="Đăng xuất").is_visible()
    header = page.locator("header.topbar").bounding_box()
    assert header is not None
    assert header["height"] < 60  # one line


def test_each_role_lands_on_its_work_page(  # type: ignore[no-untyped-def]
    browser, live_server: str, make_user: MakeUser
) -> None:
    make_user("yte.tuyhoa", "health_officer", "555")
    make_user("xacminh.tuyhoa", "verifier", "555")
    make_user("tinh.admin", "admin", "54")
    for username, landing in (
        ("yte.tuyhoa", "/declarations"),
        ("xacminh.tuyhoa", "/exposure/codes"),
        ("tinh.admin", "/units"),
    ):
        context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
        page = context.new_page()
        _login(page, live_server, username)
        assert page.url == f"{live_server}{landing}", username
        context.close()


@pytest.mark.parametrize("width", [360, 1280])
@pytest.mark.parametrize(
    ("lang", "issue", "revoke"), [("vi", "Cấp", "Thu hồi"), ("en", "Issue", "Revoke")]
)
def test_codes_page_after_issuing_a_code_fits_the_screen(  # type: ignore[no-untyped-def]
    browser,
    live_server: str,
    make_user: MakeUser,
    screenshots: Path,
    width: int,
    lang: str,
    issue: str,
    revoke: str,
) -> None:
    make_user("xacminh.tuyhoa", "verifier", "555")
    phone = width < 600
    context = browser.new_context(
        viewport={"width": width, "height": 740 if phone else 800}, is_mobile=phone
    )
    context.add_cookies([{"name": "lang", "value": lang, "url": live_server}])
    page = context.new_page()
    _login(page, live_server, "xacminh.tuyhoa")
    assert page.url.endswith("/exposure/codes")
    for _ in range(2):
        page.get_by_role("button", name=issue, exact=True).click()
        page.wait_for_selector("[data-testid=issued]")
    assert page.get_by_test_id("short-code").is_visible()
    page.screenshot(path=screenshots / f"codes-after-issuing-{lang}-{width}.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    button = page.get_by_role("button", name=revoke, exact=True).first
    box = button.bounding_box()
    table_box = page.get_by_test_id("codes").locator("xpath=..").bounding_box()  # the .scroll box
    assert box is not None
    assert table_box is not None
    # On screen and not cut off by the table's scroll box (it was scrolled off to the right).
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= min(width, table_box["x"] + table_box["width"])
    context.close()


def test_queue_filters_are_collapsed_until_used(  # type: ignore[no-untyped-def]
    phone_page, live_server: str, make_user: MakeUser, app
) -> None:
    with TestClient(app) as client:
        assert client.post("/api/v1/declarations", json=make_body()).status_code == 201
    make_user("yte.tuyhoa", "health_officer", "555")
    page = phone_page
    _login(page, live_server, "yte.tuyhoa")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    filters = page.get_by_test_id("filters")
    assert filters.get_attribute("open") is None
    assert not page.get_by_label("Mức nguy cơ").is_visible()
    table = page.get_by_test_id("queue").bounding_box()
    assert table is not None
    assert table["y"] < 740  # the results start on the first screen
    page.get_by_text("Bộ lọc", exact=True).click()
    page.get_by_label("Mức nguy cơ").select_option("medium")
    page.get_by_role("button", name="Lọc").click()
    page.wait_for_url("**risk=medium**")
    assert page.get_by_test_id("filters").get_attribute("open") is not None
    assert "(1)" in page.get_by_test_id("filters").locator("summary").inner_text()


def test_withdraw_link_button_is_readable_on_the_citizen_page(  # type: ignore[no-untyped-def]
    phone_page, live_server: str, app
) -> None:
    with TestClient(app) as client:
        created = client.post("/api/v1/declarations", json=make_body()).json()
    page = phone_page
    page.goto(f"{live_server}/declare/u/{created['update_token']}")
    withdraw = "Thu hồi đường liên kết này (ví dụ khi mất điện thoại)"
    button = page.get_by_role("button", name=withdraw)
    assert button.is_visible()
    colour, background = button.evaluate(
        """b => {
            let e = b, bg = 'rgba(0, 0, 0, 0)';
            while (e && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
                bg = getComputedStyle(e).backgroundColor; e = e.parentElement;
            }
            return [getComputedStyle(b).color, bg];
        }"""
    )
    assert background == "rgb(255, 255, 255)"  # the white card
    assert colour == "rgb(11, 110, 79)"  # the link colour, not white (was rgb(255, 255, 255))


def test_api_docs_render_offline(page, live_server: str) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(live_server) else None
        ),
    )
    errors = _console_errors(page)
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock")
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/declarations" in text for text in summaries)
    assert outside == []  # no CDN: works on an intranet
    assert not errors
