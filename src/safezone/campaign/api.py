"""JSON (and CSV) routes of the campaign's measuring half under ``/api/v1/campaign``.

Every dashboard number is here: coverage with children, communes, rankings, trend, units behind
target, organisation compliance; ``format=csv`` gives the same rows as CSV. Units outside the
caller's scope and organisations not theirs answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope
from safezone.campaign import coverage, exports, figures, service
from safezone.campaign.schemas import (
    AppOut,
    AppUpdate,
    ComplianceOut,
    CoverageOut,
    CoverageTree,
    ImportOut,
    OrganisationOut,
    RatioIn,
    RefreshOut,
    ReportIn,
    ReportOut,
    TargetIn,
    TargetOut,
    TrendPoint,
)
from safezone.config import Settings
from safezone.errors import SafezoneError
from safezone.tabular import MAX_FILE_BYTES, Report
from safezone.web.deps import RowId, SessionDep, SettingsDep, requires

router = APIRouter(prefix="/api/v1/campaign", tags=["campaign"])

Reader = Annotated[User, Depends(requires(Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER))]
Officer = Annotated[User, Depends(requires(Role.CAMPAIGN_OFFICER))]
Admin = Annotated[User, Depends(requires())]
OrgUser = Annotated[
    User, Depends(requires(Role.ORG_REPORTER, Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER))
]
OrgWriter = Annotated[User, Depends(requires(Role.ORG_REPORTER, Role.CAMPAIGN_OFFICER))]

UnitParam = Annotated[
    str | None,
    Query(min_length=1, max_length=16, description="Unit code (default: your own unit)"),
]
AppParam = Annotated[str, Query(min_length=1, max_length=16, description="App code")]
AsOfParam = Annotated[
    dt.date | None, Query(description="The day (YYYY-MM-DD; default: today in Vietnam)")
]
FormatParam = Annotated[Literal["json", "csv"], Query(description="json or csv")]


class PayloadTooLarge(SafezoneError):
    """The uploaded file is larger than imports accept."""

    status_hint = 413


def scoped_unit(session: Session, user: User, unit_code: str | None) -> str:
    """``unit_code`` (default: the user's unit) if it lies in the user's scope; else NotFound."""
    return service.unit_in_scope(session, Scope.of(user), unit_code or user.unit_code).code


def ratio_of(settings: Settings) -> float:
    """The configured province default smartphone ratio."""
    return settings.campaign.smartphone_ratio


def _csv(name: str, header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> Response:
    return Response(
        exports.to_csv(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/apps")
def list_apps(session: SessionDep, user: Reader) -> list[AppOut]:
    """The apps the campaign promotes."""
    return [AppOut.model_validate(app) for app in service.list_apps(session)]


@router.patch("/apps/{code}")
def update_app(
    session: SessionDep,
    user: Admin,
    code: Annotated[str, Path(min_length=1, max_length=16)],
    body: AppUpdate,
) -> AppOut:
    """Edit an app's catalogue entry (admins only)."""
    app = service.update_app(
        session, code, body.model_dump(exclude_unset=True), actor=user.username
    )
    return AppOut.model_validate(app)


@router.get("/coverage", response_model=CoverageTree)
def get_coverage(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    app: AppParam = "ncovi",
    unit: UnitParam = None,
    as_of: AsOfParam = None,
    format: FormatParam = "json",  # noqa: A002 - the documented query parameter name
) -> Any:
    """A unit's coverage and its children's (drill-down), with the source of every figure."""
    code = scoped_unit(session, user, unit)
    ratio = ratio_of(settings)
    own, kids = coverage.coverage_tree(session, code, app, as_of=as_of, default_ratio=ratio)
    if format == "csv":
        return _csv(
            f"coverage-{code}-{app}", exports.COVERAGE_HEADER, exports.coverage_rows([own, *kids])
        )
    return CoverageTree(unit=CoverageOut.of(own), children=[CoverageOut.of(k) for k in kids])


@router.get("/communes", response_model=list[CoverageOut])
def get_communes(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    app: AppParam = "ncovi",
    unit: UnitParam = None,
    as_of: AsOfParam = None,
    format: FormatParam = "json",  # noqa: A002
) -> Any:
    """Every commune of a unit's subtree with its coverage (for rankings and maps)."""
    code = scoped_unit(session, user, unit)
    found = coverage.commune_coverage(
        session, app, within=code, as_of=as_of, default_ratio=ratio_of(settings)
    )
    if format == "csv":
        return _csv(f"communes-{code}-{app}", exports.COVERAGE_HEADER, exports.coverage_rows(found))
    return [CoverageOut.of(c) for c in found]


@router.get("/behind", response_model=list[CoverageOut])
def get_behind(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    app: AppParam = "ncovi",
    unit: UnitParam = None,
    as_of: AsOfParam = None,
    format: FormatParam = "json",  # noqa: A002
) -> Any:
    """Communes below their target, the largest gap first."""
    code = scoped_unit(session, user, unit)
    found = coverage.behind_target(
        session, app, within=code, as_of=as_of, default_ratio=ratio_of(settings)
    )
    if format == "csv":
        return _csv(f"behind-{code}-{app}", exports.COVERAGE_HEADER, exports.coverage_rows(found))
    return [CoverageOut.of(c) for c in found]


@router.get("/rankings")
def get_rankings(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    app: AppParam = "ncovi",
    unit: UnitParam = None,
    as_of: AsOfParam = None,
    count: Annotated[int, Query(ge=1, le=100)] = 10,
    format: FormatParam = "json",  # noqa: A002
) -> Any:
    """The lowest and highest communes by share, and who moved most in the last 7 days."""
    code = scoped_unit(session, user, unit)
    found = coverage.rankings(
        session, app, within=code, as_of=as_of, count=count, default_ratio=ratio_of(settings)
    )
    if format == "csv":
        rows = [("lowest", *r) for r in exports.coverage_rows(found.lowest)]
        rows += [("highest", *r) for r in exports.coverage_rows(found.highest)]
        rows += [("mover", *r) for r in exports.coverage_rows(m.coverage for m in found.movers)]
        return _csv(f"rankings-{code}-{app}", ("ranking", *exports.COVERAGE_HEADER), rows)
    return {
        "lowest": [CoverageOut.of(c) for c in found.lowest],
        "highest": [CoverageOut.of(c) for c in found.highest],
        "movers": [
            {
                "coverage": CoverageOut.of(m.coverage),
                "share_before": m.share_before,
                "change": m.change,
            }
            for m in found.movers
        ],
    }


@router.get("/trend", response_model=list[TrendPoint])
def get_trend(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    app: AppParam = "ncovi",
    unit: UnitParam = None,
    as_of: AsOfParam = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
    format: FormatParam = "json",  # noqa: A002
) -> Any:
    """Installs and share per day, with the target share to draw the target line."""
    code = scoped_unit(session, user, unit)
    ratio = ratio_of(settings)
    points = coverage.trend(session, code, app, days=days, as_of=as_of, default_ratio=ratio)
    target = coverage.unit_coverage(session, code, app, as_of=as_of, default_ratio=ratio)
    if format == "csv":
        return _csv(
            f"trend-{code}-{app}",
            ("day", "installs", "share", "target_share"),
            [(d, n, s, target.target_share) for d, n, s in points],
        )
    return [
        TrendPoint(day=d, installs=n, share=s, target_share=target.target_share)
        for d, n, s in points
    ]


@router.get("/targets")
def list_targets(session: SessionDep, user: Reader) -> list[TargetOut]:
    """Targets set on units of your area and above it (units without one inherit)."""
    return [TargetOut.model_validate(t) for t in service.list_targets(session, Scope.of(user))]


@router.put("/targets")
def put_target(session: SessionDep, user: Officer, body: TargetIn) -> TargetOut:
    """Set a unit's own target for an app (audited); its descendants inherit it."""
    target = service.set_target(
        session,
        Scope.of(user),
        unit_code=body.unit_code,
        app_code=body.app_code,
        share=body.share,
        base=body.base,
        deadline=body.deadline,
        actor=user,
    )
    return TargetOut.model_validate(target)


@router.delete("/targets", status_code=204)
def delete_target(
    session: SessionDep,
    user: Officer,
    unit: Annotated[str, Query(min_length=1, max_length=16)],
    app: AppParam,
) -> Response:
    """Remove a unit's own target: it inherits its parent's again (audited)."""
    service.delete_target(session, Scope.of(user), unit_code=unit, app_code=app, actor=user)
    return Response(status_code=204)


@router.put("/ratios", status_code=204)
def put_ratio(
    session: SessionDep,
    user: Officer,
    unit: Annotated[str, Query(min_length=1, max_length=16)],
    body: RatioIn,
) -> Response:
    """Set (or, with null, remove) a unit's smartphone ratio (audited)."""
    service.set_smartphone_ratio(
        session, Scope.of(user), unit_code=unit, ratio=body.ratio, actor=user
    )
    return Response(status_code=204)


async def _upload(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise PayloadTooLarge.single("file", "too_large", "Tệp quá lớn.", "The file is too large.")
    return await request.body()


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        },
    }
}


