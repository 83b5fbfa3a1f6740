"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safezone.accounts import service, sessions
from safezone.accounts.login import LoginGuard, authenticate
from safezone.accounts.models import Role
from safezone.errors import SafezoneError
from safezone.web import i18n
from safezone.web.deps import (
    CsrfProtected,
    CurrentUser,
    DatabaseDep,
    SessionDep,
    SettingsDep,
    session_policy,
)
from safezone.web.security import login_session, logout_session, note_failed_logins, session_id
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)


#: Where each role lands after logging in without a ``next`` page: its daily work.
LANDING: dict[Role, str] = {
    Role.HEALTH_OFFICER: "/declarations",
    Role.VERIFIER: "/exposure/codes",
    Role.CAMPAIGN_OFFICER: "/campaign",
    Role.VOLUNTEER: "/volunteer/",  # the offline walk-list app
}


def landing_page(role: Role) -> str:
    """The page a role starts on (the overview for roles without a work page of their own)."""
    return LANDING.get(role, "/units")


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would help phishing. "" means "the role's landing page".
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return ""


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002
    """The login form."""
    return render(request, "accounts/login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", dependencies=[CsrfProtected])
def login(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "",  # noqa: A002
) -> Response:
    """Check the credentials; failures are counted (and committed) even though login fails."""
    failure: SafezoneError | None = None
    guard = LoginGuard.from_settings(settings, database.engine)
    address = request.client.host if request.client else "unknown"
    with database.session() as session:
        try:
            result = authenticate(session, guard, username, password, address=address)
            if (previous := session_id(request)) is not None:
                sessions.end(session, previous)  # logging in again replaces the old session
            token = sessions.start(session, result.user, session_policy(settings))
            role = result.user.role
        except SafezoneError as error:
            failure = error  # the session still commits the failure counter and audit entry
    if failure is not None:
        message = failure.errors[0]
        text = message.message_vi if i18n.get_locale() == "vi" else message.message_en
        return render(
            request,
            "accounts/login.html",
            {"next": _safe_next(next), "error": text, "username": username},
            status_code=failure.status_hint,
        )
    login_session(request, token)
    if result.failed_since_last:
        note_failed_logins(request, result.failed_since_last)
    return RedirectResponse(_safe_next(next) or landing_page(role), status_code=303)


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request, session: SessionDep, user: CurrentUser) -> RedirectResponse:
    """End the session: its server-side row is deleted, so copies of the cookie stop working."""
    # The request's own session: a second one in this thread would wait for its write lock.
    if (token := session_id(request)) is not None:
        sessions.end(session, token)
    service.record(
        session, actor=user.username, action="logout", object_type="user", object_id=user.id
    )
    logout_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request, user: CurrentUser) -> HTMLResponse:
    """The form where staff change their own password."""
    return render(request, "accounts/password.html", _password_context())


@router.post("/account/password", dependencies=[CsrfProtected], response_model=None)
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    current_password: Annotated[str, Form(max_length=256)],
    new_password: Annotated[str, Form(max_length=256)],
    confirm_password: Annotated[str, Form(max_length=256)],
) -> Response:
    """Change one's own password; every other session and every API token of the user ends."""
    try:
        service.change_own_password(
            session,
            user,
            current=current_password,
            new=new_password,
            confirm=confirm_password,
            keep_session=session_id(request),
        )
    except SafezoneError as error:
        vietnamese = i18n.get_locale() == "vi"
        errors = {e.field or "": e.message_vi if vietnamese else e.message_en for e in error.errors}
        session.rollback()
        return render(
            request,
            "accounts/password.html",
            _password_context(errors),
            status_code=error.status_hint,
        )
    return render(request, "accounts/password.html", _password_context(changed=True))


def _password_context(
    errors: dict[str, str] | None = None, *, changed: bool = False
) -> dict[str, object]:
    return {
        "errors": errors or {},
        "changed": changed,
        "min_length": service.MIN_PASSWORD_LENGTH,
    }
