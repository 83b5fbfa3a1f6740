"""Reports up the chain: a unit's campaign figures for a day or a week, as XLSX and PDF.

:func:`gather` collects the figures (coverage per app from the coverage service, change since
the last report, rankings of child units, door-to-door progress, organisation compliance, the
messaging funnel where messaging provides one, declarations by risk as counts through the
declarations service); :func:`to_xlsx` and :func:`to_pdf` render them; :func:`generate` stores
both files, keeping every period's report as history.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope
from safezone.campaign.materials import charts
from safezone.campaign.materials.figures import AppCoverage, UnitSheet, get_unit, unit_sheet
from safezone.campaign.materials.models import CampaignReport, ReportFormat, ReportPeriod
from safezone.campaign.materials.pdf import render_pdf
from safezone.campaign.materials.printed import translator
from safezone.campaign.models import (
    AppResult,
    Household,
    Organisation,
    OrganisationReport,
    Visit,
    VisitApp,
    VisitOutcome,
)
from safezone.declarations import reports as declaration_reports
from safezone.declarations.base import Policy
from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.units.models import Unit
from safezone.units.service import subtree_of

RISKS: tuple[str, ...] = ("high", "medium", "low")
#: Where a coverage figure came from (``Coverage.source``), as printed: never the raw code.
SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "official": ("Số liệu chính thức", "Official count"),
    "field": ("Đi từng nhà", "Door-to-door"),
    "safezone": ("Người dùng safezone", "safezone usage"),
    "organisation": ("Báo cáo của tổ chức", "Organisation reports"),
    "mixed": ("Nhiều nguồn", "Mixed sources"),
    "none": ("Chưa có số liệu", "No figure yet"),
}
RISK_LABELS: dict[str, tuple[str, str]] = {
    "high": ("Nguy cơ cao", "High risk"),
    "medium": ("Nguy cơ trung bình", "Medium risk"),
    "low": ("Nguy cơ thấp", "Low risk"),
}


def period_bounds(period: str, end: dt.date) -> tuple[ReportPeriod, dt.date, dt.date]:
    """``(period, start, end)``: a day is itself, a week the seven days ending ``end``."""
    try:
        kind = ReportPeriod(period)
    except ValueError:
        raise InvalidInput(
            FieldError(
                "period",
                "period",
                f"Kỳ báo cáo phải là day hoặc week, không phải {period!r}",
                f"Period must be day or week, not {period!r}",
            )
        ) from None
    start = end if kind is ReportPeriod.DAY else end - dt.timedelta(days=6)
    return kind, start, end


@dataclass(frozen=True)
class Change:
    """An app's coverage now and at the last report."""

    app_code: str
    installs: int
    share: float
    previous_installs: int | None
    previous_share: float | None

    @property
    def installs_delta(self) -> int | None:
        """New installs since the last report (None without one)."""
        return None if self.previous_installs is None else self.installs - self.previous_installs


@dataclass(frozen=True)
class Ranked:
    """A child unit's place for one app."""

    rank: int
    unit_code: str
    unit_name: str
    installs: int
    population: int
    share: float
    target_share: float | None
    behind: bool


@dataclass(frozen=True)
class DoorToDoor:
    """Door-to-door progress in the unit's subtree (counts only)."""

    households: int
    visited_ever: int
    visits_in_period: int
    not_home_in_period: int
    installs_helped_in_period: int
    revisits_due: int


@dataclass(frozen=True)
class OrgRow:
    """An organisation's latest self-report of one app against its target."""

    code: str
    name: str
    kind: str
    unit_name: str
    app_code: str
    headcount: int
    installs: int | None
    as_of: dt.date | None
    target_share: float
    overdue: bool

    @property
    def share(self) -> float | None:
        """Installs over headcount (None without a report)."""
        if self.installs is None or not self.headcount:
            return None
        return self.installs / self.headcount

    @property
    def compliant(self) -> bool:
        """Reported on time and at or above target."""
        return not self.overdue and self.share is not None and self.share >= self.target_share


@dataclass(frozen=True)
class Funnel:
    """Messaging: messages per stage (filled by the messaging service when it has one)."""

    stages: tuple[tuple[str, int], ...]


