"""Typed FastAPI dependencies shared by every domain's routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, require_role, user_for_token
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.errors import FieldError, SafezoneError
from safezone.web.security import check_csrf


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


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request: committed when the route returns, rolled back on error."""
    with get_database(request).session() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
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


def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The staff member behind a bearer token or the session cookie, if any."""
    token = _bearer(request)
    user: User | None = None
    if token is not None:
        user = user_for_token(session, token)
    elif "session" in request.scope and (uid := request.session.get("uid")) is not None:
        user = session.get(User, uid)
        if user is not None and not user.is_active:
            user = None
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
