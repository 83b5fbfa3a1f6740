"""Imports of official counts and the organisation registry: every bad row named, nothing stored
from a bad file, skip-bad-rows writes the rest aside, the same file twice changes nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from safezone.accounts.models import AuditEvent
from safezone.accounts.service import Scope
from safezone.campaign import service
from safezone.campaign.models import AdoptionFigure, Organisation
from safezone.db.engine import Database
from safezone.errors import InvalidInput
from safezone.units.models import Unit

DATA = Path(__file__).parent / "data"
TODAY = dt.date(2026, 11, 30)
GOOD_COUNTS = (
    "unit_code,app,installs,as_of,smartphone_users\n"
    "22015,ncovi,1200,2026-11-20,3000\n"
    "22021,bluezone,800,20/11/2026,\n"
    "555,ncovi,50000,2026-11-20,\n"
)


def _figures(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(AdoptionFigure)) or 0


def test_counts_import_then_again_changes_nothing(db: Database) -> None:
    with db.session() as session:
        report = service.import_counts(session, GOOD_COUNTS.encode(), today=TODAY)
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    with db.session() as session:
        again = service.import_counts(session, GOOD_COUNTS.encode(), today=TODAY)
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "campaign.counts.import")
        )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert _figures(db) == 3
    assert audits == 1


def test_counts_correction_supersedes_and_keeps_history(db: Database) -> None:
    with db.session() as session:
        service.import_counts(session, GOOD_COUNTS.encode(), today=TODAY)
    fixed = GOOD_COUNTS.replace("1200", "1300")
    with db.session() as session:
        report = service.import_counts(session, fixed.encode(), today=TODAY)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    with db.session() as session:
        rows = session.scalars(
            select(AdoptionFigure)
            .where(AdoptionFigure.unit_code == "22015")
            .order_by(AdoptionFigure.id)
        ).all()
    assert [(r.installs, r.superseded_at is not None) for r in rows] == [
        (1200, True),
        (1300, False),
    ]


CASES = json.loads((DATA / "bad_counts.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_count_rows_are_all_named_and_nothing_is_stored(db: Database, case: dict) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        service.import_counts(session, case["csv"].encode(), today=TODAY)
    got = [e.field for e in caught.value.errors]
    assert got == case["errors"]
    assert all(e.message_vi and e.message_en for e in caught.value.errors)
    assert _figures(db) == 0


def test_skip_bad_rows_stores_the_rest_and_writes_the_bad_ones(
    db: Database, tmp_path: Path
) -> None:
    text = GOOD_COUNTS + "99999,ncovi,1,2026-11-20,\n22015,ncovi,-1,2026-11-21,\n"
    out = tmp_path / "skipped.csv"
    with db.session() as session:
        report = service.import_counts(
            session, text.encode(), today=TODAY, skip_bad_rows=True, skipped_to=out
        )
    assert (report.created, report.skipped) == (3, 2)
    assert _figures(db) == 3
    skipped = out.read_text(encoding="utf-8-sig").splitlines()
    assert skipped[0] == "line,unit_code,app,installs,as_of,smartphone_users,errors"
    assert [s.split(",")[0] for s in skipped[1:]] == ["5", "6"]


def test_counts_outside_the_scope_are_unknown(db: Database) -> None:
    with db.session() as session:
        tuy_hoa = session.get(Unit, "555")
        assert tuy_hoa is not None
        scope = Scope(tuy_hoa.code, tuy_hoa.path)
        with pytest.raises(InvalidInput) as caught:
            service.import_counts(
                session,
                b"unit_code,app,installs,as_of\n22052,ncovi,1,2026-11-01\n",
                scope=scope,
                today=TODAY,
            )
    assert caught.value.errors[0].code == "unknown_unit"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ORGS = [
    ["code", "name", "kind", "unit_code", "headcount", "contact_name", "target_share"],
    ["UBND-TH", "UBND thành phố Tuy Hoà", "agency", "555", 120, "Văn phòng", None],
    ["THPT-NH", "Trường THPT Nguyễn Huệ", "school", "22015", 95, "", None],
    ["CTY-A", "Công ty A", "enterprise", "22021", 300, "", "70%"],
]


def test_orgs_import_from_xlsx_defaults_targets_and_is_idempotent(db: Database) -> None:
    data = _xlsx(ORGS)
    with db.session() as session:
        report = service.import_organisations(session, data)
    assert report.created == 3
    with db.session() as session:
        again = service.import_organisations(session, data)
        orgs = {o.code: o for o in session.scalars(select(Organisation))}
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert orgs["UBND-TH"].target_share == 1.0
    assert orgs["THPT-NH"].target_share == 1.0
    assert orgs["CTY-A"].target_share == pytest.approx(0.7)
    changed = [row[:] for row in ORGS]
    changed[3][4] = 310
    with db.session() as session:
        third = service.import_organisations(session, _xlsx(changed))
    assert (third.created, third.updated, third.unchanged) == (0, 1, 2)


def test_bad_org_rows_are_named_by_xlsx_line(db: Database) -> None:
    rows = [row[:] for row in ORGS]
    rows[1][2] = "bank"
    rows[2][4] = "many"
    rows[3][0] = "UBND-TH"
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        service.import_organisations(session, _xlsx(rows))
    assert [e.field for e in caught.value.errors] == [
        "line[2].kind",
        "line[3].headcount",
        "line[4]",
    ]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Organisation)) == 0
