"""The materials page of a unit: posters, guides, flyer, broadcast scripts with their audio,
the broadcast schedule and aired log, and the reports with their history; all downloadable.

Staff see units in their subtree only (others answer 404): a commune's reports are open to the
commune's staff and to its district's and province's. Campaign officers (and admins) change
things; health officers read and download.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, record_read, require_role
from safezone.campaign.coverage import local_today
from safezone.campaign.materials import broadcasts, figures, mailer, printed, reports
from safezone.campaign.materials.models import BroadcastSchedule, ReportFormat
from safezone.campaign.privacy import vault_for
from safezone.declarations.base import Policy
from safezone.errors import FieldError, NotFound, SafezoneError
from safezone.units.models import Unit
from safezone.units.names import display_name
from safezone.units.service import subtree_of
from safezone.web import i18n
from safezone.web.deps import (
    CsrfProtected,
    CurrentUser,
    RowId,
    SessionDep,
    SettingsDep,
    UnitScope,
)
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)
READERS = (Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER)
UnitCode = Annotated[str, Path(max_length=16)]


def _user(*roles: Role) -> Any:
    def dependency(user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return dependency


Reader = Annotated[User, Depends(_user(*READERS))]
Officer = Annotated[User, Depends(_user(Role.CAMPAIGN_OFFICER))]


def _unit(session: Session, scope: Scope, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None or not scope.contains(unit):
        raise NotFound(
            FieldError(
                "code",
                "unit_not_found",
                f"Không tìm thấy đơn vị hành chính có mã {code!r}.",
                f"No administrative unit has code {code!r}.",
            )
        )
    return unit


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _volunteers(session: Session, unit: Unit) -> list[User]:
    """Volunteers based in ``unit``'s subtree, for the walk sheet's choice."""
    query = (
        select(User)
        .join(Unit, Unit.code == User.unit_code)
        .where(
            User.role == Role.VOLUNTEER,
            User.is_active.is_(True),
            subtree_of(Unit.path, unit.path),
        )
        .order_by(User.username)
        .limit(500)
    )
    return list(session.scalars(query))


def _page(
    request: Request,
    session: Any,
    user: User,
    unit: Unit,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    schedule = session.get(BroadcastSchedule, unit.code)
    script = broadcasts.latest_script(session, unit.code)
    today = local_today()
    slots = broadcasts.slots(schedule, today) if schedule else []
    can_edit = user.role in (Role.ADMIN, Role.CAMPAIGN_OFFICER)
    return render(
        request,
        "materials/page.html",
        {
            "unit": unit,
            "unit_title": display_name(unit),
            "apps": figures.active_apps(session),
            "schedule": schedule,
            "script": script,
            "slots": slots,
            "airings": broadcasts.airings(session, unit.code, limit=20),
            "history": reports.history(session, unit.code, limit=30),
            "recipients": mailer.recipients(session, unit.code),
            "can_edit": can_edit,
            "volunteers": _volunteers(session, unit) if can_edit else [],
            "errors": errors or [],
        },
        status_code=status_code,
    )


def _messages(error: SafezoneError) -> list[str]:
    vi = i18n.get_locale() == "vi"
    return [item.message_vi if vi else item.message_en for item in error.errors]


@router.get("/campaign/materials/{code}", response_class=HTMLResponse)
def materials_page(
    request: Request, session: SessionDep, user: Reader, scope: UnitScope, code: UnitCode
) -> HTMLResponse:
    """Everything printable, playable and downloadable for one unit."""
    return _page(request, session, user, _unit(session, scope, code))


@router.get("/campaign/materials/{code}/poster.pdf")
def poster_download(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    scope: UnitScope,
    code: UnitCode,
    paper: Annotated[str, Query(max_length=2)] = "A4",
) -> Response:
    """The unit's poster (A4 or A3)."""
    unit = _unit(session, scope, code)
    content = printed.poster_pdf(
        place=display_name(unit),
        unit_code=unit.code,
        apps=figures.active_apps(session),
        public_url=settings.materials.public_url,
        as_of=local_today(),
        paper=paper,
        lang=i18n.get_locale(),
    )
    return _pdf(content, f"poster-{unit.code}-{paper.upper()}.pdf")


