"""HTML pages of the door-to-door drive: the volunteer's offline app (page, manifest, service
worker, script), volunteer progress, household imports and teams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from safezone.accounts.models import Role, User
from safezone.accounts.service import require_role
from safezone.campaign import households, teams, visits
from safezone.campaign.field_api import FieldPolicyDep, narrowed, progress_csv
from safezone.campaign.field_schemas import ProgressOut
from safezone.campaign.models import AppResult, CampaignApp
from safezone.db.base import utcnow
from safezone.errors import SafezoneError
from safezone.units.models import COMMUNE, Unit
from safezone.web import charts, i18n
from safezone.web.deps import CsrfProtected, CurrentUser, RowId, SessionDep, UnitScope
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
#: Largest household file accepted from the web form (the CLI takes any size).
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def _role(*roles: Role) -> Any:
    def dependency(user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return Depends(dependency)


PageVolunteer = Annotated[User, _role(Role.VOLUNTEER)]
PageOfficer = Annotated[User, _role(Role.CAMPAIGN_OFFICER)]
PageProgress = Annotated[User, _role(Role.VOLUNTEER, Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER)]


# --- the volunteer's app ----------------------------------------------------------------------


def _app_messages() -> dict[str, str]:
    """The script's texts in the reader's language (the catalogs stay the one source)."""
    _ = i18n.gettext
    return {
        "home": _("Someone was home"),
        "not_home": _("Nobody home"),
        "already_installed": _("Already installed"),
        "installed_with_help": _("Installed with help"),
        "refused": _("Refused"),
        "no_smartphone": _("No smartphone"),
        "later": _("Will install later"),
        "record": _("Record visit"),
        "correct": _("Correct"),
        "queued": _("Waiting to sync"),
        "nothing_queued": _("Nothing waiting: every visit is synced."),
        "synced": _(
            "Synced: %(stored)s new, %(unchanged)s already stored, %(corrected)s corrected."
        ),
        "rejected": _("Not stored"),
        "offline": _("No signal: visits are kept on this phone and sent when the signal returns."),
        "online": _("Online"),
        "saved_list": _("No signal: showing the list saved on this phone."),
        "no_households": _("No household is due today."),
        "first": _("First visit"),
        "revisit": _("Revisit"),
        "follow_up": _("Follow-up"),
        "members": _("members"),
        "tries": _("not-home visits"),
        "phone_needed": _("Enter the phone number to remind."),
        "people_needed": _("At least one person was home."),
        "visited_today": _("Visited today"),
        "sync_failed": _("Sync failed; the visits stay queued."),
        "login_again": _("Your login has ended: log in again to sync."),
    }


@router.get("/volunteer/", response_class=HTMLResponse)
def volunteer_app(request: Request, session: SessionDep, user: PageVolunteer) -> HTMLResponse:
    """The volunteer's installable app: walk list, visit form, queue (works offline)."""
    apps = session.execute(
        select(CampaignApp.code, CampaignApp.name)
        .where(CampaignApp.active.is_(True))
        .order_by(CampaignApp.position, CampaignApp.code)
    ).all()
    config = {
        "apps": [{"code": code, "name": name} for code, name in apps],
        "results": [result.value for result in AppResult],
        "messages": _app_messages(),
        "lang": i18n.get_locale(),
    }
    return render(
        request,
        "campaign/volunteer.html",
        {"config": json.dumps(config, ensure_ascii=False), "volunteer": user.username},
        status_code=200,
    )


