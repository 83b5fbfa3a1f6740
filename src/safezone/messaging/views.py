"""HTML pages: the campaign officer's sends (compose, preview, approve, progress, charts),
templates, contact import; and the public install-confirmation page ``/i/{token}``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, record, record_read
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.errors import FieldError, InvalidInput, SafezoneError
from safezone.messaging import contacts, links, planner, service
from safezone.messaging.base import APP_CODES, Policy
from safezone.messaging.models import CHANNEL_POLICIES, CONTACT_SOURCES, SendCampaign, Template
from safezone.messaging.tables import read_table
from safezone.messaging.templating import TemplateIn, create_template, preview
from safezone.units import service as units
from safezone.units.models import Unit
from safezone.web import charts, dates, i18n
from safezone.web.deps import CsrfProtected, RowId, SessionDep, SettingsDep, UnitScope, requires
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)

Officer = Annotated[User, Depends(requires(Role.CAMPAIGN_OFFICER))]
MAX_UPLOAD = 20 * 1024 * 1024
#: The confirmation page holds a personal token in its URL: never cached or sent as referrer.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
APP_NAMES = {"ncovi": "NCOVI", "bluezone": "Bluezone", "safezone": "Safezone"}


def _policy(settings: SettingsDep) -> Policy:
    return Policy.from_settings(settings)


PolicyDep = Annotated[Policy, Depends(_policy)]


def _errors(exc: SafezoneError) -> dict[str, str]:
    lang = i18n.get_locale()
    return {
        (e.field or "form"): (e.message_vi if lang == "vi" else e.message_en) for e in exc.errors
    }


def _error_list(exc: SafezoneError) -> list[str]:
    lang = i18n.get_locale()
    return [e.message_vi if lang == "vi" else e.message_en for e in exc.errors]


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _units_context(session: Session, scope: Scope) -> dict[str, Any]:
    root = session.get_one(Unit, scope.unit_code)
    districts = (
        [unit for unit in units.children(session, root.code) if unit.level == "district"]
        if root.level == "province"
        else []
    )
    return {
        "unit_groups": units.grouped(session, scope.path),
        "unit_extra": [root, *districts],
        "scope_code": scope.unit_code,
    }


# --- the officer's pages --------------------------------------------------------------------


def _funnel_chart(rows: list[service.FunnelRow]) -> Markup:
    import plotly.graph_objects as go

    totals = service.totals(rows)
    names = [
        i18n.gettext("Planned"),
        i18n.gettext("Sent"),
        i18n.gettext("Delivered"),
        i18n.gettext("Clicked"),
        i18n.gettext("Confirmed installed"),
    ]
    figure = go.Figure(
        go.Bar(x=names, y=totals, marker_color="#0b6e4f", name=i18n.gettext("Messages"))
    )
    figure.update_layout(title=i18n.gettext("Funnel"), height=360, showlegend=False)
    return charts.chart(figure, chart_id="funnel-chart")


def _delivery_chart(counts: dict[str, int]) -> Markup:
    import plotly.graph_objects as go

    order = ("queued", "sent", "delivered", "failed", "cancelled")
    labels = [STATUS_LABELS()[s] for s in order]
    colours = ["#6b7280", "#1d4ed8", "#0b6e4f", "#b3261e", "#8a6100"]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=[counts[s] for s in order],
            marker_color=colours,
            name=i18n.gettext("Messages"),
        )
    )
    figure.update_layout(title=i18n.gettext("Delivery"), height=320, showlegend=False)
    return charts.chart(figure, chart_id="delivery-chart")


def STATUS_LABELS() -> dict[str, str]:  # noqa: N802 - a table, translated at call time
    """Message and send statuses in the reader's language."""
    return {
        "queued": i18n.gettext("Queued"),
        "sent": i18n.gettext("Sent"),
        "delivered": i18n.gettext("Delivered"),
        "failed": i18n.gettext("Failed"),
        "cancelled": i18n.gettext("Cancelled"),
        "draft": i18n.gettext("Draft"),
        "pending_approval": i18n.gettext("Waiting for approval"),
        "approved": i18n.gettext("Approved"),
        "paused": i18n.gettext("Paused"),
        "finished": i18n.gettext("Finished"),
    }


