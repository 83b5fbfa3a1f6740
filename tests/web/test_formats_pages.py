"""Formats on the pages: dates dd/mm/yyyy, times in Vietnam, units by name, unit pickers,
date inputs that take dd/mm/yyyy, plurals."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from safezone.db.engine import Database
from safezone.declarations.models import Declaration
from safezone.exposure.models import VerificationCode
from safezone.web.i18n import LOCAL_ZONE
from tests.conftest import MakeUser, login
from tests.declarations.conftest import COMMUNE, make_body

HTML = {"Accept": "text/html"}


def _vietnam_today() -> dt.date:
    return dt.datetime.now(LOCAL_ZONE).date()


def test_codes_page_takes_day_first_dates_and_shows_units_and_times_in_vietnam(
    client: TestClient, make_user: MakeUser, db: Database
) -> None:
    make_user("xacminh", "verifier", "555")
    csrf = login(client, "xacminh")
    today = _vietnam_today()
    page = client.get("/exposure/codes", headers=HTML)
    assert f'name="test_date" value="{today:%d/%m/%Y}"' in page.text
    assert 'placeholder="dd/mm/yyyy"' in page.text
    # The unit comes from a picker grouped by district, not a typed code.
    assert "data-unit-picker" in page.text
    assert "/static/unit-picker.js" in page.text
    assert '<optgroup label="Thành phố Tuy Hòa">' in page.text
    assert '<option value="22015" >Phường 1</option>' in page.text
    onset = today - dt.timedelta(days=2)
    issued = client.post(
        "/exposure/codes",
        data={
            "csrf_token": csrf,
            "test_type": "confirmed",
            "unit_code": "22015",
            "test_date": f"{today:%d/%m/%Y}",
            "symptom_date": f"{onset.day}/{onset.month}/{onset.year}",
        },
        headers=HTML,
    )
    assert issued.status_code == 201, issued.text
    with db.session() as session:
        row = session.scalars(select(VerificationCode)).one()
        assert (row.test_date, row.symptom_date) == (today, onset)
        # Issued at 20:07 UTC: 03:07 the next day in Vietnam, shown so in both languages.
        session.execute(
            update(VerificationCode).values(
                created_at=dt.datetime(2026, 3, 5, 20, 7, tzinfo=dt.UTC)
            )
        )
    listed = client.get("/exposure/codes", headers=HTML).text
    assert "03:07 06/03/2026" in listed
    assert "UTC" not in listed
    assert "<td>Phường 1</td>" in listed  # the unit by name, not 22015
    assert "06/03/2026, 03:07" in client.get("/exposure/codes?lang=en", headers=HTML).text


def test_codes_page_names_a_bad_date_and_stores_nothing(
    client: TestClient, make_user: MakeUser, db: Database
) -> None:
    make_user("xacminh", "verifier", "555")
    csrf = login(client, "xacminh")
    refused = client.post(
        "/exposure/codes",
        data={
            "csrf_token": csrf,
            "test_type": "confirmed",
            "unit_code": "555",
            "test_date": "31/02/2026",
            "symptom_date": "hôm qua",
        },
        headers=HTML,
    )
    assert refused.status_code == 422
    assert refused.text.count("dd/mm/yyyy, ví dụ 30/04/2021") == 2
    assert "Ngày xét nghiệm: Ngày không hợp lệ" in refused.text
    assert "Ngày khởi phát triệu chứng: Ngày không hợp lệ" in refused.text
    with db.session() as session:
        assert session.scalars(select(VerificationCode)).first() is None


def _declare(client: TestClient) -> int:
    created = client.post("/api/v1/declarations", json=make_body())
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_queue_filters_take_day_first_dates_and_count_in_plurals(
    client: TestClient, make_user: MakeUser, db: Database
) -> None:
    first = _declare(client)
    make_user("yte.p1", "health_officer", COMMUNE)
    login(client, "yte.p1")
    today = _vietnam_today()
    page = client.get("/declarations", headers=HTML).text
    assert "1 tờ khai" in page
    assert f"<td>{today:%d/%m/%Y}</td>" in page
    assert 'name="date_from" inputmode="numeric" maxlength="10" placeholder="dd/mm/yyyy"' in page
    english = client.get("/declarations?lang=en", headers=HTML).text
    assert "1 declaration ·" in english
    _declare(client)
    assert "2 declarations" in client.get("/declarations", headers=HTML).text
    with db.session() as session:
        session.execute(
            update(Declaration)
            .where(Declaration.id == first)
            .values(declared_on=today - dt.timedelta(days=3))
        )
    since = today - dt.timedelta(days=1)
    filtered = client.get(
        "/declarations", params={"date_from": f"{since:%d/%m/%Y}"}, headers=HTML
    ).text
    assert "1 declaration ·" in filtered
    assert f'value="{since:%d/%m/%Y}"' in filtered  # the filter keeps the reader's format
    iso = client.get("/declarations", params={"date_from": since.isoformat()}, headers=HTML)
    assert "1 declaration ·" in iso.text
    bad = client.get("/declarations", params={"date_from": "31/02/2026"}, headers=HTML)
    assert bad.status_code == 422
    assert "dd/mm/yyyy" in bad.text


def test_assignment_uses_the_picker_and_shows_the_station_by_name(
    client: TestClient, make_user: MakeUser
) -> None:
    declaration = _declare(client)
    make_user("yte.tuyhoa", "health_officer", "555")
    csrf = login(client, "yte.tuyhoa")
    page = client.get(f"/declarations/{declaration}", headers=HTML).text
    assert 'data-within="555"' in page
    assert '<optgroup label="Thành phố Tuy Hòa">' in page
    assigned = client.post(
        f"/declarations/{declaration}/assign",
        data={"unit_code": "22021", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    page = client.get(f"/declarations/{declaration}", headers=HTML).text
    assert 'data-testid="station">Phường 2<' in page
    today = _vietnam_today()
    day_input = re.search(r'<input id="fu-day"[^>]*>', page)
    assert day_input
    assert 'placeholder="dd/mm/yyyy"' in day_input.group(0)
    assert f'value="{today:%d/%m/%Y}"' in day_input.group(0)
    followed = client.post(
        f"/declarations/{declaration}/followup",
        data={"status": "seen_well", "day": f"{today:%d/%m/%Y}", "csrf_token": csrf},
        headers=HTML,
        follow_redirects=False,
    )
    assert followed.status_code == 303, followed.text
    page = client.get(f"/declarations/{declaration}", headers=HTML).text
    assert re.search(rf"<td>{today:%d/%m/%Y}</td><td>[^<]+</td><td></td><td>yte.tuyhoa</td>", page)


def test_citizen_form_takes_day_first_dates(client: TestClient, db: Database) -> None:
    form = client.get(f"/declare?unit0=54&unit1=555&unit2={COMMUNE}", headers=HTML).text
    assert 'id="birth_date" name="birth_date" inputmode="numeric"' in form
    trip_start = _vietnam_today() - dt.timedelta(days=4)
    fields = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
        "unit_code": COMMUNE,
        "street": "12 Trần Hưng Đạo",
        "full_name": "Lê Thị Cúc",
        "birth_year": "1990",
        "birth_date": "02/09/1990",
        "gender": "female",
        "nationality": "VN",
        "id_number": "054190001234",
        "phone": "0905123457",
        "declaration_type": "domestic",
        "travel_place_0": "Đà Nẵng",
        "travel_from_0": f"{trip_start:%d/%m/%Y}",
        "travel_to_0": f"{trip_start:%d/%m/%Y}",
        "pledge": "yes",
    }
    sent = client.post("/declare", data=fields, headers=HTML, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    with db.session() as session:
        assert session.scalars(select(Declaration)).one() is not None
    fields["birth_date"] = "30/02/1990"
    fields["idempotency_key"] = "another-render"
    refused = client.post("/declare", data=fields, headers=HTML)
    assert refused.status_code == 422
    assert 'value="30/02/1990"' in refused.text  # kept as typed, next to its error
    assert "Ngày không hợp lệ: hãy nhập theo dạng dd/mm/yyyy" in refused.text
    assert "YYYY-MM-DD" not in refused.text


def test_overview_names_each_unit_with_its_type_once(client: TestClient) -> None:
    page = client.get("/units/54", headers=HTML).text
    assert "Huyện Đồng Xuân</a>" in page
    assert '<span class="muted">huyện</span>' not in page  # was "Huyện Đồng Xuân huyện"
    assert "Thành phố Tuy Hòa" in page
    assert "Tuy Hoà" not in page
