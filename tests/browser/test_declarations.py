"""A citizen declares on a phone; the commune officer sees it, verifies the pass, follows up;
an officer of another commune does not see it."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, MakeUser

pytestmark = pytest.mark.browser


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login?next=/declarations")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/declarations")


def test_declare_on_a_phone_then_review_and_follow_up(  # type: ignore[no-untyped-def]
    live_server: str, phone_page, page, make_user: MakeUser
) -> None:
    make_user("yte.phuong1", "health_officer", "22015")
    make_user("yte.phuong2", "health_officer", "22021")

    # --- the citizen, on a 360 px phone -------------------------------------------------------
    phone = phone_page
    phone.goto(f"{live_server}/declare")
    assert phone.locator("h1").inner_text() == "Khai báo y tế"
    # Choosing a unit moves on by itself (JavaScript enhancement of the no-JS steps).
    phone.get_by_label("Quận, huyện, thị xã").select_option(label="Thành phố Tuy Hòa")
    phone.wait_for_url("**unit1=555**")
    phone.get_by_label("Xã, phường, thị trấn").select_option(label="Phường 1")
    phone.wait_for_url("**unit2=22015**")
    phone.get_by_label("Số nhà, đường, thôn/tổ *").fill("12 Trần Hưng Đạo")
    phone.get_by_label("Họ và tên *").fill("Phạm Thị Dung")
    phone.get_by_label("Năm sinh *").fill("1979")
    phone.get_by_label("Giới tính *").select_option("female")
    phone.get_by_label("Số CCCD (12 số), CMND (9 số) hoặc hộ chiếu *").fill("054179002222")
    phone.get_by_label("Số điện thoại *").fill("0905 777 888")
    phone.get_by_label("Ho", exact=True).check()
    phone.get_by_label("Tiếp xúc với ca bệnh (F0)").check()
    phone.get_by_label("Tôi cam kết những thông tin trên là đúng sự thật. *").check()
    # Nothing wider than the phone's screen.
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    phone.get_by_role("button", name="Gửi tờ khai").click()

    phone.wait_for_url("**/declare/u/**")
    assert phone.get_by_role("status").first.inner_text() == "Đã nhận tờ khai. Xin cảm ơn!"
    assert phone.get_by_test_id("risk").inner_text() == "Cao"
    assert phone.get_by_test_id("qr").locator("svg").is_visible()
    declaration_id = phone.get_by_test_id("declaration-id").inner_text()
    pass_token = phone.get_by_test_id("pass-token").inner_text().strip()

    # --- the commune officer ------------------------------------------------------------------
    _login(page, live_server, "yte.phuong1")
    queue = page.get_by_test_id("queue")
    assert queue.get_by_role("link", name=declaration_id, exact=True).is_visible()
    assert "Phạm Thị Dung" not in queue.inner_text()  # the queue carries no personal data

    page.goto(f"{live_server}/pass/verify")
    page.get_by_label("Mã thẻ (quét mã QR hoặc dán vào)").fill(pass_token)
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    assert "Thẻ hợp lệ" in page.get_by_test_id("verdict").inner_text()
    assert page.get_by_test_id("verified-holder").inner_text() == "PTD · 1979"
    assert page.get_by_test_id("verified-risk").inner_text() == "Cao"
    page.get_by_label("Mã thẻ (quét mã QR hoặc dán vào)").fill(pass_token[:-3] + "AAA")
    page.get_by_role("button", name="Kiểm tra", exact=True).click()
    assert "Thẻ không hợp lệ" in page.get_by_test_id("verdict").inner_text()

    page.goto(f"{live_server}/declarations")
    page.get_by_test_id("queue").get_by_role("link", name=declaration_id, exact=True).click()
    assert page.get_by_test_id("person-name").inner_text() == "Phạm Thị Dung"
    page.get_by_label("Tình trạng").select_option("seen_unwell")
    page.get_by_label("Ghi chú").fill("Ho nhẹ, đã hướng dẫn cách ly tại nhà")
    page.get_by_role("button", name="Ghi kết quả theo dõi").click()
    page.wait_for_url(f"{live_server}/declarations/{declaration_id}")
    followups = page.get_by_test_id("followups").inner_text()
    assert "Đã gặp, có triệu chứng" in followups
    assert "Ho nhẹ, đã hướng dẫn cách ly tại nhà" in followups
    assert "Theo dõi" in page.get_by_test_id("timeline").inner_text()

    # --- an officer of another commune does not see it ----------------------------------------
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url(f"{live_server}/login")
    _login(page, live_server, "yte.phuong2")
    assert page.get_by_test_id("queue").get_by_role("link", name=declaration_id).count() == 0
    assert "Không có tờ khai phù hợp." in page.get_by_test_id("queue").inner_text()
    response = page.goto(f"{live_server}/declarations/{declaration_id}")
    assert response is not None
    assert response.status == 404