@dataclass
class ReportData:
    """Everything one report shows."""

    sheet: UnitSheet
    period: ReportPeriod
    start: dt.date
    end: dt.date
    changes: list[Change]
    rankings: dict[str, list[Ranked]]
    door_to_door: DoorToDoor
    organisations: list[OrgRow]
    funnel: Funnel | None
    risks: dict[str, int]
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def summary(self) -> dict[str, Any]:
        """The headline figures stored with the report (the next report's "previous")."""
        return {
            item.app.code: {"installs": item.installs, "share": item.share_population}
            for item in self.sheet.apps
        }


def _previous_summary(
    session: Session, unit_code: str, period: ReportPeriod, end: dt.date
) -> dict[str, Any]:
    query = (
        select(CampaignReport.summary)
        .where(
            CampaignReport.unit_code == unit_code,
            CampaignReport.period == period,
            CampaignReport.period_end < end,
        )
        .order_by(CampaignReport.period_end.desc())
        .limit(1)
    )
    raw = session.scalar(query)
    return json.loads(raw) if raw else {}


def _rankings(sheet: UnitSheet) -> dict[str, list[Ranked]]:
    out: dict[str, list[Ranked]] = {}
    for item in sheet.apps:
        rows: list[tuple[UnitSheet, AppCoverage]] = []
        for child in sheet.children:
            found = child.app(item.app.code)
            if found is not None:
                rows.append((child, found))
        rows.sort(key=lambda pair: (-pair[1].share_population, pair[0].unit_code))
        out[item.app.code] = [
            Ranked(
                rank=index + 1,
                unit_code=child.unit_code,
                unit_name=child.unit_name,
                installs=cover.installs,
                population=cover.population,
                share=cover.share_population,
                target_share=cover.target_share,
                behind=cover.behind,
            )
            for index, (child, cover) in enumerate(rows)
        ]
    return out


def door_to_door(session: Session, unit: Unit, start: dt.date, end: dt.date) -> DoorToDoor:
    """Households, visits and installs helped in ``unit``'s subtree (no personal data read)."""
    in_subtree = select(Unit.code).where(subtree_of(Unit.path, unit.path))
    since = dt.datetime.combine(start, dt.time(), tzinfo=_ZONE)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=_ZONE)

    def count(statement: Any) -> int:
        return int(session.scalar(statement) or 0)

    households = count(
        select(func.count()).select_from(Household).where(Household.unit_code.in_(in_subtree))
    )
    due = count(
        select(func.count())
        .select_from(Household)
        .where(Household.unit_code.in_(in_subtree), Household.due_on.is_not(None))
        .where(Household.due_on <= end)
    )
    visited = count(
        select(func.count(func.distinct(Visit.household_id))).where(
            Visit.unit_code.in_(in_subtree), Visit.outcome == VisitOutcome.HOME
        )
    )
    period = (Visit.unit_code.in_(in_subtree), Visit.visited_at >= since, Visit.visited_at < until)
    visits = count(select(func.count()).select_from(Visit).where(*period))
    not_home = count(
        select(func.count())
        .select_from(Visit)
        .where(*period, Visit.outcome == VisitOutcome.NOT_HOME)
    )
    helped = count(
        select(func.count())
        .select_from(VisitApp)
        .join(Visit, Visit.id == VisitApp.visit_id)
        .where(*period, VisitApp.result == AppResult.INSTALLED_WITH_HELP)
    )
    return DoorToDoor(households, visited, visits, not_home, helped, due)


