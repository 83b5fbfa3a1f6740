"""Figures for staff: counts per unit and day."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from safezone.accounts.service import Scope
from safezone.db.engine import Database
from safezone.declarations import base, reports
from tests.conftest import MakeUser
from tests.declarations.conftest import (
    COMMUNE,
    OTHER_COMMUNE_SAME_DISTRICT,
    OTHER_DISTRICT_COMMUNE,
    declare,
)

Body = Callable[..., dict[str, Any]]


def test_stats_count_per_unit_and_day(
    db: Database, body: Body, policy: base.Policy, make_user: MakeUser
) -> None:
    declare(db, policy, body())
    declare(
        db, policy, body(id_number="054085000002", address__unit_code=OTHER_COMMUNE_SAME_DISTRICT)
    )
    declare(db, policy, body(id_number="054085000003", address__unit_code=OTHER_DISTRICT_COMMUNE))
    province = make_user("tinh", "health_officer", "54")
    with db.session() as session:
        user = session.merge(province)
        result = reports.stats(session, policy, Scope.of(user))
        per_unit = {unit.code: counts for unit, counts in result.per_unit}
        assert per_unit["555"] == {"medium": 2}
        assert per_unit["557"] == {"medium": 1}
        assert result.per_day[-1] == (base.local_today(), {"medium": 3})
        district = reports.stats(session, policy, Scope.of(user), root_code="555")
        assert {u.code: c for u, c in district.per_unit}[COMMUNE] == {"medium": 1}


def test_exports_show_labels_not_codes(
    client: Any, body: Body, make_user: MakeUser, token_for: Any
) -> None:
    raw = body(symptoms=["shortness_of_breath"])
    raw["exposure"]["visited_health_facility"] = True
    assert client.post("/api/v1/declarations", json=raw).status_code == 201
    headers = token_for(make_user("yte.export", "health_officer", COMMUNE))
    vi = client.get("/declarations/export.csv?lang=vi", headers=headers).content.decode("utf-8-sig")
    assert vi.splitlines()[0].startswith("Số tờ khai,Ngày khai,")
    assert "Khó thở" in vi
    assert "Đến cơ sở y tế" in vi
    assert "shortness_of_breath" not in vi
    assert "visited_health_facility" not in vi
    en = client.get("/declarations/export.csv?lang=en", headers=headers).content.decode("utf-8-sig")
    assert "Shortness of breath" in en
    assert ",Medium," in en
