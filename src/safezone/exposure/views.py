"""HTML pages: the health worker's verification-code page and the statistics page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from safezone.accounts.models import Role, User
from safezone.accounts.service import require_role
from safezone.db.base import utcnow
from safezone.errors import SafezoneError
from safezone.exposure import codes, stats
from safezone.exposure.api import RuntimeDep
from safezone.units import service as units
from safezone.web import charts as web_charts
from safezone.web import dates, i18n
from safezone.web.deps import CsrfProtected, CurrentUser, RowId, SessionDep, UnitScope
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)


def _page_user(*roles: Role) -> Any:
    def dependency(request: Request, user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return dependency


PageVerifier = Annotated[User, Depends(_page_user(Role.VERIFIER))]
PageStats = Annotated[User, Depends(_page_user(Role.VERIFIER, Role.HEALTH_OFFICER))]


def _codes_page(
    request: Request,
    session: Any,
    user: User,
    scope: Any,
    *,
    issued: codes.IssuedCode | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utcnow()
    rows = [(row, codes.code_status(row, now)) for row in codes.list_codes(session, scope)]
    own = units.get_unit(session, scope.unit_code)
    return render(
        request,
        "exposure/codes.html",
        {
            "rows": rows,
            "issued": issued,
            "errors": errors or [],
            "default_unit": user.unit_code,
            "own_unit": own,
            "unit_groups": units.grouped(session, scope.path),
            "unit_names": units.names_of(session, [row.unit_code for row, _ in rows]),
            "test_types": [t.value for t in codes.TestType],
            "today": i18n.format_date(now),
        },
        status_code=status_code,
    )


@router.get("/exposure/codes", response_class=HTMLResponse)
def codes_page(
    request: Request, session: SessionDep, user: PageVerifier, scope: UnitScope
) -> HTMLResponse:
    """Issue codes, see their status, revoke unused ones."""
    return _codes_page(request, session, user, scope)


@router.post("/exposure/codes", response_class=HTMLResponse, dependencies=[CsrfProtected])
def codes_issue(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    user: PageVerifier,
    scope: UnitScope,
    test_type: Annotated[str, Form(max_length=12)],
    unit_code: Annotated[str, Form(max_length=16)],
    test_date: Annotated[str, Form(max_length=10)] = "",
    symptom_date: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Issue a code pair and show it once."""
    try:
        typed = dates.parse_dates({"test_date": test_date, "symptom_date": symptom_date})
        issued = codes.issue_code(
            session,
            runtime.codes,
            unit_code=unit_code.strip(),
            test_type=test_type,
            test_date=typed["test_date"],
            symptom_date=typed["symptom_date"],
            actor=user.username,
            now=utcnow(),
            scope=scope,
        )
    except SafezoneError as error:
        # The form shows errors in one list: name the date field each one is about.
        fields = {
            "test_date": i18n.gettext("Test date"),
            "symptom_date": i18n.gettext("Symptom onset"),
        }
        messages = [
            (f"{fields[e.field]}: " if e.field in fields else "")
            + (e.message_vi if i18n.get_locale() == "vi" else e.message_en)
            for e in error.errors
        ]
        return _codes_page(
            request, session, user, scope, errors=messages, status_code=error.status_hint
        )
    return _codes_page(request, session, user, scope, issued=issued, status_code=201)


@router.post("/exposure/codes/{code_id}/revoke", dependencies=[CsrfProtected])
def codes_revoke(
    session: SessionDep, user: PageVerifier, scope: UnitScope, code_id: RowId
) -> RedirectResponse:
    """Revoke an unused code."""
    codes.revoke_code(session, scope, code_id, actor=user.username, now=utcnow())
    return RedirectResponse("/exposure/codes", status_code=303)


def charts(data: stats.DailyStats) -> Markup:
    """Three bar charts (codes, uploads and keys, export files and MB) as one HTML fragment."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    gettext = i18n.gettext
    days = [day.isoformat() for day in data.days]
    figure = make_subplots(
        rows=3,
        cols=1,
        subplot_titles=(
            gettext("Verification codes"),
            gettext("Uploads and keys"),
            gettext("Export files"),
        ),
        vertical_spacing=0.1,
    )
    series = (
        (1, gettext("Codes issued"), data.codes_issued, "#1f5f99"),
        (1, gettext("Codes claimed"), data.codes_claimed, "#0b6e4f"),
        (2, gettext("Uploads"), data.uploads, "#b3261e"),
        (2, gettext("Keys"), data.keys, "#e0a100"),
        (3, gettext("Files"), data.export_files, "#555555"),
        (3, gettext("MB"), [round(b / 1e6, 3) for b in data.export_bytes], "#8e44ad"),
    )
    for row, name, values, colour in series:
        figure.add_trace(go.Bar(x=days, y=values, name=name, marker_color=colour), row=row, col=1)
    figure.update_xaxes(tickformat="%d/%m/%Y")  # the pages' date format, in both languages
    figure.update_layout(height=820, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return web_charts.chart(figure, chart_id="exposure-chart")


@router.get("/exposure/stats", response_class=HTMLResponse)
def stats_page(
    request: Request, session: SessionDep, user: PageStats, scope: UnitScope
) -> HTMLResponse:
    """Codes issued/claimed (in the reader's scope), uploads, keys and files per day."""
    del user
    data = stats.daily(session, scope, today=utcnow().date())
    rows = list(
        zip(
            data.days,
            data.codes_issued,
            data.codes_claimed,
            data.uploads,
            data.keys,
            data.export_files,
            data.export_bytes,
            strict=True,
        )
    )
    return render(
        request,
        "exposure/stats.html",
        {"data": data, "rows": rows, "totals": data.totals, "chart": charts(data)},
    )
