"""The unit picker in a real browser: search by name without diacritics, pick, send."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, MakeUser

pytestmark = pytest.mark.browser


def test_verifier_finds_a_unit_by_name_without_diacritics(  # type: ignore[no-untyped-def]
    live_server: str, page, make_user: MakeUser
) -> None:
    make_user("xacminh.tinh", "verifier", "54")
    page.goto(f"{live_server}/login?next=/exposure/codes")
    page.get_by_label("Tên đăng nhập").fill("xacminh.tinh")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server}/exposure/codes")

    search = page.locator("#code-unit-search")
    assert search.is_visible()  # shown once the script runs; the <select> works without it
    assert search.get_attribute("placeholder") == "ví dụ: son hoa"
    search.fill("son hoa")
    suggestions = page.locator("#code-unit-list option")
    suggestions.first.wait_for(state="attached")
    values = suggestions.evaluate_all("options => options.map(o => o.value)")
    assert values[0] == "Huyện Sơn Hòa · Tỉnh Phú Yên"
    assert "Xã Sơn Hà · Huyện Sơn Hòa" in values

    # Picking a suggestion selects that unit in the form's <select>.
    search.fill("Xã Sơn Hà · Huyện Sơn Hòa")
    page.wait_for_function("document.getElementById('code-unit').value === '22201'")
    page.get_by_role("button", name="Cấp", exact=True).click()
    page.wait_for_selector('[data-testid="issued"]')
    assert "Xã Sơn Hà" in page.locator('[data-testid="codes"] tbody tr').first.inner_text()
