"""HTML pages: the citizen form (works without JavaScript), the citizen's own page with the QR
pass, pass verification, and the staff queue, declaration page, dashboard and exports."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, require_role
from safezone.db.base import utcnow
from safezone.declarations import intake, reports, review, vocabulary
from safezone.declarations.api import FiltersDep, PolicyDep
from safezone.declarations.base import Policy, form_values, local_today, parse, request_fingerprint
from safezone.declarations.schemas import (
    AssignmentIn,
    DailyUpdateIn,
    DeclarationIn,
    FollowUpIn,
    OutcomeIn,
)
from safezone.errors import SafezoneError
from safezone.units import service as units
from safezone.units.models import COMMUNE, Unit
from safezone.units.names import display_name
from safezone.web import charts, dates, i18n
from safezone.web.deps import CsrfProtected, CurrentUser, RowId, SessionDep, UnitScope
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)

TRAVEL_ROWS = 3
MAX_LEVELS = 4
#: Pages holding the update token in their URL: never cached, never sent on as a referrer.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def label(code: str | None, group: str | None = None) -> str:
    """The label of a code in the reader's language, from the one vocabulary."""
    return vocabulary.label(code, i18n.get_locale(), group)


def labels(codes: list[str], group: str | None = None) -> str:
    """Labels of several codes, comma-separated."""
    return vocabulary.labels(codes, i18n.get_locale(), group)


def show_page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render one of this domain's pages (with ``label`` for codes)."""
    return render(
        request, name, {**context, "label": label, "labels": labels}, status_code=status_code
    )


def page_officer(user: CurrentUser) -> User:
    """A health officer (or admin) for a page."""
    require_role(user, Role.HEALTH_OFFICER)
    return user


PageOfficer = Annotated[User, Depends(page_officer)]


async def form_data(request: Request) -> dict[str, list[str]]:
    """The submitted form, every field as a list of its values."""
    form = await request.form()
    result: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            result.setdefault(key, []).append(value)
    return result


FormData = Annotated[dict[str, list[str]], Depends(form_data)]


def _one(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name) or [""]
    value = values[0].strip()
    return value or None


def body_from_form(form: dict[str, list[str]]) -> dict[str, Any]:
    """The JSON body the API takes, from the HTML form's fields (empty fields = not given)."""
    travel = []
    for row in range(TRAVEL_ROWS):
        place, start, end = (_one(form, f"travel_{part}_{row}") for part in ("place", "from", "to"))
        if place or start or end:
            travel.append(
                {"place": place or "", "from": dates.iso_or_raw(start), "to": dates.iso_or_raw(end)}
            )
    body: dict[str, Any] = {
        "full_name": _one(form, "full_name") or "",
        "birth_year": _one(form, "birth_year"),
        "birth_date": dates.iso_or_raw(_one(form, "birth_date")),
        "gender": _one(form, "gender"),
        "nationality": _one(form, "nationality") or "VN",
        "id_number": _one(form, "id_number") or "",
        "phone": _one(form, "phone") or "",
        "email": _one(form, "email"),
        "address": {
            "unit_code": _one(form, "unit_code") or "",
            "street": _one(form, "street") or "",
        },
        "declaration_type": _one(form, "declaration_type"),
        "symptoms": form.get("symptoms", []),
        "exposure": {name: name in form.get("exposure", []) for name in vocabulary.EXPOSURES},
        "travel": travel,
        "conditions": form.get("conditions", []),
        "pledge": _one(form, "pledge") is not None,
    }
    return {key: value for key, value in body.items() if value is not None}


def _messages(error: SafezoneError) -> dict[str, str]:
    """field -> message in the reader's language (``address.street`` -> ``street``)."""
    english = i18n.get_locale() == "en"
    found: dict[str, str] = {}
    for item in error.errors:
        name = (item.field or "form").removeprefix("address.")
        if item.code in dates.SCHEMA_DATE_ERRORS:  # the schema says YYYY-MM-DD; the form, not
            item = dates.date_error(name)  # noqa: PLW2901 - the same error, worded for the form
        text = item.message_en if english else item.message_vi
        found[name] = f"{found[name]} {text}" if name in found else text
    return found