@router.get("/messaging", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, scope: UnitScope, user: Officer) -> HTMLResponse:
    """The sends in the officer's units, and the funnel per unit and template."""
    rows = service.funnel(session, scope)
    template_names = {
        row.id: row.name for row in session.execute(select(Template.id, Template.name))
    }
    campaigns = service.list_campaigns(session, scope)
    unit_rows = units.names_of(
        session, {r.unit_code for r in rows} | {c.unit_code for c in campaigns}
    )
    return render(
        request,
        "messaging/index.html",
        {
            "campaigns": campaigns,
            "funnel": rows,
            "totals": service.totals(rows),
            "template_names": template_names,
            "unit_names": unit_rows,
            "chart": _funnel_chart(rows),
            "status_labels": STATUS_LABELS(),
        },
    )


def _compose_page(
    request: Request,
    session: Session,
    scope: Scope,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    templates = list(session.scalars(select(Template).order_by(Template.name)))
    return render(
        request,
        "messaging/compose.html",
        {
            **_units_context(session, scope),
            "templates": templates,
            "values": values,
            "errors": errors or {},
            "apps": APP_CODES,
            "app_names": APP_NAMES,
            "sources": CONTACT_SOURCES,
            "policies": CHANNEL_POLICIES,
        },
        status_code=status_code,
    )


@router.get("/messaging/new", response_class=HTMLResponse)
def compose_form(
    request: Request, session: SessionDep, scope: UnitScope, user: Officer, policy: PolicyDep
) -> HTMLResponse:
    """The form of a new send."""
    today = policy.local_day(utcnow())
    values = {
        "unit_code": scope.unit_code,
        "starts_on": dates.form_value(today),
        "send_time": "09:00",
        "interval_days": "3",
        "max_sends": "1",
        "valid_hours": "24",
        "channel_policy": "sms_only",
        "app_code": "bluezone",
    }
    return _compose_page(request, session, scope, values)


def _int(values: dict[str, str], name: str, errors: list[FieldError]) -> int:
    try:
        return int(values.get(name, "").strip())
    except ValueError:
        errors.append(
            FieldError(name, "not_a_number", "Phải là số nguyên.", "Must be a whole number.")
        )
        return 0


@router.post("/messaging/new", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def compose_submit(
    request: Request, session: SessionDep, scope: UnitScope, user: Officer, policy: PolicyDep
) -> Response:
    """Create a draft send, then show its preview."""
    values = await _form(request)
    form = await request.form()
    sources = tuple(v for v in form.getlist("sources") if isinstance(v, str))
    values["sources"] = ",".join(sources)
    errors: list[FieldError] = []
    numbers = {
        name: _int(values, name, errors)
        for name in ("template_id", "interval_days", "max_sends", "valid_hours")
    }
    today = policy.local_day(utcnow())
    starts_on: dt.date | None = today
    try:
        starts_on = dates.parse_date(values.get("starts_on", ""), "starts_on")
    except InvalidInput as exc:
        errors.extend(exc.errors)
    if starts_on is None:
        errors.append(
            FieldError("starts_on", "required", "Thiếu ngày bắt đầu.", "The start day is missing.")
        )
    data = service.CampaignIn(
        name=values.get("name", ""),
        template_id=numbers["template_id"],
        unit_code=values.get("unit_code", ""),
        starts_on=starts_on or today,
        send_time=values.get("send_time", ""),
        app_code=values.get("app_code") or None,
        sources=sources,
        channel_policy=values.get("channel_policy", ""),
        interval_days=numbers["interval_days"] or 1,
        max_sends=numbers["max_sends"] or 1,
        valid_hours=numbers["valid_hours"] or 1,
    )
    # Every problem at once: the form's own (numbers, dates) and the service's rules.
    seen = {error.field for error in errors}
    errors += [e for e in service.validate(session, scope, data, today) if e.field not in seen]
    try:
        if errors:
            raise InvalidInput(*errors)
        campaign = service.compose(session, policy, scope, user.username, data)
    except SafezoneError as exc:
        session.rollback()
        return _compose_page(request, session, scope, values, _errors(exc), status_code=422)
    return RedirectResponse(f"/messaging/campaigns/{campaign.id}", status_code=303)


@router.get("/messaging/campaigns/{msg_campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    msg_campaign_id: RowId,
    session: SessionDep,
    scope: UnitScope,
    user: Officer,
    policy: PolicyDep,
) -> HTMLResponse:
    """A send: its preview (recipients, text, segments, cost, earliest send), the approval
    step, live progress and the delivery and funnel charts."""
    campaign = service.get(session, scope, msg_campaign_id)
    return _campaign_page(request, session, scope, policy, user, campaign)


def _campaign_page(
    request: Request,
    session: Session,
    scope: Scope,
    policy: Policy,
    user: User,
    campaign: SendCampaign,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    look = service.preview_campaign(session, policy, campaign)
    counts = service.progress(session, campaign.id)
    rows = service.funnel(session, scope, campaign_id=campaign.id)
    template = session.get_one(Template, campaign.template_id)
    unit = session.get_one(Unit, campaign.unit_code)
    return render(
        request,
        "messaging/campaign.html",
        {
            "campaign": campaign,
            "unit": unit,
            "template": template,
            "look": look,
            "counts": counts,
            "totals": service.totals(rows),
            "delivery_chart": _delivery_chart(counts),
            "funnel_chart": _funnel_chart(rows),
            "status_labels": STATUS_LABELS(),
            "sources": planner.unpack(campaign.sources),
            "app_names": APP_NAMES,
            "can_approve": campaign.status == "pending_approval"
            and user.username != campaign.created_by,
            "threshold": policy.config.approval_threshold,
            "errors": errors or [],
        },
        status_code=status_code,
    )


def _act(
    request: Request,
    session: Session,
    scope: Scope,
    policy: Policy,
    user: User,
    campaign_id: int,
    action: str,
) -> Response:
    campaign = service.get(session, scope, campaign_id)
    try:
        if action == "submit":
            service.submit(session, policy, campaign, user.username)
        elif action == "approve":
            service.approve(session, policy, campaign, user.username)
        else:
            service.cancel(session, campaign, user.username)
    except SafezoneError as exc:
        session.rollback()
        campaign = service.get(session, scope, campaign_id)
        return _campaign_page(
            request, session, scope, policy, user, campaign, _error_list(exc), exc.status_hint
        )
    return RedirectResponse(f"/messaging/campaigns/{campaign_id}", status_code=303)


@router.post("/messaging/campaigns/{msg_campaign_id}/submit", dependencies=[CsrfProtected])
def submit(
    request: Request,
    msg_campaign_id: RowId,
    session: SessionDep,
    scope: UnitScope,
    user: Officer,
    policy: PolicyDep,
) -> Response:
    """Send a draft (or put it up for approval when large)."""
    return _act(request, session, scope, policy, user, msg_campaign_id, "submit")


@router.post("/messaging/campaigns/{msg_campaign_id}/approve", dependencies=[CsrfProtected])
def approve(
    request: Request,
    msg_campaign_id: RowId,
    session: SessionDep,
    scope: UnitScope,
    user: Officer,
    policy: PolicyDep,
) -> Response:
    """A second officer approves a large send."""
    return _act(request, session, scope, policy, user, msg_campaign_id, "approve")


@router.post("/messaging/campaigns/{msg_campaign_id}/cancel", dependencies=[CsrfProtected])
def cancel(
    request: Request,
    msg_campaign_id: RowId,
    session: SessionDep,
    scope: UnitScope,
    user: Officer,
    policy: PolicyDep,
) -> Response:
    """Stop a send and cancel its queued messages."""
    return _act(request, session, scope, policy, user, msg_campaign_id, "cancel")


def _templates_page(
    request: Request,
    session: Session,
    policy: Policy,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    stored = list(session.scalars(select(Template).order_by(Template.name)))
    return render(
        request,
        "messaging/templates.html",
        {
            "templates": [(t, preview(t, policy.config.prices)) for t in stored],
            "values": values,
            "errors": errors or {},
            "apps": APP_CODES,
            "app_names": APP_NAMES,
            "prices": policy.config.prices,
        },
        status_code=status_code,
    )


@router.get("/messaging/templates", response_class=HTMLResponse)
def templates_page(
    request: Request, session: SessionDep, user: Officer, policy: PolicyDep
) -> HTMLResponse:
    """Templates with their preview (encoding, segments, cost), and the form of a new one."""
    return _templates_page(request, session, policy, {"klass": "public_health"})


@router.post("/messaging/templates", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def template_create(
    request: Request, session: SessionDep, user: Officer, policy: PolicyDep
) -> Response:
    """Store a new template after validation."""
    values = await _form(request)
    try:
        create_template(
            session,
            TemplateIn(
                name=values.get("name", ""),
                klass=values.get("klass", ""),
                body_vi=values.get("body_vi", ""),
                body_en=values.get("body_en", ""),
                strip_diacritics=values.get("strip_diacritics") == "on",
                app_code=values.get("app_code") or None,
                zns_template_id=values.get("zns_template_id") or None,
            ),
            unit=session.get_one(Unit, user.unit_code),
            actor=user.username,
        )
    except SafezoneError as exc:
        session.rollback()
        return _templates_page(request, session, policy, values, _errors(exc), status_code=422)
    return RedirectResponse("/messaging/templates", status_code=303)


@router.get("/messaging/contacts/import", response_class=HTMLResponse)
def import_form(request: Request, user: Officer) -> HTMLResponse:
    """The contact import form (CSV or XLSX)."""
    return render(request, "messaging/import.html", {"result": None, "errors": []})


@router.post(
    "/messaging/contacts/import", response_class=HTMLResponse, dependencies=[CsrfProtected]
)
async def import_submit(
    request: Request,
    session: SessionDep,
    scope: UnitScope,
    user: Officer,
    policy: PolicyDep,
    file: UploadFile,
) -> HTMLResponse:
    """Import contacts into the officer's units: all rows valid, or nothing stored."""
    data = await file.read(MAX_UPLOAD + 1)
    try:
        if len(data) > MAX_UPLOAD:
            raise InvalidInput.single(
                "file",
                "too_large",
                "Tệp quá lớn (tối đa 20 MB).",
                "The file is too large (20 MB at most).",
            )
        result = contacts.import_contacts(
            session,
            read_table(data, file.filename or "upload.csv"),
            vault=policy.vault,
            source_name=(file.filename or "upload")[:40],
            within_path=scope.path,
            actor=user.username,
        )
    except SafezoneError as exc:
        session.rollback()
        return render(
            request,
            "messaging/import.html",
            {"result": None, "errors": _error_list(exc)},
            status_code=422,
        )
    return render(request, "messaging/import.html", {"result": result, "errors": []})


# --- one contact: look up by number, stop messages ------------------------------------------


def _contact_page(
    request: Request,
    *,
    phone: str = "",
    card: contacts.ContactCard | None = None,
    searched: bool = False,
    stopped: int | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = render(
        request,
        "messaging/contact.html",
        {
            "phone": phone,
            "card": card,
            "searched": searched,
            "stopped": stopped,
            "errors": errors or {},
            "statuses": STATUS_LABELS(),
            "app_names": APP_NAMES,
        },
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"  # a phone number and its consent record
    return response


def _look_up(
    session: Session, policy: Policy, scope: Scope, user: User, phone: str
) -> contacts.ContactCard | None:
    card = contacts.look_up(session, policy.vault, phone, within_path=scope.path)
    if card is not None:
        record_read(session, user, "contact", card.contact.id, card.contact.unit_code)
    return card


@router.get("/messaging/contacts", response_class=HTMLResponse)
def contact_form(request: Request, user: Officer) -> HTMLResponse:
    """Find one contact by phone number (e.g. a citizen who called the hotline)."""
    return _contact_page(request)


@router.post("/messaging/contacts", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def contact_search(
    request: Request, session: SessionDep, scope: UnitScope, user: Officer, policy: PolicyDep
) -> HTMLResponse:
    """The contact with this number in the officer's units (sent by POST: a number in a URL
    would end up in logs and history). Every hit is an audited read."""
    phone = (await _form(request)).get("phone", "")[:40]
    try:
        card = _look_up(session, policy, scope, user, phone)
    except SafezoneError as exc:
        return _contact_page(request, phone=phone, errors=_errors(exc), status_code=422)
    return _contact_page(request, phone=phone, card=card, searched=True)


@router.post(
    "/messaging/contacts/opt-out", response_class=HTMLResponse, dependencies=[CsrfProtected]
)
async def contact_opt_out(
    request: Request, session: SessionDep, scope: UnitScope, user: Officer, policy: PolicyDep
) -> HTMLResponse:
    """Stop every message to this number now, on the person's request made to staff."""
    phone = (await _form(request)).get("phone", "")[:40]
    try:
        card = _look_up(session, policy, scope, user, phone)
    except SafezoneError as exc:
        return _contact_page(request, phone=phone, errors=_errors(exc), status_code=422)
    if card is None:
        return _contact_page(request, phone=phone, searched=True, status_code=404)
    before = card.messages.get("queued", 0)
    contacts.opt_out(
        session,
        contacts.phone_of(policy.vault, card.contact),
        f"staff:{user.username}",
        vault=policy.vault,
    )
    record(
        session,
        actor=user.username,
        action="opt_out",
        object_type="contact",
        object_id=card.contact.id,
        unit_code=card.contact.unit_code,
    )
    session.flush()
    card = contacts.look_up(session, policy.vault, phone, within_path=scope.path)
    stopped = before - (card.messages.get("queued", 0) if card else 0)
    return _contact_page(request, phone=phone, card=card, searched=True, stopped=stopped)


# --- the public confirmation page -----------------------------------------------------------


def _link_page(
    request: Request,
    page: links.LinkPage,
    token: str,
    settings: Settings,
    *,
    just_confirmed: bool = False,
) -> HTMLResponse:
    # The contact's language, unless the reader chose one (?lang= or the remembered cookie).
    if "lang" not in request.query_params and i18n.LANG_COOKIE not in request.cookies:
        i18n.set_locale(page.language)
    response = render(
        request,
        "messaging/confirm.html",
        {
            "token": token,
            "app_name": APP_NAMES.get(page.app_code, page.app_code),
            "stores": settings.messaging.store_links.get(page.app_code, {}),
            "confirmed": page.confirmed,
            "just_confirmed": just_confirmed,
        },
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


@router.get("/i/{link_token}", response_class=HTMLResponse)
def confirm_page(
    request: Request, link_token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The page a personal link opens: store links and "I have installed it"."""
    page = links.open_link(session, link_token)
    return _link_page(request, page, link_token, settings)


@router.post("/i/{link_token}", response_class=HTMLResponse)
def confirm_installed(
    request: Request, link_token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """The button: marks the app installed and stops the reminders."""
    page = links.confirm(session, link_token)
    return _link_page(request, page, link_token, settings, just_confirmed=True)
