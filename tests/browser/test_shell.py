"""Log in, see the overview in Vietnamese, switch to English, drill into a district."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, MakeUser

pytestmark = pytest.mark.browser


def test_login_overview_language_and_drilldown(live_server: str, page, make_user: MakeUser) -> None:  # type: ignore[no-untyped-def]
    make_user("tinh.admin", "admin", "54")
    page.goto(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "Đăng nhập cán bộ"
    page.get_by_label("Tên đăng nhập").fill("tinh.admin")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()

    page.wait_for_url(f"{live_server}/units**")
    assert page.locator("h1").inner_text() == "Tỉnh Phú Yên"
    assert page.get_by_test_id("total-population").inner_text() == "872.964"
    assert page.get_by_test_id("count-district").inner_text() == "9"
    assert page.get_by_test_id("count-commune").inner_text() == "112"
    assert page.get_by_role("button", name="Đăng xuất").is_visible()

    page.get_by_role("link", name="English").click()
    assert page.get_by_test_id("total-population").inner_text() == "872,964"
    assert page.get_by_role("columnheader", name="Population").is_visible()

    page.get_by_role("link", name="Thành phố Tuy Hòa").click()
    page.wait_for_url(f"{live_server}/units/555")
    assert page.locator("h1").inner_text() == "Thành phố Tuy Hòa"
    assert page.get_by_test_id("total-population").inner_text() == "155,921"
    # The language choice is remembered without ?lang= in the URL.
    assert page.get_by_role("columnheader", name="Households").is_visible()
    assert page.locator("table.units tbody tr").count() == 16

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/login")
