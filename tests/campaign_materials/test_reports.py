"""Reports: XLSX numbers equal the coverage API's, sheets are formatted, the PDF has the text
and charts, history keeps each period and "change since the last report" uses it."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from safezone.campaign import coverage
from safezone.campaign.materials import reports
from safezone.campaign.materials.models import ReportFormat
from safezone.campaign.models import Organisation, OrganisationKind, OrganisationReport
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations.base import Policy, local_today
from safezone.errors import InvalidInput
from tests.declarations.conftest import declare, make_body

from .conftest import COMMUNE, DISTRICT, OTHER_COMMUNE, seed_figures

TODAY = local_today()
FIGURES = {
    (COMMUNE, "ncovi"): 1600,
    (COMMUNE, "bluezone"): 2300,
    (OTHER_COMMUNE, "ncovi"): 900,
    (OTHER_COMMUNE, "bluezone"): 3100,
}


@pytest.fixture
def policy(settings: Settings) -> Policy:
    return Policy.from_settings(settings)


def seed(db: Database) -> None:
    with db.session() as session:
        seed_figures(session, FIGURES, day=TODAY - dt.timedelta(days=1))
        org = Organisation(
            code="THPT-NH",
            name="Trường THPT Nguyễn Huệ",
            kind=OrganisationKind.SCHOOL,
            unit_code=COMMUNE,
            headcount=80,
        )
        session.add(org)
        session.flush()
        session.add(
            OrganisationReport(
                organisation_id=org.id, app_code="ncovi", as_of=TODAY, headcount=80, installs=80
            )
        )


def test_xlsx_numbers_equal_the_coverage_api(db: Database, policy: Policy) -> None:
    seed(db)
    with db.session() as session:
        stored = reports.generate(
            session, DISTRICT, "week", TODAY, policy=policy, formats=[ReportFormat.XLSX]
        )
        expected = {
            app: coverage.unit_coverage(session, DISTRICT, app, as_of=TODAY)
            for app in ("ncovi", "bluezone")
        }
        children = {
            item.unit_code: item
            for item in coverage.children_coverage(session, DISTRICT, "bluezone", as_of=TODAY)
        }
        book = load_workbook(io.BytesIO(stored[0].content))
    assert book.sheetnames == [
        "Độ phủ",
        "Xếp hạng đơn vị",
        "Đi từng nhà",
        "Tổ chức",
        "Tin nhắn",
        "Khai báo y tế",
    ]
    sheet = book["Độ phủ"]
    assert sheet.freeze_panes == "A3"
    assert "Thành phố Tuy Hòa" in sheet["A1"].value
    rows = {row[0]: row for row in sheet.iter_rows(min_row=3, max_row=5, values_only=True)}
    for app, name in (("ncovi", "NCOVI"), ("bluezone", "Bluezone")):
        want = expected[app]
        got = rows[name]
        assert got[1] == want.population
        assert got[2] == want.smartphone_users
        assert got[3] == want.installs
        assert got[4] == pytest.approx(want.share_population)
        assert got[6] == pytest.approx(want.target_share)
    assert rows["NCOVI"][3] == 2500  # 1600 + 900: the roll-up of the two communes
    assert sheet["E3"].number_format == "0.0%"
    assert sheet["B3"].number_format == "#,##0"
    assert len(sheet._charts) == 1  # the native chart
    ranking = book["Xếp hạng đơn vị"]
    ranked = [row for row in ranking.iter_rows(min_row=3, values_only=True) if row[0] == "Bluezone"]
    assert ranked[0][1] == 1
    assert [row[6] for row in ranked] == sorted((row[6] for row in ranked), reverse=True)
    for row in ranked:
        assert row[5] == children[row[2]].installs
    orgs = list(book["Tổ chức"].iter_rows(min_row=3, values_only=True))
    assert (orgs[0][0], orgs[0][4], orgs[0][5], orgs[0][6]) == ("THPT-NH", "ncovi", 80, 80)
    # The messaging funnel comes from safezone.messaging (nothing sent in this seed).
    funnel = list(book["Tin nhắn"].iter_rows(min_row=3, values_only=True))
    assert funnel == [
        ("Tin nhắn đã lên lịch", 0),
        ("Đã gửi", 0),
        ("Đã đến máy", 0),
        ("Đã mở liên kết", 0),
        ("Xác nhận đã cài đặt", 0),
    ]


def test_declarations_by_risk_are_counts_of_the_period(
    db: Database, policy: Policy, settings: Settings
) -> None:
    seed(db)
    declare(db, policy, make_body())
    declare(db, policy, make_body(id_number="054085009999", phone="0905999999"))
    today = local_today()  # now, not at collection: a run may cross midnight
    with db.session() as session:
        data = reports.gather(session, DISTRICT, "day", today, policy=policy)
        elsewhere = reports.gather(session, "557", "day", today, policy=policy)
    assert sum(data.risks.values()) == 2
    assert sum(elsewhere.risks.values()) == 0


def test_change_since_last_report_and_history(db: Database, policy: Policy) -> None:
    seed(db)
    yesterday = TODAY - dt.timedelta(days=1)
    with db.session() as session:
        reports.generate(session, COMMUNE, "day", yesterday, policy=policy)
        seed_figures(session, {(COMMUNE, "ncovi"): 1750}, day=TODAY)
        reports.generate(session, COMMUNE, "day", TODAY, policy=policy)
        again = reports.generate(session, COMMUNE, "day", TODAY, policy=policy)
        data = reports.gather(session, COMMUNE, "day", TODAY + dt.timedelta(days=1), policy=policy)
        kept = reports.history(session, COMMUNE)
    ncovi = next(change for change in data.changes if change.app_code == "ncovi")
    assert ncovi.installs_delta == 0  # vs today's report, which already had 1750
    assert [(row.period_end, row.format.value) for row in kept] == [
        (TODAY, "pdf"),
        (TODAY, "xlsx"),
        (yesterday, "pdf"),
        (yesterday, "xlsx"),
    ]
    assert {row.id for row in again} <= {row.id for row in kept}  # regenerated, not duplicated
    with db.session() as session:
        yesterday_first = reports.gather(session, COMMUNE, "day", TODAY, policy=policy)
    # Today's figures (1750) against yesterday's report (1600).
    change = next(item for item in yesterday_first.changes if item.app_code == "ncovi")
    assert change.installs_delta == 150


def test_pdf_report_has_the_sections_and_charts(db: Database, policy: Policy) -> None:
    seed(db)
    with db.session() as session:
        data = reports.gather(session, DISTRICT, "week", TODAY, policy=policy)
    content = reports.to_pdf(data)
    reader = PdfReader(io.BytesIO(content))
    text = unicodedata.normalize("NFC", " ".join(page.extract_text() for page in reader.pages))
    for expected in (
        "Báo cáo tuần chiến dịch cài đặt ứng dụng – Thành phố Tuy Hòa",
        "Độ phủ theo ứng dụng",
        "Xếp hạng đơn vị: Bluezone",
        "Đi từng nhà",
        "Trường THPT Nguyễn Huệ",
        "Tin nhắn đã lên lịch 0",
        # Sources are named, never printed as codes ("official", "none").
        "5.400 3,5% 60% – Số liệu chính thức",
        "safezone 155.921 0 0% – – Chưa có số liệu",
        "Khai báo y tế theo mức nguy cơ (chỉ số lượng)",
        "Phường 1",
    ):
        assert expected in " ".join(text.split())
    english = reports.to_pdf(data, lang="en")
    assert "Coverage per app" in PdfReader(io.BytesIO(english)).pages[0].extract_text()


def test_bad_period_names_the_field(db: Database, policy: Policy) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        reports.gather(session, COMMUNE, "month", TODAY, policy=policy)
    assert caught.value.errors[0].field == "period"


def test_messaging_funnel_when_messaging_provides_one(db: Database, policy: Policy) -> None:
    seed(db)

    def funnel(session: object, unit: str, start: dt.date, end: dt.date) -> reports.Funnel:
        return reports.Funnel((("planned", 120), ("sent", 110), ("delivered", 100)))

    with db.session() as session:
        data = reports.gather(session, COMMUNE, "day", TODAY, policy=policy, funnel=funnel)
    book = load_workbook(io.BytesIO(reports.to_xlsx(data)))
    rows = list(book["Tin nhắn"].iter_rows(min_row=3, values_only=True))
    assert rows == [("Tin nhắn đã lên lịch", 120), ("Đã gửi", 110), ("Đã đến máy", 100)]
    pages = PdfReader(io.BytesIO(reports.to_pdf(data))).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Đã đến máy 100" in text