@router.get("/campaign/materials/{code}/flyer.pdf")
def flyer_download(
    session: SessionDep,
    settings: SettingsDep,
    user: Reader,
    scope: UnitScope,
    code: UnitCode,
    paper: Annotated[str, Query(max_length=2)] = "A4",
) -> Response:
    """A flyer with the unit's current coverage and target."""
    unit = _unit(session, scope, code)
    sheet = figures.unit_sheet(session, unit.code)
    content = printed.flyer_pdf(
        sheet, public_url=settings.materials.public_url, paper=paper, lang=i18n.get_locale()
    )
    return _pdf(content, f"to-roi-{unit.code}-{paper.upper()}.pdf")


@router.get("/campaign/materials/{code}/guide/{app_code}.pdf")
def guide_download(
    session: SessionDep,
    user: Reader,
    scope: UnitScope,
    code: UnitCode,
    app_code: Annotated[str, Path(max_length=16)],
    paper: Annotated[str, Query(max_length=2)] = "A4",
) -> Response:
    """The install guide of one app (Android and iOS)."""
    _unit(session, scope, code)
    app = next((item for item in figures.active_apps(session) if item.code == app_code), None)
    if app is None or not (app.android_url or app.ios_url):
        raise NotFound(FieldError("app_code", "unknown_app", "Không có ứng dụng", "No such app"))
    return _pdf(
        printed.guide_pdf(app, paper=paper, lang=i18n.get_locale()), f"huong-dan-{app.code}.pdf"
    )


@router.get("/campaign/materials/{code}/walk-sheet.pdf")
def walk_sheet_download(
    session: SessionDep,
    settings: SettingsDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    volunteer: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    paper: Annotated[str, Query(max_length=2)] = "A4",
) -> Response:
    """The printable walk sheet of the unit's households (one volunteer's, if given).

    Names and addresses are personal data: campaign officers only, within their units, and the
    read is audited like the volunteer app's walk list."""
    unit = _unit(session, scope, code)
    volunteer_name = ""
    if volunteer is not None:
        found = session.get(User, volunteer)
        home = session.get(Unit, found.unit_code) if found is not None else None
        mine = home is not None and scope.contains(home)
        if found is None or found.role != Role.VOLUNTEER or not mine:
            raise NotFound(
                FieldError(
                    "volunteer",
                    "volunteer_not_found",
                    "Không tìm thấy tình nguyện viên này trong đơn vị của bạn.",
                    "No such volunteer in your units.",
                )
            )
        volunteer_name = found.username
    rows = printed.walk_rows(session, vault_for(settings), unit=unit, volunteer_id=volunteer)
    record_read(
        session, user, "walk_sheet", unit.code, unit.code, volunteer=volunteer, households=len(rows)
    )
    content = printed.walk_sheet_pdf(
        place=display_name(unit),
        apps=figures.active_apps(session),
        rows=rows,
        day=local_today(),
        volunteer=volunteer_name,
        paper=paper,
        lang=i18n.get_locale(),
    )
    suffix = f"-{volunteer_name}" if volunteer_name else ""
    return _pdf(content, f"phieu-di-tung-nha-{unit.code}{suffix}.pdf")


@router.get("/campaign/materials/{code}/broadcast/{script_id}/audio")
def broadcast_audio(
    session: SessionDep, user: Reader, scope: UnitScope, code: UnitCode, script_id: RowId
) -> Response:
    """A script's audio (MP3 or WAV) for the commune radio."""
    unit = _unit(session, scope, code)
    script = broadcasts.get_script(session, unit.code, script_id)
    if script.audio is None:
        raise NotFound(FieldError("audio", "no_audio", "Chưa có âm thanh", "No audio yet"))
    extension = "wav" if script.audio_mime == "audio/wav" else "mp3"
    return Response(
        script.audio,
        media_type=script.audio_mime,
        headers={
            "Content-Disposition": f'inline; filename="loa-{unit.code}-{script.id}.{extension}"'
        },
    )


@router.get("/campaign/materials/{code}/broadcast/{script_id}/script.txt")
def broadcast_text(
    session: SessionDep, user: Reader, scope: UnitScope, code: UnitCode, script_id: RowId
) -> Response:
    """A script's text, to read aloud or print."""
    unit = _unit(session, scope, code)
    script = broadcasts.get_script(session, unit.code, script_id)
    return Response(
        script.text + "\n",
        media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="loa-{unit.code}-{script.id}.txt"'},
    )


