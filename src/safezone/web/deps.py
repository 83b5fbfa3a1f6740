"""Typed FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated

import anyio
from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from safezone.accounts import sessions
from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, require_role, user_for_token
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.errors import FieldError, SafezoneError
from safezone.web.security import SESSION_ID, check_csrf, session_id

#: The largest row id: primary keys are INTEGER columns, 32-bit on PostgreSQL (SQLite's are
#: 64-bit). A larger number cannot name a row, and sent to PostgreSQL it is a DataError (500).
MAX_ROW_ID = 2**31 - 1

#: A row id in a path. Out of range is answered like an unknown id (404, see web.errors).
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="Row id")]


class LoginRequired(SafezoneError):
    """No valid session or bearer token (pages redirect to the login form instead)."""

    status_hint = 401

    def __init__(self) -> None:
        super().__init__(FieldError(None, "login_required", "Cần đăng nhập.", "Login required."))


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    """The app's database."""
    database: Database = request.app.state.database
    return database


def _finish(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request: committed when the route returns, rolled back on error.

    Async on purpose: FastAPI runs every sync dependency in the thread pool, and each hand-off
    costs more than creating a session (which does no I/O). Only the commit or rollback, which
    talk to the database, go to a thread; shielded, so a client that hangs up cannot leave a
    transaction (and SQLite's write lock) open.
    """
    session = get_database(request).sessionmaker()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_finish, session, commit=False)
        raise
    with anyio.CancelScope(shield=True):
        await run_in_threadpool(_finish, session, commit=True)


async def _settings(request: Request) -> Settings:
    return get_settings(request)  # async: no thread-pool hand-off for a lookup


async def _database(request: Request) -> Database:
    return get_database(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
DatabaseDep = Annotated[Database, Depends(_database)]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# scope="function": the commit happens before the response is sent, so a 2xx means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True, slots=True)
class Viewer:
    """What page headers show of the logged-in user: a plain copy, still readable when an error
    page renders after the request's session was rolled back (which expires ORM objects)."""

    username: str
    role: Role
    unit_code: str


def session_policy(settings: Settings) -> sessions.SessionPolicy:
    """How long staff sessions last, from the settings."""
    return sessions.SessionPolicy.from_settings(settings)


async def cookie_session(request: Request) -> str | None:
    """The server-side session id of a cookie-authenticated request, CSRF-checked.

    Every state-changing request that rides on the session cookie must carry the CSRF token
    (form field or ``X-CSRF-Token`` header), JSON routes included; bearer-token clients send no
    cookie and are exempt.
    """
    if _bearer(request) is not None:
        return None
    token = session_id(request)
    if token is not None and request.method not in SAFE_METHODS:
        await check_csrf(request)
    return token


def get_optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    cookie: Annotated[str | None, Depends(cookie_session)],
) -> User | None:
    """The staff member behind a bearer token or a live server-side session, if any."""
    token = _bearer(request)
    user: User | None = None
    if token is not None:
        user = user_for_token(session, token)
    elif cookie is not None:
        user = sessions.user_for(session, cookie, session_policy(settings))
        if user is None:
            request.session.pop(SESSION_ID, None)  # ended: the cookie stops carrying the id
    request.state.user = None if user is None else Viewer(user.username, user.role, user.unit_code)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    """The logged-in staff member; raises LoginRequired."""
    if user is None:
        raise LoginRequired
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_scope(user: CurrentUser) -> Scope:
    """The unit subtree the caller may see."""
    return Scope.of(user)


UnitScope = Annotated[Scope, Depends(get_scope)]


def requires(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting only ``roles`` (and admins)."""

    def dependency(user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return dependency


async def csrf_protect(request: Request) -> None:
    """CSRF check for cookie sessions; bearer-token clients send no cookies and need none."""
    if _bearer(request) is None:
        await check_csrf(request)


CsrfProtected = Depends(csrf_protect)
