"""Contact import from CSV/XLSX: validation first, line-numbered bilingual errors, idempotent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from safezone.db.engine import Database
from safezone.errors import InvalidInput
from safezone.messaging import contacts
from safezone.messaging.base import Policy
from safezone.messaging.models import Contact, ContactApp
from safezone.messaging.tables import read_table
from tests.messaging.conftest import MORNING

DATA = Path(__file__).parent / "data"


def _import(
    db: Database, policy: Policy, data: bytes, name: str, **kw: object
) -> contacts.ImportResult:
    with db.session() as session:
        return contacts.import_contacts(
            session,
            read_table(data, name),
            vault=policy.vault,
            now=MORNING,
            **kw,  # type: ignore[arg-type]
        )


def _count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Contact)) or 0


def test_import_csv_then_again_changes_nothing(db: Database, policy: Policy) -> None:
    data = (DATA / "contacts_ok.csv").read_bytes()
    first = _import(db, policy, data, "contacts_ok.csv")
    assert (first.rows, first.created, first.updated, first.unchanged, first.installs) == (
        4,
        4,
        0,
        0,
        2,
    )
    again = _import(db, policy, data, "contacts_ok.csv")
    assert (again.created, again.updated, again.unchanged, again.installs) == (0, 0, 4, 0)
    assert _count(db) == 4
    with db.session() as session:
        found = contacts.find(session, policy.vault, "+84912345678")
        assert found is not None
        assert found.unit_code == "22021"
        assert found.consent_method == "import:import"
        assert found.consent_at is not None
        assert found.consent_at.hour == 7
        assert session.scalar(select(func.count()).select_from(ContactApp)) == 2


def test_every_error_by_line_and_nothing_stored(db: Database, policy: Policy) -> None:
    with pytest.raises(InvalidInput) as caught:
        _import(db, policy, (DATA / "contacts_bad.csv").read_bytes(), "contacts_bad.csv")
    got = {(e.field, e.code) for e in caught.value.errors}
    assert got == {
        ("line 3: phone", "invalid"),
        ("line 4: unit_code", "unknown_unit"),
        ("line 4: language", "invalid_choice"),
        ("line 4: consent_at", "invalid_date"),
        ("line 4: installed", "invalid_choice"),
        ("line 5: phone", "duplicate"),
    }
    for error in caught.value.errors:
        assert error.message_vi.startswith("Dòng ")
        assert error.message_en.startswith("Line ")
    assert _count(db) == 0


def test_missing_columns_and_empty_files(db: Database, policy: Policy) -> None:
    with pytest.raises(InvalidInput) as caught:
        _import(db, policy, b"so,don_vi\n0905123456,22015\n", "x.csv")
    assert caught.value.errors[0].code == "missing_columns"
    with pytest.raises(InvalidInput) as caught:
        _import(db, policy, b"phone,unit_code\n", "x.csv")
    assert caught.value.errors[0].code == "empty"
    with pytest.raises(InvalidInput) as caught:
        _import(db, policy, b"\xff\xfe\x00", "x.csv")
    assert caught.value.errors[0].code == "encoding"
    with pytest.raises(InvalidInput) as caught:
        _import(db, policy, b"not a zip", "x.xlsx")
    assert caught.value.errors[0].code == "not_xlsx"


def test_import_xlsx_with_numbers_as_numbers(db: Database, policy: Policy) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Phone", "Unit_Code", "Language"])
    sheet.append([905123456, 22015, "vi"])  # a spreadsheet drops the leading zero
    sheet.append(["0981234567", "22021", "en"])
    buffer = io.BytesIO()
    book.save(buffer)
    result = _import(db, policy, buffer.getvalue(), "danh-sach.xlsx")
    assert result.created == 2


def test_semicolon_csv_and_scope(db: Database, policy: Policy) -> None:
    data = b"phone;unit_code\n0905123456;22015\n0981234567;22052\n"
    with pytest.raises(InvalidInput) as caught:
        # A district-555 officer may not import into Song Cau (557).
        _import(db, policy, data, "x.csv", within_path=_path(db, "555"))
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("line 3: unit_code", "unknown_unit")
    ]
    assert _import(db, policy, data, "x.csv").created == 2


def _path(db: Database, code: str) -> str:
    from safezone.units.models import Unit

    with db.session() as session:
        return session.get_one(Unit, code).path