def _import_out(report: Report) -> ImportOut:
    return ImportOut(
        total=report.total,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        skipped=report.skipped,
    )


@router.post("/imports/counts", openapi_extra=_UPLOAD_DOC)
async def import_counts(
    request: Request,
    session: SessionDep,
    user: Officer,
    skip_bad_rows: bool = False,
) -> ImportOut:
    """Import official counts (CSV or XLSX body): all rows checked first, errors by line."""
    data = await _upload(request)
    report = await run_in_threadpool(
        service.import_counts,
        session,
        data,
        scope=Scope.of(user),
        actor=user,
        skip_bad_rows=skip_bad_rows,
        name="upload",
    )
    return _import_out(report)


@router.post("/imports/organisations", openapi_extra=_UPLOAD_DOC)
async def import_organisations(
    request: Request,
    session: SessionDep,
    user: Officer,
    skip_bad_rows: bool = False,
) -> ImportOut:
    """Import the organisation registry (CSV or XLSX body), created or updated by code."""
    data = await _upload(request)
    report = await run_in_threadpool(
        service.import_organisations,
        session,
        data,
        scope=Scope.of(user),
        actor=user,
        skip_bad_rows=skip_bad_rows,
        name="upload",
    )
    return _import_out(report)


@router.post("/refresh")
def refresh(session: SessionDep, user: Officer, as_of: AsOfParam = None) -> RefreshOut:
    """Recompute the door-to-door and safezone-usage figures now."""
    result = figures.refresh(session, as_of=as_of)
    return RefreshOut(field=result.field, safezone=result.safezone)


