"""Unit tree: bundled data, roll-ups, imports (all or nothing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.errors import InvalidInput, NotFound
from safezone.units import service
from safezone.units.models import Unit

BAD_CASES = json.loads((Path(__file__).parent.parent / "data" / "units_bad.json").read_text())


def test_bundled_tree_matches_the_2019_census(db: Database) -> None:
    with db.session() as session:
        assert service.count_by_level(session) == {"province": 1, "district": 9, "commune": 112}
        province = service.totals(session, "54")
        assert (province.population, province.urban_population, province.households) == (
            872_964,
            250_888,
            260_436,
        )
        assert province.communes == 112


def test_district_totals_are_sums_of_their_communes(db: Database) -> None:
    with db.session() as session:
        for district, totals in service.children_with_totals(session, "54"):
            communes = service.children(session, district.code)
            assert totals.population == sum(c.population or 0 for c in communes)
            assert totals.households == sum(c.households or 0 for c in communes)
            assert totals.communes == len(communes)
            assert totals == service.totals(session, district.code)


def test_commune_totals_are_its_own_figures(db: Database) -> None:
    with db.session() as session:
        commune = service.get_unit(session, "22015")
        totals = service.totals(session, "22015")
        assert totals.population == commune.population
        assert totals.communes == 1


def test_children_of_root_and_breadcrumb(db: Database) -> None:
    with db.session() as session:
        assert [u.code for u in service.children(session, None)] == ["54"]
        commune = service.get_unit(session, "22015")
        assert [u.code for u in service.ancestors(session, commune)] == ["54", "555"]
        assert commune.path == "54/555/22015/"
        assert commune.depth == 2


def test_unknown_unit_raises_not_found_in_both_languages(db: Database) -> None:
    with db.session() as session, pytest.raises(NotFound) as caught:
        service.get_unit(session, "nope")
    error = caught.value.errors[0]
    assert error.code == "unit_not_found"
    assert "nope" in error.message_vi
    assert "nope" in error.message_en


@pytest.mark.parametrize("case", BAD_CASES, ids=[c["name"] for c in BAD_CASES])
def test_bad_csv_is_rejected_whole(db: Database, case: dict) -> None:  # type: ignore[type-arg]
    with db.session() as session:
        before = session.scalar(select(func.count()).select_from(Unit))
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        service.import_units(session, service.read_csv(case["csv"]))
    found = [(e.field, e.code) for e in caught.value.errors]
    if "errors" in case:
        assert found == [tuple(pair) for pair in case["errors"]]
    else:
        assert {code for _, code in found} & set(case["errors_any"])
    for error in caught.value.errors:
        assert error.message_vi
        assert error.message_en
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Unit)) == before
        assert session.get(Unit, "901") is None


def test_reimport_updates_and_moving_a_unit_moves_its_subtree(db: Database) -> None:
    with db.session() as session:
        result = service.load_bundled(session)
    assert (result.created, result.updated) == (0, 122)
    csv_text = (
        "code,name,level,type,parent_code,population,households\n"
        "90,Tỉnh Mới,province,tỉnh,,,\n"
        "555,Thành phố Tuy Hòa,district,thành phố,90,,\n"
    )
    with db.session() as session:
        result = service.import_units(session, service.read_csv(csv_text))
    assert (result.created, result.updated) == (1, 1)
    with db.session() as session:
        assert service.get_unit(session, "22015").path == "90/555/22015/"
        assert service.totals(session, "90").population == 155_921
        assert service.totals(session, "54").population == 872_964 - 155_921


def test_import_file_reads_a_bom_prefixed_csv(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(
        "\ufeffcode,name,level,type,parent_code,population_2019,households_2019\n"
        "22015001,Khu phố 1,village,khu phố,22015,1200,300\n",
        encoding="utf-8",
    )
    with db.session() as session:
        assert service.import_file(session, path).created == 1
    with db.session() as session:
        village = service.get_unit(session, "22015001")
        assert village.path == "54/555/22015/22015001/"
        assert service.totals(session, "22015001").population == 1200
        # Villages do not count twice: the commune total stays the commune's own figure.
        assert (
            service.totals(session, "22015").population
            == service.get_unit(session, "22015").population
        )


@st.composite
def trees(draw: st.DrawFn) -> list[dict[str, str]]:
    """Random province > district > commune trees with random populations."""
    rows = []
    for p in range(draw(st.integers(1, 3))):
        province = f"P{p}"
        rows.append(
            {
                "code": province,
                "name": province,
                "level": "province",
                "type": "tỉnh",
                "parent_code": "",
                "population": "",
                "households": "",
            }
        )
        for d in range(draw(st.integers(0, 4))):
            district = f"{province}D{d}"
            rows.append(
                {
                    "code": district,
                    "name": district,
                    "level": "district",
                    "type": "huyện",
                    "parent_code": province,
                    "population": "",
                    "households": "",
                }
            )
            for c in range(draw(st.integers(0, 5))):
                rows.append(
                    {
                        "code": f"{district}C{c}",
                        "name": "c",
                        "level": "commune",
                        "type": "xã",
                        "parent_code": district,
                        "population": str(draw(st.integers(0, 50_000))),
                        "households": str(draw(st.integers(0, 10_000))),
                    }
                )
    return draw(st.permutations(rows))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=trees())
def test_roll_up_equals_sum_of_communes_for_any_tree(
    db: Database, rows: list[dict[str, str]]
) -> None:
    with db.session() as session:
        service.import_units(session, rows)
        for row in rows:
            expected = sum(
                int(r["population"])
                for r in rows
                if r["level"] == "commune"
                and (r["code"] + "/").startswith(row["code"])
                and _is_descendant(rows, r["code"], row["code"])
            )
            assert service.totals(session, row["code"]).population == expected
        session.rollback()


def _is_descendant(rows: list[dict[str, str]], code: str, ancestor: str) -> bool:
    parents = {r["code"]: r["parent_code"] for r in rows}
    current: str | None = code
    while current:
        if current == ancestor:
            return True
        current = parents.get(current) or None
    return False


def test_vietnam_provinces_source_maps_the_2025_list(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The optional GPL package is not installed here; a stand-in with its published shape
    (Province.iter_all, lookup.WARD_MAPPING) checks our mapping. Said so, since it is a fake."""
    import enum
    import sys
    import types
    from dataclasses import dataclass

    from safezone.units.sources import vietnam_provinces_rows

    class Kind(enum.Enum):
        TINH = "tỉnh"
        THANH_PHO_TRUNG_UONG = "thành phố trung ương"
        PHUONG = "phường"
        DAC_KHU = "đặc khu"

    @dataclass(frozen=True)
    class Province:
        name: str
        code: int
        division_type: Kind

        @staticmethod
        def iter_all():  # type: ignore[no-untyped-def]
            return iter(
                [
                    Province("Tỉnh Đắk Lắk", 66, Kind.TINH),
                    Province("Thành phố Hà Nội", 1, Kind.THANH_PHO_TRUNG_UONG),
                ]
            )

    @dataclass(frozen=True)
    class Ward:
        name: str
        code: int
        division_type: Kind
        province_code: int

    package = types.ModuleType("vietnam_provinces")
    package.Province = Province  # type: ignore[attr-defined]
    lookup = types.ModuleType("vietnam_provinces.lookup")
    lookup.WARD_MAPPING = {  # type: ignore[attr-defined]
        70: Ward("Phường Hoàn Kiếm", 70, Kind.PHUONG, 1),
        99001: Ward("Đặc khu Thử", 99001, Kind.DAC_KHU, 66),
    }
    monkeypatch.setitem(sys.modules, "vietnam_provinces", package)
    monkeypatch.setitem(sys.modules, "vietnam_provinces.lookup", lookup)

    rows = vietnam_provinces_rows()
    with db.session() as session:
        result = service.import_units(session, rows)
    assert (result.created, result.updated) == (4, 0)
    with db.session() as session:
        hanoi = service.get_unit(session, "01")
        assert (hanoi.type, hanoi.level) == ("thành phố", "province")
        ward = service.get_unit(session, "00070")
        assert ward.path == "01/00070/"
        assert str(ward.valid_from) == "2025-07-01"
        assert service.get_unit(session, "99001").type == "đặc khu"
