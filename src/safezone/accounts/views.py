"""Login and logout pages."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from safezone.accounts import service
from safezone.errors import SafezoneError
from safezone.web import i18n
from safezone.web.deps import CsrfProtected, CurrentUser, DatabaseDep, SessionDep, SettingsDep
from safezone.web.security import login_session, logout_session
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/units"


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
    next: Annotated[str, Form(max_length=500)] = "/units",  # noqa: A002
) -> Response:
    """Check the credentials; failures are counted (and committed) even though login fails."""
    failure: SafezoneError | None = None
    with database.session() as session:
        try:
            user_id = service.authenticate(
                session,
                username,
                password,
                max_failed=settings.accounts.max_failed_logins,
                lockout=dt.timedelta(seconds=settings.accounts.lockout_seconds),
            ).id
        except SafezoneError as error:
            failure = error  # the session still commits the failure counter
    if failure is not None:
        message = failure.errors[0]
        text = message.message_vi if i18n.get_locale() == "vi" else message.message_en
        return render(
            request,
            "accounts/login.html",
            {"next": _safe_next(next), "error": text, "username": username},
            status_code=failure.status_hint,
        )
    login_session(request, user_id)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfProtected])
def logout(request: Request, session: SessionDep, user: CurrentUser) -> RedirectResponse:
    """End the session."""
    # The request's own session: a second one in this thread would wait for its write lock.
    service.record(
        session, actor=user.username, action="logout", object_type="user", object_id=user.id
    )
    logout_session(request)
    return RedirectResponse("/login", status_code=303)
