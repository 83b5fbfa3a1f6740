"""Privacy: ciphertext at rest, blind-index lookup, audited reads and exports."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text

from safezone.accounts.models import AuditEvent, User
from safezone.db.engine import Database
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE

Body = Callable[..., dict[str, Any]]
SECRETS = ("Nguyễn Văn An", "054085001234", "905123456", "Trần Hưng Đạo", "an@example.vn")


def _raw_rows(db: Database) -> list[bytes]:
    with db.engine.connect() as connection:
        rows = []
        for table in ("decl_persons", "declarations", "decl_idempotency", "decl_followups"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    rows.append(value if isinstance(value, bytes) else str(value).encode())
        return rows


def test_personal_data_is_only_stored_encrypted(
    client: TestClient,
    body: Body,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    created = client.post(
        "/api/v1/declarations", json=body(email="an@example.vn"), headers={"Idempotency-Key": "k"}
    ).json()
    headers = token_for(make_user("yte", "health_officer", COMMUNE))
    followup = {"status": "seen_unwell", "note": "Nguyễn Văn An sốt"}
    assert (
        client.post(
            f"/api/v1/declarations/{created['id']}/followups", json=followup, headers=headers
        ).status_code
        == 201
    )
    stored = b"\n".join(_raw_rows(db))
    for secret in SECRETS:
        assert secret.encode() not in stored, secret
    assert created["update_token"].encode() not in stored
    detail = client.get(f"/api/v1/declarations/{created['id']}", headers=headers).json()
    assert detail["person"]["full_name"] == "Nguyễn Văn An"
    assert detail["person"]["email"] == "an@example.vn"
    assert detail["followups"][0]["note"] == "Nguyễn Văn An sốt"


def test_blind_index_finds_people_by_identity_or_phone(
    client: TestClient,
    body: Body,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    first = client.post("/api/v1/declarations", json=body()).json()
    client.post("/api/v1/declarations", json=body(id_number="054085009999", phone="0912345678"))
    headers = token_for(make_user("yte", "health_officer", "555"))

    def found(q: str) -> list[int]:
        page = client.get("/api/v1/declarations", params={"q": q}, headers=headers).json()
        return [item["id"] for item in page["items"]]

    assert found("054085001234") == [first["id"]]
    assert found("0905 123 456") == [first["id"]]  # normalised like the input
    assert found("+84905123456") == [first["id"]]
    assert found("054085001235") == []


def test_every_staff_read_and_export_is_audited(
    client: TestClient,
    body: Body,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    created = client.post("/api/v1/declarations", json=body()).json()
    headers = token_for(make_user("yte", "health_officer", "555"))
    client.get(f"/api/v1/declarations/{created['id']}", headers=headers)
    client.get(f"/declarations/{created['id']}", headers={**headers, "Accept": "text/html"})
    csv = client.get("/declarations/export.csv", params={"risk": "medium"}, headers=headers)
    assert csv.status_code == 200
    assert "Nguyễn Văn An" in csv.content.decode("utf-8-sig")
    xlsx = client.get("/declarations/export.xlsx", headers=headers)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [cell.value for cell in sheet[2]][8] == "Nguyễn Văn An"
    with db.session() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.actor == "yte")).all()
        reads = [e for e in events if e.action == "read" and e.object_type == "declaration"]
        exports = [e for e in events if e.action == "declaration.export"]
    assert [e.object_id for e in reads] == [str(created["id"])] * 2
    assert [(e.detail["format"], e.detail["rows"]) for e in exports] == [("csv", 1), ("xlsx", 1)]
    assert exports[0].detail["filters"] == {"risk": "medium"}
    assert exports[0].detail["ids"] == [created["id"]]


def test_out_of_scope_lookup_reveals_nothing(
    client: TestClient,
    body: Body,
    db: Database,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    client.post("/api/v1/declarations", json=body())
    headers = token_for(make_user("yte.songcau", "health_officer", "557"))
    page = client.get("/api/v1/declarations", params={"q": "054085001234"}, headers=headers)
    assert page.json()["total"] == 0


def test_csv_export_neutralises_formulas(
    client: TestClient,
    body: Body,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    client.post("/api/v1/declarations", json=body(full_name="=HYPERLINK(1)"))
    headers = token_for(make_user("yte", "health_officer", COMMUNE))
    csv = client.get("/declarations/export.csv", headers=headers).content.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in csv