@router.get("/campaign/materials/{code}/reports/{report_id}")
def report_download(
    session: SessionDep, user: Reader, scope: UnitScope, code: UnitCode, report_id: RowId
) -> Response:
    """A stored report (XLSX or PDF)."""
    unit = _unit(session, scope, code)
    report = reports.get_report(session, unit.code, report_id)
    media = (
        "application/pdf"
        if report.format is ReportFormat.PDF
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        report.content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{reports.file_name(report)}"'},
    )


def _done(code: str) -> RedirectResponse:
    return RedirectResponse(f"/campaign/materials/{code}", status_code=303)


@router.post("/campaign/materials/{code}/schedule", dependencies=[CsrfProtected])
def schedule_save(
    request: Request,
    session: SessionDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    times: Annotated[str, Form(max_length=100)],
    weekdays: Annotated[str, Form(max_length=20)] = "1234567",
    template: Annotated[str, Form(max_length=4000)] = "",
    active: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Set the broadcast schedule and script template."""
    unit = _unit(session, scope, code)
    entered = broadcasts.ScheduleInput(times, weekdays, template, active == "on")
    try:
        broadcasts.set_schedule(session, unit.code, entered, user=user)
    except SafezoneError as error:
        return _page(request, session, user, unit, errors=_messages(error), status_code=422)
    return _done(unit.code)


@router.post("/campaign/materials/{code}/broadcast/refresh", dependencies=[CsrfProtected])
def broadcast_refresh(
    session: SessionDep, user: Officer, scope: UnitScope, code: UnitCode
) -> Response:
    """Fill the script with today's figures (new audio only if the text changed)."""
    unit = _unit(session, scope, code)
    broadcasts.refresh_script(session, figures.unit_sheet(session, unit.code))
    return _done(unit.code)


@router.post("/campaign/materials/{code}/broadcast/aired", dependencies=[CsrfProtected])
def broadcast_aired(
    request: Request,
    session: SessionDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    slot: Annotated[str, Form(max_length=40)],
    aired: Annotated[str, Form(max_length=3)] = "yes",
    note: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """Confirm that a scheduled broadcast was (or was not) aired."""
    unit = _unit(session, scope, code)
    try:
        moment = dt.datetime.fromisoformat(slot)
        if moment.tzinfo is None:
            raise ValueError(slot)
        broadcasts.confirm_airing(
            session, unit.code, moment, aired=aired == "yes", note=note.strip(), user=user
        )
    except ValueError:
        return _page(
            request,
            session,
            user,
            unit,
            errors=[i18n.gettext("Unknown time slot")],
            status_code=422,
        )
    except SafezoneError as error:
        return _page(request, session, user, unit, errors=_messages(error), status_code=422)
    return _done(unit.code)


@router.post(
    "/campaign/materials/{code}/broadcast/{script_id}/recording", dependencies=[CsrfProtected]
)
def broadcast_recording(
    request: Request,
    session: SessionDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    script_id: RowId,
    recording: Annotated[UploadFile, File()],
) -> Response:
    """Replace the synthetic voice by a recorded reading of the script."""
    unit = _unit(session, scope, code)
    content = recording.file.read(20 * 1024 * 1024 + 1)
    try:
        broadcasts.upload_recording(session, unit.code, script_id, content, user=user)
    except SafezoneError as error:
        if isinstance(error, NotFound):
            raise
        return _page(request, session, user, unit, errors=_messages(error), status_code=422)
    return _done(unit.code)


@router.post("/campaign/materials/{code}/reports", dependencies=[CsrfProtected])
def report_generate(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    period: Annotated[str, Form(max_length=4)] = "day",
) -> Response:
    """Generate today's report now (XLSX and PDF), kept in the history."""
    unit = _unit(session, scope, code)
    try:
        reports.generate(
            session, unit.code, period, local_today(), policy=Policy.from_settings(settings)
        )
    except SafezoneError as error:
        return _page(request, session, user, unit, errors=_messages(error), status_code=422)
    return _done(unit.code)


@router.post("/campaign/materials/{code}/recipients", dependencies=[CsrfProtected])
def recipients_save(
    request: Request,
    session: SessionDep,
    user: Officer,
    scope: UnitScope,
    code: UnitCode,
    emails: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Set who receives the unit's reports by e-mail (one address per line)."""
    unit = _unit(session, scope, code)
    try:
        mailer.set_recipients(session, unit.code, emails.replace(",", "\n").splitlines(), user=user)
    except SafezoneError as error:
        return _page(request, session, user, unit, errors=_messages(error), status_code=422)
    return _done(unit.code)