@router.get("/organisations")
def list_organisations(session: SessionDep, user: OrgUser) -> list[OrganisationOut]:
    """Organisations you may see: your own (org reporters) or your area's."""
    return [OrganisationOut.model_validate(o) for o in service.organisations_for(session, user)]


@router.get("/organisations/{organisation_id}/reports")
def list_reports(session: SessionDep, user: OrgUser, organisation_id: RowId) -> list[ReportOut]:
    """An organisation's reports, newest first."""
    org = service.get_organisation(session, user, organisation_id)
    return [ReportOut.model_validate(r) for r in service.report_history(session, org)]


@router.post("/organisations/{organisation_id}/reports", status_code=201)
def submit_report(
    session: SessionDep, user: OrgWriter, organisation_id: RowId, body: ReportIn
) -> ReportOut:
    """Report headcount and installs of one app on one day (same numbers again: no change)."""
    report, _ = service.submit_report(
        session,
        user,
        organisation_id=organisation_id,
        app_code=body.app_code,
        as_of=body.as_of,
        headcount=body.headcount,
        installs=body.installs,
    )
    return ReportOut.model_validate(report)


@router.get("/compliance", response_model=list[ComplianceOut])
def get_compliance(
    session: SessionDep,
    user: OrgUser,
    app: AppParam = "ncovi",
    as_of: AsOfParam = None,
    format: FormatParam = "json",  # noqa: A002
) -> Any:
    """Organisations' latest reports against their targets: overdue and below-target flags."""
    found = service.compliance(session, user, app, as_of=as_of)
    if format == "csv":
        return _csv(f"compliance-{app}", exports.COMPLIANCE_HEADER, exports.compliance_rows(found))
    return [ComplianceOut(**{f: getattr(c, f) for f in ComplianceOut.model_fields}) for c in found]