def organisations(session: Session, unit: Unit, apps: Sequence[str], end: dt.date) -> list[OrgRow]:
    """Each organisation in ``unit``'s subtree: its latest report per app up to ``end``."""
    orgs = session.execute(
        select(Organisation, Unit)
        .join(Unit, Unit.code == Organisation.unit_code)
        .where(subtree_of(Unit.path, unit.path))
        .order_by(Organisation.code)
    ).all()
    if not orgs:
        return []
    latest = (
        select(
            OrganisationReport.organisation_id,
            OrganisationReport.app_code,
            func.max(OrganisationReport.as_of).label("as_of"),
        )
        .where(
            OrganisationReport.organisation_id.in_([org.id for org, _ in orgs]),
            OrganisationReport.as_of <= end,
        )
        .group_by(OrganisationReport.organisation_id, OrganisationReport.app_code)
        .subquery()
    )
    reports = {
        (row.organisation_id, row.app_code): row
        for row in session.scalars(
            select(OrganisationReport).join(
                latest,
                (latest.c.organisation_id == OrganisationReport.organisation_id)
                & (latest.c.app_code == OrganisationReport.app_code)
                & (latest.c.as_of == OrganisationReport.as_of),
            )
        )
    }
    from safezone.units.names import display_name

    rows = []
    for org, home in orgs:
        for app in apps:
            report = reports.get((org.id, app))
            overdue = report is None or (end - report.as_of).days > org.report_every_days
            rows.append(
                OrgRow(
                    code=org.code,
                    name=org.name,
                    kind=str(org.kind),
                    unit_name=display_name(home),
                    app_code=app,
                    headcount=report.headcount if report else org.headcount,
                    installs=report.installs if report else None,
                    as_of=report.as_of if report else None,
                    target_share=org.target_share,
                    overdue=overdue,
                )
            )
    return rows


#: ``(session, unit_code, start, end) -> Funnel``: set by the messaging domain when it has one.
FunnelFn = Callable[[Session, str, dt.date, dt.date], Funnel | None]


#: The messaging funnel's stages as reports name them (Vietnamese, English).
FUNNEL_STAGES: dict[str, tuple[str, str]] = {
    "planned": ("Tin nhắn đã lên lịch", "Messages planned"),
    "sent": ("Đã gửi", "Sent"),
    "delivered": ("Đã đến máy", "Delivered"),
    "clicked": ("Đã mở liên kết", "Link opened"),
    "confirmed": ("Xác nhận đã cài đặt", "Install confirmed"),
}


def messaging_funnel(
    session: Session, unit_code: str, start: dt.date, end: dt.date
) -> Funnel | None:
    """The messaging domain's funnel for the unit's subtree, to date (its service counts every
    message so far, not per period); None while safezone has no messaging domain."""
    import importlib

    del start, end
    try:
        service = importlib.import_module("safezone.messaging.service")
    except ModuleNotFoundError:
        return None
    unit = get_unit(session, unit_code)
    rows = service.funnel(session, Scope(unit.code, unit.path))
    return Funnel(tuple(zip(service.STAGES, service.totals(rows), strict=True)))


def gather(
    session: Session,
    unit_code: str,
    period: str,
    end: dt.date,
    *,
    policy: Policy,
    funnel: FunnelFn = messaging_funnel,
) -> ReportData:
    """Every figure of ``unit_code``'s report for ``period`` (day|week) ending ``end``."""
    kind, start, end = period_bounds(period, end)
    unit = get_unit(session, unit_code)
    sheet = unit_sheet(session, unit.code, as_of=end, with_children=True)
    previous = _previous_summary(session, unit.code, kind, end)
    changes = [
        Change(
            app_code=item.app.code,
            installs=item.installs,
            share=item.share_population,
            previous_installs=previous.get(item.app.code, {}).get("installs"),
            previous_share=previous.get(item.app.code, {}).get("share"),
        )
        for item in sheet.apps
    ]
    stats = declaration_reports.stats(
        session,
        policy,
        Scope(unit.code, unit.path),
        root_code=unit.code,
        days=(end - start).days + 1,
        today=end,
    )
    return ReportData(
        sheet=sheet,
        period=kind,
        start=start,
        end=end,
        changes=changes,
        rankings=_rankings(sheet),
        door_to_door=door_to_door(session, unit, start, end),
        organisations=organisations(session, unit, [item.app.code for item in sheet.apps], end),
        funnel=funnel(session, unit.code, start, end),
        risks={risk: int(stats.total.get(risk, 0)) for risk in RISKS},
    )


_ZONE = dt.timezone(dt.timedelta(hours=7), "ICT")


