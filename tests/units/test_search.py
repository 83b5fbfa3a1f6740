"""Finding units by name: the search API behind the staff pages' unit pickers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from safezone.db.engine import Database
from safezone.units import service


def _codes(client: TestClient, **params: object) -> list[str]:
    response = client.get("/api/v1/units/search", params=params)
    assert response.status_code == 200, response.text
    return [unit["code"] for unit in response.json()]


def test_names_match_without_diacritics(client: TestClient) -> None:
    found = client.get("/api/v1/units/search", params={"q": "son hoa"}).json()
    assert found[0]["code"] == "560"
    assert found[0]["display_name"] == "Huyện Sơn Hòa"
    assert found[0]["label"] == "Huyện Sơn Hòa · Tỉnh Phú Yên"
    # Its communes follow, found through the district's name and labelled with it; then units
    # where the two words are scattered ("Xã Sơn Thành Tây · Huyện Tây Hòa").
    parents = [unit["parent_code"] for unit in found[1:]]
    communes = parents.count("560")
    assert communes > 5
    assert parents[:communes] == ["560"] * communes
    assert found[1]["label"].endswith(" · Huyện Sơn Hòa")
    assert _codes(client, q="Sơn Hòa")[0] == "560"
    assert _codes(client, q="SON HOA")[0] == "560"


def test_the_spelling_convention_does_not_matter(client: TestClient) -> None:
    assert _codes(client, q="Tuy Hoà")[0] == _codes(client, q="tuy hoa")[0] == "555"


def test_within_level_limit_and_codes(client: TestClient) -> None:
    communes = _codes(client, q="phuong", within="555", level="commune", limit=50)
    assert communes
    assert all(code.startswith("22") for code in communes)
    assert "555" not in communes
    assert _codes(client, q="son hoa", within="555") == []
    assert _codes(client, q="phuong", limit=3) == _codes(client, q="phuong")[:3]
    assert _codes(client, q="22015") == ["22015"]
    assert _codes(client, q="", within="555", level="district") == ["555"]


def test_bad_search_parameters_are_4xx(client: TestClient) -> None:
    assert client.get("/api/v1/units/search", params={"within": "nope"}).status_code == 404
    assert client.get("/api/v1/units/search", params={"limit": 500}).status_code == 422
    assert client.get("/api/v1/units/search", params={"level": "planet"}).status_code == 422
    assert client.get("/api/v1/units/search", params={"q": "x" * 101}).status_code == 422


def test_grouped_for_the_picker(db: Database) -> None:
    with db.session() as session:
        groups = service.grouped(session, "54/555/")
        assert [parent.code for parent, _ in groups if parent] == ["555"]
        assert len(groups[0][1]) == 16
        everything = service.grouped(session, None)
        assert len(everything) == 9
        assert sum(len(members) for _, members in everything) == 112