@router.get("/volunteer/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: installable, standalone, starts at the walk list."""
    body = {
        "name": "safezone · Tình nguyện viên / Volunteer",
        "short_name": "TNV safezone",
        "lang": "vi",
        "start_url": "/volunteer/",
        "scope": "/volunteer/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [{"src": "/volunteer/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/manifest+json")


def _static(name: str, media_type: str, **headers: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type=media_type, headers=headers)


@router.get("/volunteer/sw.js")
def service_worker() -> FileResponse:
    """The service worker (scope /volunteer/); never cached, so updates reach phones."""
    return _static(
        "volunteer-sw.js",
        "text/javascript",
        **{"Cache-Control": "no-cache", "Service-Worker-Allowed": "/volunteer/"},
    )


@router.get("/volunteer/app.js")
def app_script() -> FileResponse:
    """The app's script (IndexedDB queue, sync)."""
    return _static("volunteer.js", "text/javascript", **{"Cache-Control": "no-cache"})


@router.get("/volunteer/app.css")
def app_style() -> FileResponse:
    """The app's styles (large tap targets)."""
    return _static("volunteer.css", "text/css", **{"Cache-Control": "no-cache"})


@router.get("/volunteer/icon.svg")
def app_icon() -> FileResponse:
    """The app's icon."""
    return _static("volunteer-icon.svg", "image/svg+xml", **{"Cache-Control": "max-age=86400"})


# --- volunteer progress -----------------------------------------------------------------------


def _progress_chart(result: ProgressOut) -> Markup:
    import plotly.graph_objects as go

    names = [row.volunteer for row in result.rows]
    figure = go.Figure()
    for key, label, colour in (
        ("visited", i18n.gettext("Households visited"), "#0b5cad"),
        ("installs_helped", i18n.gettext("Installs helped"), "#1b7f3b"),
        ("revisits_due", i18n.gettext("Revisits due"), "#b35c00"),
    ):
        figure.add_trace(
            go.Bar(
                x=names,
                y=[getattr(row, key) for row in result.rows],
                name=label,
                marker_color=colour,
            )
        )
    figure.update_layout(barmode="group", height=360, margin={"l": 40, "r": 10, "b": 60})
    return charts.chart(figure, chart_id="volunteer-progress-chart")


@router.get("/campaign/volunteers", response_class=HTMLResponse)
def progress_page(
    request: Request,
    session: SessionDep,
    user: PageProgress,
    scope: UnitScope,
    unit: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """Volunteer progress: households visited, installs helped, revisits due."""
    narrow = narrowed(session, user, scope, unit)
    result = visits.progress(session, user, narrow)
    root = session.get_one(Unit, narrow.unit_code)
    return render(
        request,
        "campaign/volunteers.html",
        {"result": result, "chart": _progress_chart(result), "root": root, "unit": unit or ""},
    )


@router.get("/campaign/volunteers.csv")
def progress_page_csv(
    session: SessionDep,
    user: PageProgress,
    scope: UnitScope,
    unit: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The progress table as CSV (for the page's download link)."""
    result = visits.progress(session, user, narrowed(session, user, scope, unit))
    return Response(
        progress_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="volunteer-progress.csv"'},
    )


# --- households import ------------------------------------------------------------------------


def _communes(session: SessionDep, scope: Any) -> list[Unit]:
    return list(
        session.scalars(
            select(Unit).where(Unit.level == COMMUNE, scope.where(Unit.path)).order_by(Unit.path)
        )
    )


@router.get("/campaign/households/import", response_class=HTMLResponse)
def import_form(
    request: Request, session: SessionDep, user: PageOfficer, scope: UnitScope
) -> HTMLResponse:
    """Upload a commune's household list (CSV or XLSX)."""
    del user
    return render(
        request,
        "campaign/households_import.html",
        {"communes": _communes(session, scope), "report": None, "errors": [], "chosen": ""},
    )


@router.post(
    "/campaign/households/import", response_class=HTMLResponse, dependencies=[CsrfProtected]
)
async def import_upload(
    request: Request,
    session: SessionDep,
    policy: FieldPolicyDep,
    user: PageOfficer,
    scope: UnitScope,
    unit_code: Annotated[str, Form(max_length=16)],
    file: Annotated[UploadFile, File()],
    skip_bad_rows: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    """Import the file; show what was stored, or every bad row (nothing stored then)."""
    data = await file.read(MAX_UPLOAD_BYTES + 1)
    report = None
    errors: list[Any] = []
    status = 200
    try:
        if len(data) > MAX_UPLOAD_BYTES:
            raise SafezoneError.single(
                "file", "too_large", "Tệp quá lớn (tối đa 5 MB).", "The file is too large (5 MB)."
            )
        report = households.import_households(
            session,
            policy.vault,
            data,
            file.filename or "upload.csv",
            unit_code=unit_code,
            scope=scope,
            actor=user.username,
            skip_bad_rows=bool(skip_bad_rows),
            today=visits.local_day(utcnow()),
        )
    except SafezoneError as error:
        errors = error.errors
        status = 422
    return render(
        request,
        "campaign/households_import.html",
        {
            "communes": _communes(session, scope),
            "report": report,
            "errors": errors,
            "chosen": unit_code,
        },
        status_code=status,
    )


# --- teams ------------------------------------------------------------------------------------


def _teams_page(
    request: Request,
    session: SessionDep,
    scope: Any,
    *,
    form: dict[str, Any] | None = None,
    errors: list[Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    root = session.get(Unit, scope.unit_code)
    volunteers = session.scalars(
        select(User)
        .join(Unit, Unit.code == User.unit_code)
        .where(User.role == Role.VOLUNTEER, User.is_active.is_(True), scope.where(Unit.path))
        .order_by(User.username)
        .limit(1000)
    )
    communes = _communes(session, scope)
    return render(
        request,
        "campaign/teams.html",
        {
            "teams": teams.list_teams(session, scope),
            "units": ([root] if root is not None and root.level != COMMUNE else []) + communes,
            "communes": communes,
            "volunteers": list(volunteers),
            "form": form or {"name": "", "unit_code": "", "areas": [], "members": []},
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/campaign/teams", response_class=HTMLResponse)
def teams_page(
    request: Request, session: SessionDep, user: PageOfficer, scope: UnitScope
) -> HTMLResponse:
    """Volunteer teams with their areas, members and households; a form to create one."""
    del user
    return _teams_page(request, session, scope)


@router.post("/campaign/teams", response_class=HTMLResponse, dependencies=[CsrfProtected])
async def teams_create(
    request: Request, session: SessionDep, user: PageOfficer, scope: UnitScope
) -> Response:
    """Create a team from the form: every field checked first, nothing stored on an error."""
    data = await request.form()
    name = str(data.get("name", ""))[:300]
    unit_code = str(data.get("unit_code", ""))[:16]
    areas = [str(code)[:16] for code in data.getlist("areas")][:500]
    members = [str(member)[:64] for member in data.getlist("members")][:1000]
    form = {"name": name, "unit_code": unit_code, "areas": areas, "members": members}
    try:
        teams.save_team(
            session,
            scope,
            name=name,
            unit_code=unit_code,
            areas=areas,
            members=members,
            actor=user.username,
        )
    except SafezoneError as exc:
        session.rollback()
        return _teams_page(request, session, scope, form=form, errors=exc.errors, status_code=422)
    return RedirectResponse("/campaign/teams", status_code=303)


@router.post("/campaign/teams/{team_id}/distribute", dependencies=[CsrfProtected])
def teams_distribute(
    session: SessionDep, user: PageOfficer, scope: UnitScope, team_id: RowId
) -> RedirectResponse:
    """Deal the team's unassigned households to its volunteers, then back to the list."""
    team = teams.get_team(session, team_id, scope)
    teams.distribute(session, team, actor=user.username)
    return RedirectResponse("/campaign/teams", status_code=303)