# --- the citizen's form -----------------------------------------------------------------------


def address_steps(session: Session, chosen: list[str]) -> tuple[list[dict[str, Any]], Unit | None]:
    """The cascading selects: each level's options, chosen value, and the commune if reached.

    A choice that is not a child of the previous one (e.g. after changing the province without
    JavaScript) ends the chain there, so the steps always describe one path down the tree.
    """
    steps: list[dict[str, Any]] = []
    parent: str | None = None
    commune: Unit | None = None
    for depth in range(MAX_LEVELS):
        options = units.children(session, parent)
        if not options:
            break
        value = chosen[depth] if depth < len(chosen) else ""
        if len(options) == 1 and not value:
            value = options[0].code  # one province: nothing to choose
        picked = next((unit for unit in options if unit.code == value), None)
        steps.append(
            {
                "name": f"unit{depth}",
                "level": options[0].level,
                "options": options,
                "value": picked.code if picked else "",
            }
        )
        if picked is None:
            break
        if picked.level == COMMUNE:
            commune = picked
            break
        parent = picked.code
    return steps, commune


def _chain(session: Session, unit_code: str) -> list[str]:
    unit = session.get(Unit, unit_code)
    return unit.path.rstrip("/").split("/") if unit else []


def _form_page(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    chosen: list[str],
    errors: dict[str, str] | None = None,
    action: str = "/declare",
    editing: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    steps, commune = address_steps(session, chosen)
    travel = list(values.get("travel") or [])
    travel += [{}] * (TRAVEL_ROWS - len(travel))
    response = show_page(
        request,
        "declarations/form.html",
        {
            "steps": steps,
            "commune": commune,
            "values": values,
            "travel": travel[:TRAVEL_ROWS],
            "errors": errors or {},
            "action": action,
            "editing": editing,
            "symptoms": vocabulary.SYMPTOMS,
            "exposures": vocabulary.EXPOSURES,
            "conditions": vocabulary.CONDITIONS,
            "declaration_types": vocabulary.DECLARATION_TYPES,
            "genders": vocabulary.GENDERS,
            "countries": vocabulary.countries_for(i18n.get_locale()),
            "idempotency_key": secrets.token_urlsafe(16),
            "today": local_today().isoformat(),
        },
        status_code=status_code,
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/declare", response_class=HTMLResponse)
def declare_form(
    request: Request,
    session: SessionDep,
    unit0: Annotated[str, Query(max_length=16)] = "",
    unit1: Annotated[str, Query(max_length=16)] = "",
    unit2: Annotated[str, Query(max_length=16)] = "",
    unit3: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    """Step by step without JavaScript: province, district, commune, then the questions."""
    return _form_page(
        request, session, values={"pledge": False}, chosen=[unit0, unit1, unit2, unit3]
    )


@router.post("/declare", response_class=HTMLResponse, dependencies=[CsrfProtected])
def declare_submit(
    request: Request, session: SessionDep, policy: PolicyDep, form: FormData
) -> Response:
    """Store the declaration and show the citizen's page with the QR pass."""
    raw = body_from_form(form)
    key = _one(form, "idempotency_key")
    now = utcnow()
    try:
        data = parse(DeclarationIn, session, raw, today=local_today(now))
        created = intake.submit_form(
            session,
            policy,
            data,
            form_key=key or secrets.token_urlsafe(16),
            fingerprint=request_fingerprint(raw),
            now=now,
        )
    except SafezoneError as error:
        session.rollback()
        return _form_page(
            request,
            session,
            values=raw,
            chosen=_chain(session, raw["address"]["unit_code"]),
            errors=_messages(error),
            status_code=error.status_hint,
        )
    return RedirectResponse(f"/declare/u/{created.update_token}?new=1", status_code=303)


def _citizen_page(
    request: Request,
    session: Session,
    policy: Policy,
    token: str,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    import segno

    declaration = intake.declaration_for_token(session, token)
    view = intake.citizen_view(session, policy, declaration)
    qr_svg, pass_info = None, None
    if view["pass_token"] is not None:
        qr = segno.make(view["pass_token"], error="m")
        qr_svg = qr.svg_inline(scale=4, title=i18n.gettext("QR pass"), dark="#000")
        pass_info = intake.verify_pass(session, policy, view["pass_token"])
    response = show_page(
        request,
        "declarations/citizen.html",
        {
            **view,
            "token": token,
            "qr_svg": qr_svg,
            "pass_info": pass_info,
            "notice": notice,
            "errors": errors or {},
            "statuses": vocabulary.DAILY_STATUSES,
            "updated_today": any(u["day"] == local_today() for u in view["updates"]),
        },
        status_code=status_code,
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/declare/u/{token}", response_class=HTMLResponse)
def citizen_page(
    request: Request, session: SessionDep, policy: PolicyDep, token: str, new: bool = False
) -> HTMLResponse:
    """The citizen's own page: QR pass, daily update, links to edit or withdraw."""
    notice = i18n.gettext("Declaration received. Thank you!") if new else None
    return _citizen_page(request, session, policy, token, notice=notice)


@router.post("/declare/u/{token}/daily", response_class=HTMLResponse, dependencies=[CsrfProtected])
def citizen_daily(
    request: Request, session: SessionDep, policy: PolicyDep, token: str, form: FormData
) -> Response:
    """Send today's status from the citizen's page."""
    try:
        data = parse(
            DailyUpdateIn,
            session,
            {"statuses": form.get("statuses", [])},
            today=local_today(),
        )
        intake.daily_update_by_link(session, policy, token, data)
    except SafezoneError as error:
        session.rollback()
        if error.status_hint in (401, 403, 404):
            raise
        return _citizen_page(
            request,
            session,
            policy,
            token,
            errors=_messages(error),
            status_code=error.status_hint,
        )
    return RedirectResponse(f"/declare/u/{token}?updated=1", status_code=303)


@router.get("/declare/u/{token}/edit", response_class=HTMLResponse)
def citizen_edit_form(
    request: Request, session: SessionDep, policy: PolicyDep, token: str
) -> HTMLResponse:
    """The declaration form, filled with the stored answers."""
    declaration = intake.declaration_for_token(session, token)
    values = form_values(policy.vault, declaration)
    return _form_page(
        request,
        session,
        values=values,
        chosen=_chain(session, declaration.unit_code),
        action=f"/declare/u/{token}/edit",
        editing=True,
    )


@router.post("/declare/u/{token}/edit", response_class=HTMLResponse, dependencies=[CsrfProtected])
def citizen_edit(
    request: Request, session: SessionDep, policy: PolicyDep, token: str, form: FormData
) -> Response:
    """Store the changed answers (the risk is recomputed)."""
    declaration = intake.declaration_for_token(session, token)
    raw = body_from_form(form)
    try:
        data = parse(DeclarationIn, session, raw, today=local_today())
        intake.update(session, policy, declaration.id, token, data)
    except SafezoneError as error:
        session.rollback()
        if error.status_hint in (401, 403, 404):
            raise
        return _form_page(
            request,
            session,
            values=raw,
            chosen=_chain(session, raw["address"]["unit_code"]),
            errors=_messages(error),
            action=f"/declare/u/{token}/edit",
            editing=True,
            status_code=error.status_hint,
        )
    return RedirectResponse(f"/declare/u/{token}?saved=1", status_code=303)


@router.post("/declare/u/{token}/revoke", dependencies=[CsrfProtected])
def citizen_revoke(session: SessionDep, token: str) -> RedirectResponse:
    """Withdraw the link: it stops working at once."""
    declaration = intake.declaration_for_token(session, token)
    intake.revoke_update_token(session, declaration.id, token)
    return RedirectResponse("/declare?revoked=1", status_code=303)


# --- pass verification (public: the token holds no personal data) -----------------------------


def _verify_page(
    request: Request, session: Session, policy: Policy, token: str | None
) -> HTMLResponse:
    result = None
    if token:
        result = intake.verify_pass(session, policy, token)
    return show_page(
        request,
        "declarations/verify.html",
        {"token": token or "", "result": result},
    )


@router.get("/pass/verify", response_class=HTMLResponse)
def verify_page(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    token: Annotated[str | None, Query(max_length=400)] = None,
) -> HTMLResponse:
    """Paste or scan a pass; checked from its signature, lifetime and the revocation list."""
    return _verify_page(request, session, policy, token)


@router.post("/pass/verify", response_class=HTMLResponse)
def verify_submit(
    request: Request, session: SessionDep, policy: PolicyDep, form: FormData
) -> HTMLResponse:
    """The same check from a form post (no state changes, so no CSRF token needed)."""
    return _verify_page(request, session, policy, (_one(form, "token") or "")[:400])


# --- staff ------------------------------------------------------------------------------------


@router.get("/declarations", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    filters: FiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The review queue with filters and paging (no personal data until a row is opened)."""
    del user
    result = review.list_declarations(session, policy, scope, filters, page=page, per_page=25)
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    return show_page(
        request,
        "declarations/queue.html",
        {
            "page": result,
            "filters": filters,
            "query": query,
            "unit_groups": units.grouped(session, scope.path),
            "scope_code": scope.unit_code,
            "risks": vocabulary.RISKS,
            "symptoms": vocabulary.SYMPTOMS,
            "exposures": vocabulary.EXPOSURES,
            "pages": max(1, -(-result.total // result.per_page)),
            "prev_query": {**query, "page": result.page - 1},
            "next_query": {**query, "page": result.page + 1},
        },
    )


def _charts(result: reports.Stats) -> Markup:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    colours = {"low": "#0b6e4f", "medium": "#e0a100", "high": "#b3261e"}
    figure = make_subplots(
        rows=2, cols=1, subplot_titles=(i18n.gettext("Per day"), i18n.gettext("Per unit"))
    )
    days = [day.isoformat() for day, _ in result.per_day]
    names = [display_name(unit) for unit, _ in result.per_unit]
    for risk in vocabulary.RISKS:
        name = label(risk)
        figure.add_trace(
            go.Bar(
                x=days,
                y=[c.get(risk, 0) for _, c in result.per_day],
                name=name,
                marker_color=colours[risk],
                legendgroup=risk,
            ),
            row=1,
            col=1,
        )
        figure.add_trace(
            go.Bar(
                x=names,
                y=[c.get(risk, 0) for _, c in result.per_unit],
                name=name,
                marker_color=colours[risk],
                legendgroup=risk,
                showlegend=False,
            ),
            row=2,
            col=1,
        )
    figure.update_xaxes(tickformat="%d/%m/%Y", row=1, col=1)  # the pages' date format
    figure.update_layout(barmode="stack", height=640, margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return charts.chart(figure, chart_id="declarations-chart")


@router.get("/declarations/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    unit: Annotated[str | None, Query(max_length=16)] = None,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> HTMLResponse:
    """Declarations per unit and per day, by risk: a chart and the same numbers as tables."""
    del user
    result = reports.stats(session, policy, scope, root_code=unit or None, days=days)
    return show_page(
        request,
        "declarations/dashboard.html",
        {
            "stats": result,
            "chart": _charts(result),
            "risks": vocabulary.RISKS,
            "days": days,
            "trail": units.ancestors(session, result.root),
            "scope": scope,
        },
    )


def _export(
    session: Session,
    policy: Policy,
    user: Any,
    scope: Scope,
    filters: review.Filters,
    fmt: str,
) -> Response:
    table = reports.export_rows(
        session, policy, user, scope, filters, fmt=fmt, locale=i18n.get_locale()
    )
    stamp = dt.date.today().isoformat()  # noqa: DTZ011 - a file name
    if fmt == "csv":
        content, media = reports.to_csv(table), "text/csv; charset=utf-8"
    else:
        content = reports.to_xlsx(table)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        content,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="declarations-{stamp}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/declarations/export.csv")
def export_csv(
    session: SessionDep, policy: PolicyDep, user: PageOfficer, scope: UnitScope, filters: FiltersDep
) -> Response:
    """The current filter as CSV (with contact data; the export is audited)."""
    return _export(session, policy, user, scope, filters, "csv")


@router.get("/declarations/export.xlsx")
def export_xlsx(
    session: SessionDep, policy: PolicyDep, user: PageOfficer, scope: UnitScope, filters: FiltersDep
) -> Response:
    """The current filter as an Excel workbook (the export is audited)."""
    return _export(session, policy, user, scope, filters, "xlsx")


def _detail_page(
    request: Request,
    session: Session,
    policy: Policy,
    user: Any,
    scope: Scope,
    declaration_id: int,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    detail = review.read_declaration(session, policy, user, scope, declaration_id)
    return show_page(
        request,
        "declarations/detail.html",
        {
            "d": detail,
            "unit_groups": units.grouped(session, scope.path),
            "scope_code": scope.unit_code,
            "station": units.names_of(session, [detail.assigned_unit_code]).get(
                detail.assigned_unit_code or ""
            ),
            "statuses": vocabulary.FOLLOW_UP_STATUSES,
            "outcomes": vocabulary.OUTCOMES,
            "errors": errors or {},
            "today": dates.form_value(local_today()),
        },
        status_code=status_code,
    )


@router.get("/declarations/{declaration_id}", response_class=HTMLResponse)
def detail(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    declaration_id: RowId,
) -> HTMLResponse:
    """A declaration with the person and the timeline (the read is audited)."""
    return _detail_page(request, session, policy, user, scope, declaration_id)


def _staff_action(
    request: Request,
    session: Session,
    policy: Policy,
    user: Any,
    scope: Scope,
    declaration_id: int,
    action: Any,
) -> Response:
    review.get_declaration(session, policy, scope, declaration_id)  # 404 before anything else
    try:
        action()
    except SafezoneError as error:
        session.rollback()
        if error.status_hint == 404:
            raise
        return _detail_page(
            request,
            session,
            policy,
            user,
            scope,
            declaration_id,
            errors=_messages(error),
            status_code=error.status_hint,
        )
    return RedirectResponse(f"/declarations/{declaration_id}", status_code=303)


@router.post("/declarations/{declaration_id}/assign", dependencies=[CsrfProtected])
def assign(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    declaration_id: RowId,
    form: FormData,
) -> Response:
    """Assign to a commune health station."""

    def act() -> None:
        data = parse(
            AssignmentIn,
            session,
            {"unit_code": _one(form, "unit_code") or ""},
            today=local_today(),
        )
        review.assign(session, policy, user, scope, declaration_id, data)

    return _staff_action(request, session, policy, user, scope, declaration_id, act)


@router.post("/declarations/{declaration_id}/followup", dependencies=[CsrfProtected])
def followup(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    declaration_id: RowId,
    form: FormData,
) -> Response:
    """Record today's (or a past day's) follow-up."""

    def act() -> None:
        raw = {
            "status": _one(form, "status"),
            "day": dates.iso_or_raw(_one(form, "day")),
            "note": _one(form, "note") or "",
        }
        data = parse(
            FollowUpIn,
            session,
            {k: v for k, v in raw.items() if v is not None},
            today=local_today(),
        )
        review.add_followup(session, policy, user, scope, declaration_id, data)

    return _staff_action(request, session, policy, user, scope, declaration_id, act)


@router.post("/declarations/{declaration_id}/outcome", dependencies=[CsrfProtected])
def outcome(
    request: Request,
    session: SessionDep,
    policy: PolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    declaration_id: RowId,
    form: FormData,
) -> Response:
    """Close the follow-up with its outcome."""

    def act() -> None:
        data = parse(OutcomeIn, session, {"outcome": _one(form, "outcome")}, today=local_today())
        review.set_outcome(session, policy, user, scope, declaration_id, data)

    return _staff_action(request, session, policy, user, scope, declaration_id, act)
