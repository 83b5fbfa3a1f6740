"""Campaign dashboards: coverage with drill-down, rankings, behind target, targets, organisations.

Every number shown is also at ``/api/v1/campaign/...`` (JSON, or CSV with ``format=csv``); each
page links to both.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, require_role
from safezone.campaign import coverage, service
from safezone.campaign.api import ratio_of, scoped_unit
from safezone.errors import SafezoneError
from safezone.units import service as units
from safezone.units.boundaries import boundaries_of
from safezone.units.names import display_name
from safezone.web import charts, i18n
from safezone.web.deps import CsrfProtected, CurrentUser, RowId, SessionDep, SettingsDep
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)


def _page_user(*roles: Role) -> Any:
    def dependency(request: Request, user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return dependency


PageReader = Annotated[User, Depends(_page_user(Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER))]
PageOfficer = Annotated[User, Depends(_page_user(Role.CAMPAIGN_OFFICER))]
PageOrgUser = Annotated[
    User,
    Depends(_page_user(Role.ORG_REPORTER, Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER)),
]
PageOrgWriter = Annotated[User, Depends(_page_user(Role.ORG_REPORTER, Role.CAMPAIGN_OFFICER))]
PageAdmin = Annotated[User, Depends(_page_user())]  # admins only (they always pass)
UnitQuery = Annotated[str | None, Query(max_length=16)]
AppQuery = Annotated[str, Query(min_length=1, max_length=16)]

SOURCE_LABELS = {
    "official": "Official count",
    "field": "Door-to-door",
    "safezone": "safezone usage",
    "organisation": "Organisation reports",
    "mixed": "Mixed sources",
    "none": "No figure yet",
}


def source_label(source: str) -> str:
    """The figure source, in the current language."""
    return i18n.gettext(SOURCE_LABELS.get(source, source))


def _percent(value: float | None) -> str:
    if value is None:
        return "–"
    return i18n.format_number(round(value * 100, 1)) + " %"


def _common(session: Any, user: User, app: str) -> dict[str, Any]:
    apps = service.list_apps(session, active_only=True)
    return {
        "apps": apps,
        "app": coverage.check_app(session, app),
        "source_label": source_label,
        "percent": _percent,
        "can_edit": user.role in (Role.CAMPAIGN_OFFICER, Role.ADMIN),
    }


def _coverage_chart(items: list[coverage.Coverage], unit_code: str, boundary: Any) -> Markup:
    """A choropleth where the children have boundaries, else bars sorted by share."""
    import plotly.graph_objects as go

    values = [round((c.share or 0) * 100, 1) for c in items]
    if boundary is not None and any(values):
        figure = go.Figure(
            go.Choropleth(
                geojson=boundary,
                locations=[c.unit_code for c in items],
                z=values,
                featureidkey="properties.code",
                text=[c.unit_name for c in items],
                colorscale="Greens",
                zmin=0,
                zmax=100,
                colorbar={"title": "%"},
            )
        )
        figure.update_geos(fitbounds="locations", visible=False)
        figure.update_layout(height=420, margin={"l": 0, "r": 0, "t": 10, "b": 0})
        return charts.chart(figure, chart_id="coverage-map", config=charts.MAP_CONFIG)
    ordered = sorted(items, key=lambda c: (c.share or 0, c.unit_code))
    figure = go.Figure(
        go.Bar(
            x=[c.unit_name for c in ordered],
            y=[round((c.share or 0) * 100, 1) for c in ordered],
            name=i18n.gettext("Coverage (%)"),
            marker_color=["#b3261e" if c.behind else "#0b6e4f" for c in ordered],
        )
    )
    targets = [c.target_share for c in ordered if c.target_share is not None]
    if targets:
        figure.add_trace(
            go.Scatter(
                x=[c.unit_name for c in ordered],
                y=[round((c.target_share or 0) * 100, 1) for c in ordered],
                mode="lines",
                name=i18n.gettext("Target (%)"),
                line={"color": "#1f3a93", "dash": "dash"},
            )
        )
    figure.update_layout(height=420, margin={"l": 40, "r": 10, "t": 40, "b": 120})
    del unit_code
    return charts.chart(figure, chart_id="coverage-bars")


def _trend_chart(points: list[tuple[dt.date, int, float | None]], target: float | None) -> Markup:
    import plotly.graph_objects as go

    days = [d.isoformat() for d, _, _ in points]
    figure = go.Figure(
        go.Scatter(
            x=days,
            y=[round((s or 0) * 100, 2) for _, _, s in points],
            mode="lines+markers",
            name=i18n.gettext("Coverage (%)"),
            line={"color": "#0b6e4f"},
        )
    )
    if target is not None:
        figure.add_trace(
            go.Scatter(
                x=days,
                y=[round(target * 100, 1)] * len(days),
                mode="lines",
                name=i18n.gettext("Target (%)"),
                line={"color": "#1f3a93", "dash": "dash"},
            )
        )
    figure.update_xaxes(tickformat="%d/%m/%Y")
    figure.update_layout(height=320, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return charts.chart(figure, chart_id="coverage-trend")


@router.get("/campaign", response_class=HTMLResponse)
def coverage_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageReader,
    unit: UnitQuery = None,
    app: AppQuery = "ncovi",
) -> HTMLResponse:
    """Coverage of a unit and its children (drill down by clicking), trend against target."""
    code = scoped_unit(session, user, unit or None)
    ratio = ratio_of(settings)
    own, kids, points = coverage.page_data(session, code, app, days=30, default_ratio=ratio)
    here = units.get_unit(session, code)
    scope = Scope.of(user)
    trail = [u for u in units.ancestors(session, here) if scope.contains(u)]
    return render(
        request,
        "campaign/coverage.html",
        {
            **_common(session, user, app),
            "unit": here,
            "unit_label": display_name(here),
            "trail": trail,
            "own": own,
            "children": kids,
            "chart": _coverage_chart(
                kids, code, boundaries_of(session, [k.unit_code for k in kids])
            ),
            "trend_chart": _trend_chart(points, own.target_share),
            "query": f"unit={code}&app={app}",
        },
    )


@router.get("/campaign/rankings", response_class=HTMLResponse)
def rankings_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageReader,
    unit: UnitQuery = None,
    app: AppQuery = "ncovi",
) -> HTMLResponse:
    """The lowest and highest communes, and who moved most this week."""
    code = scoped_unit(session, user, unit or None)
    found = coverage.rankings(session, app, within=code, default_ratio=ratio_of(settings))
    return render(
        request,
        "campaign/rankings.html",
        {
            **_common(session, user, app),
            "unit": units.get_unit(session, code),
            "rankings": found,
            "query": f"unit={code}&app={app}",
        },
    )


@router.get("/campaign/behind", response_class=HTMLResponse)
def behind_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageReader,
    unit: UnitQuery = None,
    app: AppQuery = "ncovi",
) -> HTMLResponse:
    """Communes below their target, the largest gap in installs first."""
    code = scoped_unit(session, user, unit or None)
    found = coverage.behind_target(session, app, within=code, default_ratio=ratio_of(settings))
    return render(
        request,
        "campaign/behind.html",
        {
            **_common(session, user, app),
            "unit": units.get_unit(session, code),
            "rows": found,
            "query": f"unit={code}&app={app}",
        },
    )


def _targets_page(
    request: Request,
    session: Any,
    user: User,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    scope = Scope.of(user)
    rows = service.list_targets(session, scope)
    return render(
        request,
        "campaign/targets.html",
        {
            **_common(session, user, "ncovi"),
            "rows": rows,
            "names": units.names_of(session, [t.unit_code for t in rows]),
            "unit_groups": units.grouped(session, scope.path),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/campaign/targets", response_class=HTMLResponse)
def targets_page(request: Request, session: SessionDep, user: PageReader) -> HTMLResponse:
    """Targets per unit and app (units without their own inherit their parent's)."""
    return _targets_page(request, session, user)


@router.post("/campaign/targets", response_class=HTMLResponse, dependencies=[CsrfProtected])
def targets_set(
    request: Request,
    session: SessionDep,
    user: PageOfficer,
    unit_code: Annotated[str, Form(max_length=16)],
    app_code: Annotated[str, Form(max_length=16)],
    percent: Annotated[float, Form(gt=0, le=100)],
    base: Annotated[str, Form(max_length=20)] = "population",
    deadline: Annotated[dt.date | None, Form()] = None,
) -> Any:
    """Set a unit's own target (audited)."""
    try:
        service.set_target(
            session,
            Scope.of(user),
            unit_code=unit_code,
            app_code=app_code,
            share=percent / 100,
            base=base,
            deadline=deadline,
            actor=user,
        )
    except SafezoneError as error:
        session.rollback()
        vi = i18n.get_locale() == "vi"
        messages = [e.message_vi if vi else e.message_en for e in error.errors]
        return _targets_page(request, session, user, errors=messages, status_code=error.status_hint)
    return RedirectResponse("/campaign/targets", status_code=303)


APP_TEXT_FIELDS = ("name", "purpose_vi", "purpose_en", "android_url", "ios_url")


def _apps_page(
    request: Request,
    session: Any,
    *,
    errors: dict[str, list[str]] | None = None,
    forms: dict[str, dict[str, Any]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "campaign/apps.html",
        {"apps": service.list_apps(session), "errors": errors or {}, "forms": forms or {}},
        status_code=status_code,
    )


@router.get("/campaign/apps", response_class=HTMLResponse)
def apps_page(request: Request, session: SessionDep, user: PageAdmin) -> HTMLResponse:
    """The apps the campaign promotes: names, purposes, store links, order (admins edit)."""
    del user
    return _apps_page(request, session)


@router.post("/campaign/apps/{code}", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def apps_update(
    request: Request,
    session: SessionDep,
    user: PageAdmin,
    code: Annotated[str, Path(min_length=1, max_length=16)],
) -> Any:
    """Save one app's entry: every field checked first; an error changes nothing (audited)."""
    data = await request.form()
    changes: dict[str, object] = {name: str(data.get(name, ""))[:400] for name in APP_TEXT_FIELDS}
    changes["countable_per_unit"] = data.get("countable_per_unit") == "1"
    changes["active"] = data.get("active") == "1"
    position = str(data.get("position", "")).strip()
    changes["position"] = int(position) if position.isdigit() and len(position) < 6 else -1
    try:
        service.update_app(session, code, changes, actor=user.username)
    except SafezoneError as error:
        session.rollback()
        if error.status_hint == 404:
            raise
        vi = i18n.get_locale() == "vi"
        messages: dict[str, list[str]] = {}
        for item in error.errors:
            messages.setdefault(item.field or "form", []).append(
                item.message_vi if vi else item.message_en
            )
        form = {**changes, "position": position}
        return _apps_page(
            request,
            session,
            errors={code: [f"{_app_label(name)}: {' '.join(m)}" for name, m in messages.items()]},
            forms={code: form},
            status_code=422,
        )
    return RedirectResponse("/campaign/apps", status_code=303)


def _app_label(field: str) -> str:
    labels = {
        "name": i18n.gettext("Name"),
        "purpose_vi": i18n.gettext("Purpose (Vietnamese)"),
        "purpose_en": i18n.gettext("Purpose (English)"),
        "android_url": i18n.gettext("Google Play link"),
        "ios_url": i18n.gettext("App Store link"),
        "position": i18n.gettext("Order"),
    }
    return labels.get(field, field)


@router.get("/campaign/organisations", response_class=HTMLResponse)
def organisations_page(
    request: Request, session: SessionDep, user: PageOrgUser, app: AppQuery = "ncovi"
) -> HTMLResponse:
    """Organisation compliance: latest report against target, overdue and below-target first."""
    rows = service.compliance(session, user, app)
    rows.sort(key=lambda c: (not c.overdue and not c.below_target, c.share or 0, c.code))
    return render(
        request,
        "campaign/organisations.html",
        {
            **_common(session, user, app),
            "rows": rows,
            "names": units.names_of(session, [c.unit_code for c in rows]),
            "overdue": sum(c.overdue for c in rows),
            "below": sum(c.below_target for c in rows),
        },
    )


def _organisation_page(
    request: Request,
    session: Any,
    user: User,
    organisation_id: int,
    *,
    errors: list[str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    org = service.get_organisation(session, user, organisation_id)
    return render(
        request,
        "campaign/organisation.html",
        {
            **_common(session, user, "ncovi"),
            "org": org,
            "unit_label": display_name(service.organisation_unit(session, org)),
            "history": service.report_history(session, org),
            "can_report": user.role in (Role.ORG_REPORTER, Role.CAMPAIGN_OFFICER, Role.ADMIN),
            "today": coverage.local_today(),
            "errors": errors or [],
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/campaign/organisations/{organisation_id}", response_class=HTMLResponse)
def organisation_page(
    request: Request,
    session: SessionDep,
    user: PageOrgUser,
    organisation_id: RowId,
    saved: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    """One organisation: its report history and (for its reporter) the report form."""
    return _organisation_page(request, session, user, organisation_id, saved=bool(saved))


@router.post(
    "/campaign/organisations/{organisation_id}",
    response_class=HTMLResponse,
    dependencies=[CsrfProtected],
)
def organisation_report(
    request: Request,
    session: SessionDep,
    user: PageOrgWriter,
    organisation_id: RowId,
    app_code: Annotated[str, Form(max_length=16)],
    as_of: Annotated[dt.date, Form()],
    headcount: Annotated[int, Form(ge=0, le=1_000_000)],
    installs: Annotated[int, Form(ge=0, le=1_000_000)],
) -> Any:
    """Store a report from the form (same numbers again: no change)."""
    try:
        service.submit_report(
            session,
            user,
            organisation_id=organisation_id,
            app_code=app_code,
            as_of=as_of,
            headcount=headcount,
            installs=installs,
        )
    except SafezoneError as error:
        if error.status_hint == 404:
            raise
        session.rollback()
        vi = i18n.get_locale() == "vi"
        messages = [e.message_vi if vi else e.message_en for e in error.errors]
        return _organisation_page(
            request, session, user, organisation_id, errors=messages, status_code=error.status_hint
        )
    return RedirectResponse(f"/campaign/organisations/{organisation_id}?saved=1", status_code=303)
