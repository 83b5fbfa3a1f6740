"""Unit names: the type once, one Hòa spelling, accent-free matching."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from safezone.db.engine import Database
from safezone.units import service
from safezone.units.models import Unit
from safezone.units.names import display_name, fold, normalise_spelling


def test_the_type_is_shown_once() -> None:
    assert display_name(SimpleNamespace(name="Huyện Đồng Xuân", type="huyện")) == "Huyện Đồng Xuân"
    assert display_name(SimpleNamespace(name="Đồng Xuân", type="huyện")) == "Huyện Đồng Xuân"
    assert display_name(SimpleNamespace(name="Thị xã Sông Cầu", type="thị xã")) == (
        "Thị xã Sông Cầu"
    )
    assert display_name(None) == ""


def test_one_spelling_convention() -> None:
    assert normalise_spelling("Thành phố Tuy Hoà") == "Thành phố Tuy Hòa"
    assert normalise_spelling("Thị trấn Hoà Hiệp Trung") == "Thị trấn Hòa Hiệp Trung"
    assert normalise_spelling("Xã Hoà Thuỷ") == "Xã Hòa Thủy"
    assert normalise_spelling("Xã Quý Hoà") == "Xã Quý Hòa"  # qu: the tone stays on y
    for kept in ("Huyện Sơn Hòa", "Xã Hoàng Hoa", "Phường Hoàn Kiếm"):
        assert normalise_spelling(kept) == kept


def test_folding_drops_diacritics_and_case() -> None:
    assert fold("Huyện Sơn Hòa") == "huyen son hoa"
    assert fold("  Đồng   Xuân ") == "dong xuan"


def test_the_bundled_census_units_use_one_spelling(db: Database) -> None:
    # The GSO list behind the census file writes six names "Hoà" and 29 "Hòa".
    assert "Tuy Hoà" in service.bundled_csv()
    with db.session() as session:
        names = list(session.scalars(select(Unit.name)))
        assert not [name for name in names if "oà" in name or "oá" in name or "uỷ" in name]
        assert session.get_one(Unit, "555").name == "Thành phố Tuy Hòa"
        assert session.get_one(Unit, "560").name == "Huyện Sơn Hòa"


def test_an_import_normalises_the_spelling(db: Database) -> None:
    rows = service.read_csv(
        "code,name,level,type,parent_code,population,households\n"
        "90001,Xã Hoà Mỹ Tây,commune,xã,562,10,3\n"
    )
    with db.session() as session:
        service.import_units(session, rows)
    with db.session() as session:
        assert session.get_one(Unit, "90001").name == "Xã Hòa Mỹ Tây"
