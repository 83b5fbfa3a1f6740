"""GET /api/v1/units and /api/v1/units/CODE."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_children_of_the_province(client: TestClient) -> None:
    response = client.get("/api/v1/units", params={"parent": "54"})
    assert response.status_code == 200
    body = response.json()
    assert len(body) == 9
    assert body[0] == {
        "code": "555",
        "name": "Thành phố Tuy Hòa",
        "type": "thành phố",
        "level": "district",
        "parent_code": "54",
        "population": 155921,
        "households": 45895,
    }


def test_roots_without_parent(client: TestClient) -> None:
    assert [u["code"] for u in client.get("/api/v1/units").json()] == ["54"]


def test_one_unit_with_totals(client: TestClient) -> None:
    body = client.get("/api/v1/units/555").json()
    assert body["totals"] == {
        "population": 155921,
        "urban_population": 121544,
        "households": 45895,
        "communes": 16,
    }
    assert body["parent_code"] == "54"


def test_unknown_code_is_a_json_404(client: TestClient) -> None:
    for response in (
        client.get("/api/v1/units/12345678"),
        client.get("/api/v1/units", params={"parent": "nope"}),
    ):
        assert response.status_code == 404
        error = response.json()["errors"][0]
        assert error["code"] == "unit_not_found"
        assert error["message_vi"].startswith("Không tìm thấy")
