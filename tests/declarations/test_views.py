"""HTML pages: the form without JavaScript, the citizen's page, pass check, staff pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.accounts.models import AuditEvent
from safezone.db.engine import Database
from safezone.declarations.models import Declaration, FollowUp
from tests.conftest import MakeUser, csrf_from, login
from tests.declarations.conftest import COMMUNE

HTML = {"Accept": "text/html"}
Body = Callable[..., dict[str, Any]]


def form_fields(**changes: Any) -> dict[str, Any]:
    """What a browser sends from the declaration form."""
    fields: dict[str, Any] = {
        "unit_code": COMMUNE,
        "street": "12 Trần Hưng Đạo",
        "full_name": "Lê Thị Cúc",
        "birth_year": "1990",
        "gender": "female",
        "nationality": "VN",
        "id_number": "054190001111",
        "phone": "0905 222 333",
        "declaration_type": "domestic",
        "symptoms": ["cough"],
        "exposure": ["confirmed_case"],
        "conditions": ["pregnancy"],
        "pledge": "yes",
        "idempotency_key": "form-key-1",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def test_address_steps_work_without_javascript(client: TestClient) -> None:
    first = client.get("/declare", headers=HTML)
    assert first.status_code == 200
    assert 'name="unit1"' in first.text  # one province: preselected, districts offered
    assert "Thành phố Tuy Hòa" in first.text
    assert 'name="full_name"' not in first.text  # the questions come after the commune
    second = client.get("/declare?unit0=54&unit1=555", headers=HTML)
    assert 'name="unit2"' in second.text
    assert "Phường 1" in second.text
    third = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML)
    assert '<label for="full_name">Họ và tên *</label>' in third.text
    assert f'name="unit_code" value="{COMMUNE}"' in third.text
    # Changing the district leaves a stale commune behind: the chain stops at the district.
    stale = client.get(f"/declare?unit0=54&unit1=557&unit2={COMMUNE}", headers=HTML)
    assert 'name="full_name"' not in stale.text


def test_form_in_english(client: TestClient) -> None:
    page = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}&lang=en", headers=HTML)
    assert "Health declaration" in page.text
    assert '<label for="full_name">Full name *</label>' in page.text


def submit(client: TestClient, **changes: Any) -> Any:
    page = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML)
    fields = form_fields(csrf_token=csrf_from(page.text), **changes)
    return client.post("/declare", data=fields, headers=HTML, follow_redirects=False)


def test_declare_through_the_form_shows_the_qr_pass(client: TestClient, db: Database) -> None:
    response = submit(client)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/declare/u/szu_")
    again = submit(client)  # a double click sends the same idempotency key
    assert again.headers["location"] == location
    page = client.get(location, headers=HTML)
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<svg" in page.text
    assert 'data-testid="risk">Cao<' in page.text  # cough + confirmed case = high
    token = re.search(r'data-testid="pass-token">([^<]+)<', page.text)
    assert token
    verdict = client.get("/pass/verify", params={"token": token.group(1)}, headers=HTML)
    assert "Thẻ hợp lệ" in verdict.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Declaration)) == 1


def test_form_errors_are_shown_next_to_the_fields(client: TestClient, db: Database) -> None:
    response = submit(client, phone="123", pledge=None, birth_year="1850")
    assert response.status_code == 422
    assert 'id="phone" name="phone"' in response.text
    assert 'aria-invalid="true" aria-describedby="phone-error"' in response.text
    assert "Số điện thoại không hợp lệ" in response.text
    assert "Bạn cần cam kết" in response.text
    assert "Năm sinh phải từ 1900" in response.text
    assert 'value="Lê Thị Cúc"' in response.text  # what was typed is kept
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Declaration)) == 0


def test_daily_update_edit_and_revoke_through_the_link(client: TestClient) -> None:
    location = submit(client).headers["location"].split("?")[0]
    page = client.get(location, headers=HTML)
    csrf = csrf_from(page.text)
    sent = client.post(
        f"{location}/daily",
        data={"statuses": ["healthy"], "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert sent.status_code == 303
    twice = client.post(
        f"{location}/daily", data={"statuses": ["fever"], "csrf_token": csrf}, headers=HTML
    )
    assert "Bạn đã gửi cập nhật hôm nay" in twice.text
    edit = client.get(f"{location}/edit", headers=HTML)
    assert 'value="054190001111"' in edit.text
    saved = client.post(
        f"{location}/edit",
        data=form_fields(csrf_token=csrf, exposure=[], symptoms=[]),
        headers=HTML,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert 'data-testid="risk">Thấp<' in client.get(location, headers=HTML).text
    revoked = client.post(
        f"{location}/revoke", data={"csrf_token": csrf}, headers=HTML, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert client.get(location, headers=HTML).status_code == 403


def test_form_post_needs_the_csrf_token(client: TestClient) -> None:
    response = client.post("/declare", data=form_fields(), headers=HTML)
    assert response.status_code == 403


def test_pass_verify_page_rejects_garbage(client: TestClient) -> None:
    page = client.post("/pass/verify", data={"token": "not-a-pass"}, headers=HTML)
    assert "Thẻ không hợp lệ" in page.text
    assert page.status_code == 200


def test_staff_pages(client: TestClient, body: Body, make_user: MakeUser, db: Database) -> None:
    created = client.post("/api/v1/declarations", json=body()).json()
    make_user("yte.p1", "health_officer", COMMUNE)
    csrf = login(client, "yte.p1")
    queue = client.get("/declarations", headers=HTML)
    assert f'href="/declarations/{created["id"]}"' in queue.text
    assert "Nguyễn Văn An" not in queue.text  # no personal data in the queue
    detail = client.get(f"/declarations/{created['id']}", headers=HTML)
    assert 'data-testid="person-name">Nguyễn Văn An<' in detail.text
    assigned = client.post(
        f"/declarations/{created['id']}/assign",
        data={"unit_code": COMMUNE, "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    followed = client.post(
        f"/declarations/{created['id']}/followup",
        data={"status": "seen_unwell", "note": "sốt nhẹ", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert followed.status_code == 303
    duplicate = client.post(
        f"/declarations/{created['id']}/followup",
        data={"status": "seen_well", "csrf_token": csrf},
        headers=HTML,
    )
    assert duplicate.status_code == 409
    assert "Ngày này đã có kết quả theo dõi" in duplicate.text
    closed = client.post(
        f"/declarations/{created['id']}/outcome",
        data={"outcome": "completed", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert closed.status_code == 303
    page = client.get(f"/declarations/{created['id']}", headers=HTML)
    assert "sốt nhẹ" in page.text
    assert 'data-testid="outcome">Hoàn thành<' in page.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(FollowUp)) == 1
        reads = session.scalar(
            select(func.count()).where(AuditEvent.action == "read", AuditEvent.actor == "yte.p1")
        )
        assert (reads or 0) >= 2


def test_dashboard_embeds_the_chart_without_a_cdn(
    client: TestClient, body: Body, make_user: MakeUser
) -> None:
    client.post("/api/v1/declarations", json=body())
    make_user("yte.tuyhoa", "health_officer", "555")
    login(client, "yte.tuyhoa")
    page = client.get("/declarations/dashboard", headers=HTML)
    assert page.status_code == 200
    # The figure travels as data; the shared charts.js draws it once plotly.js has loaded.
    assert 'id="declarations-chart" data-figure=' in page.text
    assert 'src="/static/charts.js"' in page.text
    assert "cdn" not in page.text.lower()
    assert 'data-testid="total-medium">1<' in page.text
    assert "Plotly.newPlot" not in page.text  # no inline script racing plotly.js
    script = client.get("/assets/plotly.min.js")
    assert script.status_code == 200
    assert len(script.content) > 1_000_000


def test_back_fix_and_resubmit_updates_the_same_declaration(
    client: TestClient, db: Database
) -> None:
    first = submit(client, full_name="Lê Thị Cucs", idempotency_key="render-1")
    assert first.status_code == 303
    link = first.headers["location"]
    # The citizen goes back, fixes the typo and sends the same rendered form again.
    fixed = submit(client, full_name="Lê Thị Cúc", symptoms=[], idempotency_key="render-1")
    assert fixed.status_code == 303
    assert fixed.headers["location"] == link
    page = client.get(link, headers=HTML)
    assert page.status_code == 200  # the first link keeps working
    assert "Lê Thị Cúc" in page.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Declaration)) == 1
    # A new rendering of the form is a new declaration.
    other = submit(client, idempotency_key="render-2")
    assert other.headers["location"] != link


def test_gender_has_no_preselected_value(client: TestClient) -> None:
    page = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML)
    gender = page.text.split('<select id="gender"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected' in gender
    assert 'value="male" selected' not in gender
    assert 'value="not_stated"' in gender
    skipped = submit(client, gender="")
    assert skipped.status_code == 422
    assert "Giới tính: bắt buộc" in skipped.text


def test_empty_form_errors_name_the_fields(client: TestClient, db: Database) -> None:
    page = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML)
    empty = {
        "csrf_token": csrf_from(page.text),
        "unit_code": COMMUNE,
        "idempotency_key": "empty-form",
    }
    response = client.post("/declare", data=empty, headers=HTML)
    assert response.status_code == 422
    for message in (
        "Họ và tên: bắt buộc",
        "Số điện thoại: bắt buộc",
        "Giới tính: bắt buộc",
        "Số nhà, đường, thôn: bắt buộc",
    ):
        assert message in response.text
    assert "Quá ngắn." not in response.text
    english = client.post("/declare?lang=en", data=empty, headers=HTML)
    assert "Full name: required" in english.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Declaration)) == 0


def test_nationality_is_a_country_selector_defaulting_to_viet_nam(
    client: TestClient, make_user: MakeUser
) -> None:
    page = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML)
    select_html = page.text.split('<select id="nationality"', 1)[1].split("</select>", 1)[0]
    assert '<option value="VN" selected>Việt Nam</option>' in select_html
    assert ">Hoa Kỳ</option>" in select_html
    assert select_html.count("<option") == 249
    english = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}&lang=en", headers=HTML)
    assert '<option value="VN" selected>Vietnam</option>' in english.text
    created = submit(client, nationality="US")
    assert created.status_code == 303
    make_user("yte.nat", "health_officer", COMMUNE)
    login(client, "yte.nat")
    detail = client.get("/declarations/1?lang=vi", headers=HTML)
    assert "Hoa Kỳ" in detail.text


def _visible_text(html: str) -> str:
    """What a person reads: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_no_raw_codes_and_plurals_through_babel(
    client: TestClient, body: Body, make_user: MakeUser, lang: str
) -> None:
    from safezone.declarations import vocabulary

    created = client.post("/api/v1/declarations", json=body(symptoms=["sore_throat"])).json()
    client.post(
        f"/api/v1/declarations/{created['id']}/updates",
        json={"statuses": ["shortness_of_breath"]},
        headers={"X-Update-Token": created["update_token"]},
    )
    make_user("yte.codes", "health_officer", COMMUNE)
    csrf = login(client, "yte.codes")
    client.post(
        f"/declarations/{created['id']}/followup",
        data={"status": "seen_unwell", "csrf_token": csrf},
        headers=HTML,
    )
    codes = {
        term.code
        for group, terms in vocabulary.GROUPS.items()
        if group not in ("country", "field")
        for term in terms
        if "_" in term.code
    }
    pages = {
        "detail": client.get(f"/declarations/{created['id']}?lang={lang}", headers=HTML),
        "queue": client.get(f"/declarations?lang={lang}", headers=HTML),
        "citizen": client.get(f"/declare/u/{created['update_token']}?lang={lang}", headers=HTML),
    }
    for name, page in pages.items():
        text = _visible_text(page.text)
        shown = sorted(code for code in codes if re.search(rf"\b{code}\b", text))
        assert not shown, (name, shown)
        assert "risk medium" not in text
    timeline = _visible_text(pages["detail"].text.split('data-testid="timeline"', 1)[1])
    expected = "Seen, unwell" if lang == "en" else "Đã gặp, có triệu chứng"
    assert expected in timeline
    one = "1 declaration ·" if lang == "en" else "1 tờ khai ·"
    assert one in " ".join(_visible_text(pages["queue"].text).split())


def test_a_withdrawn_or_unknown_link_is_explained_to_the_citizen(client: TestClient) -> None:
    created = submit(client)
    link = created.headers["location"].split("?")[0]
    page = client.get(link, headers=HTML)
    client.post(f"{link}/revoke", data={"csrf_token": csrf_from(page.text)}, headers=HTML)
    withdrawn = client.get(link, headers=HTML)
    assert withdrawn.status_code == 403
    assert "Đường liên kết này đã bị thu hồi. Bạn có thể khai báo lại." in withdrawn.text
    unknown = client.get("/declare/u/szu_unknown", headers=HTML)
    assert unknown.status_code == 404
    assert "Không tìm thấy tờ khai." in unknown.text