# --- XLSX -----------------------------------------------------------------------------------------

PERCENT = "0.0%"
COUNT = "#,##0"
DELTA = "+#,##0;-#,##0;0"
DATE = "dd/mm/yyyy"


def to_xlsx(data: ReportData, *, lang: str = "vi") -> bytes:
    """The report as a workbook: a sheet per section, frozen header rows, number formats, and
    a native bar chart of coverage against target."""
    from openpyxl import Workbook

    t = translator(lang)
    book = Workbook()
    title = _title(data, lang)

    def sheet(
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        formats: Sequence[str | None],
    ) -> Any:
        return _sheet(book, title, name, headers, rows, formats)

    book.remove(book.active)
    coverage_rows = []
    change_by_app = {change.app_code: change for change in data.changes}
    for item in data.sheet.apps:
        change = change_by_app[item.app.code]
        coverage_rows.append(
            [
                item.app.name,
                item.population,
                item.smartphone_users,
                item.installs,
                item.share_population,
                item.share_smartphones,
                item.target_share,
                item.target_base,
                item.deadline,
                t(*SOURCE_LABELS.get(item.source, (item.source, item.source))),
                change.installs_delta,
                t("Chậm", "Behind") if item.behind else t("Đạt tiến độ", "On track"),
            ]
        )
    ws = sheet(
        t("Độ phủ", "Coverage"),
        [
            t("Ứng dụng", "App"),
            t("Dân số", "Population"),
            t("Người dùng ĐTTM", "Smartphone users"),
            t("Lượt cài đặt", "Installs"),
            t("Tỷ lệ / dân số", "Share of population"),
            t("Tỷ lệ / người dùng ĐTTM", "Share of smartphone users"),
            t("Mục tiêu", "Target"),
            t("Mục tiêu tính trên", "Target base"),
            t("Hạn", "Deadline"),
            t("Nguồn số liệu", "Source"),
            t("Tăng so với kỳ trước", "Change since last report"),
            t("Đánh giá", "Status"),
        ],
        coverage_rows,
        [None, COUNT, COUNT, COUNT, PERCENT, PERCENT, PERCENT, None, DATE, None, DELTA, None],
    )
    if coverage_rows:
        _coverage_chart(ws, len(coverage_rows), t)

    ranking_rows = []
    for item in data.sheet.apps:
        for row in data.rankings.get(item.app.code, []):
            ranking_rows.append(
                [
                    item.app.name,
                    row.rank,
                    row.unit_code,
                    row.unit_name,
                    row.population,
                    row.installs,
                    row.share,
                    row.target_share,
                    t("Chậm", "Behind") if row.behind else "",
                ]
            )
    sheet(
        t("Xếp hạng đơn vị", "Rankings"),
        [
            t("Ứng dụng", "App"),
            t("Hạng", "Rank"),
            t("Mã", "Code"),
            t("Đơn vị", "Unit"),
            t("Dân số", "Population"),
            t("Lượt cài đặt", "Installs"),
            t("Tỷ lệ", "Share"),
            t("Mục tiêu", "Target"),
            t("Đánh giá", "Status"),
        ],
        ranking_rows,
        [None, "0", None, None, COUNT, COUNT, PERCENT, PERCENT, None],
    )
    d2d = data.door_to_door
    sheet(
        t("Đi từng nhà", "Door to door"),
        [t("Chỉ số", "Measure"), t("Số lượng", "Count")],
        [
            [t("Hộ trong danh sách", "Households listed"), d2d.households],
            [t("Hộ đã gặp (lũy kế)", "Households met (to date)"), d2d.visited_ever],
            [t("Lượt đến nhà trong kỳ", "Visits in period"), d2d.visits_in_period],
            [t("Lượt vắng nhà trong kỳ", "Not home in period"), d2d.not_home_in_period],
            [
                t("Cài đặt với sự giúp đỡ trong kỳ", "Installs helped in period"),
                d2d.installs_helped_in_period,
            ],
            [t("Hộ cần đến lại", "Revisits due"), d2d.revisits_due],
        ],
        [None, COUNT],
    )
    sheet(
        t("Tổ chức", "Organisations"),
        [
            t("Mã", "Code"),
            t("Tổ chức", "Organisation"),
            t("Loại", "Kind"),
            t("Đơn vị", "Unit"),
            t("Ứng dụng", "App"),
            t("Số người", "Headcount"),
            t("Đã cài", "Installs"),
            t("Tỷ lệ", "Share"),
            t("Mục tiêu", "Target"),
            t("Ngày báo cáo", "Reported on"),
            t("Quá hạn báo cáo", "Overdue"),
            t("Đạt", "Compliant"),
        ],
        [
            [
                row.code,
                row.name,
                row.kind,
                row.unit_name,
                row.app_code,
                row.headcount,
                row.installs,
                row.share,
                row.target_share,
                row.as_of,
                t("Có", "Yes") if row.overdue else "",
                t("Có", "Yes") if row.compliant else "",
            ]
            for row in data.organisations
        ],
        [None, None, None, None, None, COUNT, COUNT, PERCENT, PERCENT, DATE, None, None],
    )
    if data.funnel is None:
        funnel_rows: list[list[Any]] = [
            [
                t(
                    "Chưa có: phân hệ tin nhắn chưa cung cấp số liệu này",
                    "Not yet: messaging does not provide this yet",
                ),
                None,
            ]
        ]
    else:
        funnel_rows = [
            [t(*FUNNEL_STAGES.get(stage, (stage, stage))), count]
            for stage, count in data.funnel.stages
        ]
    sheet(
        t("Tin nhắn", "Messaging"),
        [t("Bước", "Stage"), t("Số lượng", "Count")],
        funnel_rows,
        [None, COUNT],
    )
    sheet(
        t("Khai báo y tế", "Declarations"),
        [t("Mức nguy cơ", "Risk"), t("Số tờ khai trong kỳ", "Declarations in period")],
        [[t(*RISK_LABELS[risk]), data.risks.get(risk, 0)] for risk in RISKS]
        + [[t("Tổng", "Total"), sum(data.risks.values())]],
        [None, COUNT],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet(
    book: Any,
    title: str,
    name: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    formats: Sequence[str | None],
) -> Any:
    """One section: title row, bold header row (both frozen), rows, number formats, widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(name[:31])
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(headers))
    for cell in ws[2]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="E3E8F0")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        ws.append(list(row))
    for column, fmt in enumerate(formats, start=1):
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=3, min_col=column, max_col=column):
            cell.number_format = fmt
    for column, header in enumerate(headers, start=1):
        cells = [len(str(row[column - 1])) for row in rows if column <= len(row)]
        width = max([len(str(header)), *cells])
        ws.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 10), 48)
    ws.freeze_panes = "A3"  # the title and the header row stay in view
    return ws


def _coverage_chart(ws: Any, count: int, t: Callable[[str, str], str]) -> None:
    """A native column chart: share of population and target per app, under the table."""
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "col"
    chart.title = t("Tỷ lệ cài đặt so với mục tiêu", "Coverage against target")
    chart.y_axis.numFmt = "0%"
    chart.y_axis.title = t("Tỷ lệ dân số", "Share of population")
    last = 2 + count
    chart.add_data(Reference(ws, min_col=5, min_row=2, max_row=last), titles_from_data=True)
    chart.add_data(Reference(ws, min_col=7, min_row=2, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=3, max_row=last))
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"A{last + 3}")


def _title(data: ReportData, lang: str) -> str:
    t = translator(lang)
    kind = t("ngày", "daily") if data.period is ReportPeriod.DAY else t("tuần", "weekly")
    span = (
        data.end.strftime("%d/%m/%Y")
        if data.start == data.end
        else f"{data.start:%d/%m/%Y} – {data.end:%d/%m/%Y}"
    )
    return t(
        f"Báo cáo {kind} chiến dịch cài đặt ứng dụng – {data.sheet.unit_name} – {span}",
        f"Campaign {kind} report – {data.sheet.unit_name} – {span}",
    )


# --- PDF ------------------------------------------------------------------------------------------


def to_pdf(data: ReportData, *, lang: str = "vi", paper: str = "A4") -> bytes:
    """The report as PDF, charts drawn as SVG images."""
    t = translator(lang)
    legend = (t("Tỷ lệ", "Share"), t("Mục tiêu", "Target"))
    coverage_chart = charts.bars_svg(
        [(item.app.name, item.share_population, item.target_share) for item in data.sheet.apps],
        title=t("Tỷ lệ cài đặt so với mục tiêu", "Coverage against target"),
        legend=legend,
    )
    ranking_charts = []
    for item in data.sheet.apps:
        ranked = data.rankings.get(item.app.code, [])
        # A ranking of zeros says nothing (an app nobody counts per unit): no chart.
        if any(row.installs for row in ranked):
            ranking_charts.append(
                (
                    item.app.name,
                    charts.bars_svg(
                        [(row.unit_name, row.share, row.target_share) for row in ranked],
                        title=f"{item.app.name}: " + t("xếp hạng đơn vị", "units ranked"),
                        horizontal=True,
                        legend=legend,
                    ),
                )
            )
    return render_pdf(
        "report.html",
        {
            "lang": lang,
            "t": t,
            "title": _title(data, lang),
            "data": data,
            "changes": {change.app_code: change for change in data.changes},
            "coverage_chart": coverage_chart,
            "ranking_charts": ranking_charts,
            "risk_labels": {risk: t(*RISK_LABELS[risk]) for risk in RISKS},
            "source_labels": {source: t(*label) for source, label in SOURCE_LABELS.items()},
            "stage_labels": {stage: t(*label) for stage, label in FUNNEL_STAGES.items()},
            "risks": RISKS,
        },
        paper=paper,
    )


# --- storage --------------------------------------------------------------------------------------


def generate(
    session: Session,
    unit_code: str,
    period: str,
    end: dt.date,
    *,
    policy: Policy,
    formats: Sequence[ReportFormat] = (ReportFormat.XLSX, ReportFormat.PDF),
    funnel: FunnelFn = messaging_funnel,
    lang: str = "vi",
) -> list[CampaignReport]:
    """Render and store the report (a period generated again is replaced, others are kept)."""
    data = gather(session, unit_code, period, end, policy=policy, funnel=funnel)
    summary = json.dumps(data.summary())
    stored = []
    for fmt in formats:
        content = to_xlsx(data, lang=lang) if fmt is ReportFormat.XLSX else to_pdf(data, lang=lang)
        row = session.scalar(
            select(CampaignReport).where(
                CampaignReport.unit_code == data.sheet.unit_code,
                CampaignReport.period == data.period,
                CampaignReport.period_end == data.end,
                CampaignReport.format == fmt,
            )
        ) or CampaignReport(
            unit_code=data.sheet.unit_code,
            period=data.period,
            period_start=data.start,
            period_end=data.end,
            format=fmt,
        )
        row.content, row.summary = content, summary
        row.created_at = dt.datetime.now(dt.UTC)
        session.add(row)
        stored.append(row)
    session.flush()
    return stored


def history(session: Session, unit_code: str, *, limit: int = 60) -> list[CampaignReport]:
    """``unit_code``'s stored reports, newest period first (content not loaded)."""
    from sqlalchemy.orm import defer

    query = (
        select(CampaignReport)
        .options(defer(CampaignReport.content))
        .where(CampaignReport.unit_code == unit_code)
        .order_by(CampaignReport.period_end.desc(), CampaignReport.period, CampaignReport.format)
        .limit(limit)
    )
    return list(session.scalars(query))


def get_report(session: Session, unit_code: str, report_id: int) -> CampaignReport:
    """Report ``report_id`` of ``unit_code`` or NotFound."""
    report = session.get(CampaignReport, report_id)
    if report is None or report.unit_code != unit_code:
        raise NotFound(FieldError("report", "not_found", "Không có báo cáo", "No such report"))
    return report


def file_name(report: CampaignReport) -> str:
    """``bao-cao-22015-week-2026-11-30.xlsx``."""
    return (
        f"bao-cao-{report.unit_code}-{report.period.value}-{report.period_end.isoformat()}"
        f".{report.format.value}"
    )
