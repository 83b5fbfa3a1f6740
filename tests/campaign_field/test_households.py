"""Households import: villages, sealed personal data, line-numbered errors, nothing stored on
error, --skip-bad-rows, idempotence, XLSX, scope."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from safezone.accounts.models import AuditEvent
from safezone.accounts.service import Scope
from safezone.campaign import households
from safezone.campaign.models import Household
from safezone.errors import InvalidInput, NotFound
from safezone.units.models import Unit
from safezone.vault import Vault
from tests.campaign_field.conftest import COMMUNE, DATA, TODAY, household_file


def _import(session: Session, vault: Vault, data: bytes, name: str = "h.csv", **kw: object):  # type: ignore[no-untyped-def]
    return households.import_households(
        session,
        vault,
        data,
        name,
        unit_code=kw.pop("unit_code", COMMUNE),
        today=TODAY,
        **kw,  # type: ignore[arg-type]
    )


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Household)) or 0)


def test_good_file_creates_households_and_villages(session: Session, vault: Vault) -> None:
    report = _import(session, vault, (DATA / "households_good.csv").read_bytes())
    assert (report.created, report.updated, report.unchanged, report.villages_created) == (
        4,
        0,
        0,
        2,
    )
    village = session.get_one(Unit, "22015-TDP01")
    assert (village.level, village.type, village.parent_code) == ("village", "tổ dân phố", COMMUNE)
    assert village.path == "54/555/22015/22015-TDP01/"
    rows = session.scalars(select(Household).order_by(Household.id)).all()
    assert [row.unit_code for row in rows] == ["22015-TDP01", "22015-TDP01", "22015-TDP02", COMMUNE]
    opened = vault.open(rows[0])
    assert opened == {"head_name": "Nguyễn Văn An", "address": "12 Lê Lợi", "phone": "+84905123456"}
    assert vault.open(rows[2])["phone"] == "+84905234567"
    assert rows[1].phone_enc is None
    assert rows[1].phone_index is None
    assert all(row.due_on == TODAY and row.due_reason == "first" for row in rows)


def test_personal_data_is_not_stored_in_clear(session: Session, vault: Vault) -> None:
    _import(session, vault, (DATA / "households_good.csv").read_bytes())
    session.flush()
    dump = " ".join(
        str(value)
        for row in session.execute(text("SELECT * FROM campaign_households")).all()
        for value in row
    )
    for secret in ("Nguyễn Văn An", "Lê Lợi", "905123456", "84905123456"):
        assert secret not in dump
    digest = vault.digest("phone", "+84905123456")
    assert session.scalar(select(Household.id).where(Household.phone_index == digest))


def test_bad_rows_are_all_reported_by_line_and_column_and_nothing_is_stored(
    session: Session, vault: Vault
) -> None:
    before = session.scalar(select(func.count()).select_from(Unit))
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, (DATA / "households_bad.csv").read_bytes())
    found = {(e.field, e.code) for e in caught.value.errors}
    expected = {
        tuple(line.split()) for line in (DATA / "households_bad.expected").read_text().splitlines()
    }
    assert found == expected
    for error in caught.value.errors:
        line = error.field.split("]")[0].removeprefix("line[")  # type: ignore[union-attr]
        assert error.message_vi.startswith(f"dòng {line}")
        assert error.message_en.startswith(f"line {line}")
    assert _count(session) == 0
    assert session.scalar(select(func.count()).select_from(Unit)) == before


def test_missing_columns_are_named(session: Session, vault: Vault) -> None:
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, b"name,size\nA,2\n")
    assert {(e.field, e.code) for e in caught.value.errors} == {
        ("head_name", "missing_column"),
        ("members", "missing_column"),
        ("name", "unknown_column"),
        ("size", "unknown_column"),
    }
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, b"head_name,members\nA,2\n")
    assert [(e.field, e.code) for e in caught.value.errors] == [("address", "missing_column")]


def test_skip_bad_rows_stores_the_good_ones_and_writes_the_bad(
    session: Session, vault: Vault, tmp_path: Path
) -> None:
    report = _import(session, vault, (DATA / "households_bad.csv").read_bytes(), skip_bad_rows=True)
    assert report.created == 1
    assert [line for line, _ in report.skipped] == [3, 4, 5, 6, 7]
    assert _count(session) == 1
    target = tmp_path / "skipped.csv"
    assert households.write_skipped(report, target) == 5
    assert target.stat().st_mode & 0o777 == 0o600
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "line,village_code,village_name,address,head_name,members,phone,errors"
    assert lines[1].startswith("3,")
    assert "An address or a village code is required." in lines[1]
    assert len(lines) == 6


def test_importing_twice_changes_nothing(session: Session, vault: Vault) -> None:
    data = (DATA / "households_good.csv").read_bytes()
    _import(session, vault, data)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    again = _import(session, vault, data)
    assert (again.created, again.updated, again.unchanged, again.villages_created) == (0, 0, 4, 0)
    assert _count(session) == 4
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_changed_member_count_updates_the_household(session: Session, vault: Vault) -> None:
    _import(session, vault, household_file([("", "", "1 Lê Lợi", "An", "3", "")]))
    report = _import(session, vault, household_file([("", "", "1  lê lợi", "AN", "5", "")]))
    assert (report.created, report.updated) == (0, 1)
    assert session.scalars(select(Household.members)).all() == [5]


def test_xlsx_file(session: Session, vault: Vault) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["village_code", "village_name", "address", "head_name", "members", "phone"])
    sheet.append([None, None, "5 Lê Lợi", "Hồ Văn Xuân", 6, "0905111222"])
    sheet.append([])
    sheet.append([None, None, "6 Lê Lợi", "Hồ Thị Yến", "x", None])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, buffer.getvalue(), "h.xlsx")
    assert [e.field for e in caught.value.errors] == ["line[4].members"]
    report = _import(session, vault, buffer.getvalue(), "h.xlsx", skip_bad_rows=True)
    assert report.created == 1


def test_unit_must_be_a_commune_in_scope(session: Session, vault: Vault) -> None:
    data = household_file([("", "", "1 Lê Lợi", "An", "3", "")])
    with pytest.raises(InvalidInput):
        _import(session, vault, data, unit_code="555")
    with pytest.raises(NotFound):
        _import(session, vault, data, scope=Scope("557", "54/557/"))
    with pytest.raises(NotFound):
        _import(session, vault, data, unit_code="nope")
    assert _count(session) == 0


def test_not_utf8_is_refused(session: Session, vault: Vault) -> None:
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, "head_name,members,address\nÂn,2,x\n".encode("cp1258"))
    assert caught.value.errors[0].code == "encoding"


def test_a_new_village_needs_a_name(session: Session, vault: Vault) -> None:
    with pytest.raises(InvalidInput) as caught:
        _import(session, vault, household_file([("22015-X9", "", "1 Lê Lợi", "An", "3", "")]))
    assert [e.field for e in caught.value.errors] == ["line[2].village_name"]
