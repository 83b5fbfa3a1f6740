"""Users, API tokens, scopes and the audit log. No HTTP here (login: :mod:`.login`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, select
from sqlalchemy.orm import Session

from safezone.accounts import sessions
from safezone.accounts.models import ApiToken, AuditEvent, Role, User
from safezone.accounts.passwords import hash_password, verify_password
from safezone.db.base import utcnow
from safezone.errors import FieldError, Forbidden, InvalidInput, NotFound, SafezoneError
from safezone.units.models import Unit
from safezone.units.service import get_unit, subtree_of

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "sz_"  # noqa: S105 - a visible marker so leaked tokens are easy to scan for


class LoginFailed(SafezoneError):
    """Unknown user or wrong password: one message for both, so usernames cannot be probed."""

    status_hint = 401

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                None,
                "invalid_credentials",
                "Tên đăng nhập hoặc mật khẩu không đúng.",
                "Wrong username or password.",
            )
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """The unit subtree a staff member may see."""

    unit_code: str
    path: str

    @classmethod
    def of(cls, user: User) -> Scope:
        """The scope of ``user``'s unit."""
        return cls(user.unit_code, user.unit.path)

    def where(self, path_column: SQLColumnExpression[str]) -> ColumnElement[bool]:
        """SQL condition keeping rows whose unit path lies in this scope."""
        return subtree_of(path_column, self.path)

    def contains(self, unit: Unit) -> bool:
        """Whether ``unit`` lies in this scope."""
        return unit.path.startswith(self.path)


def record(
    session: Session,
    *,
    actor: str | None,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    unit_code: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event (in the caller's transaction, so it commits with the change)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        unit_code=unit_code,
        detail=detail or {},
    )
    session.add(event)
    return event


def record_read(
    session: Session,
    user: User,
    object_type: str,
    object_id: str | int,
    unit_code: str | None = None,
    **detail: Any,
) -> AuditEvent:
    """Audit a staff read of personal data. Call it for every such read."""
    return record(
        session,
        actor=user.username,
        action="read",
        object_type=object_type,
        object_id=object_id,
        unit_code=unit_code,
        detail=detail,
    )


def _validate_new_user(
    session: Session, username: str, password: str, role: str, unit_code: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    if not USERNAME_PATTERN.match(username):
        errors.append(
            FieldError(
                "username",
                "invalid_username",
                "Tên đăng nhập gồm 3-64 ký tự a-z, 0-9, dấu chấm, gạch dưới hoặc gạch ngang.",
                "Username must be 3-64 characters of a-z, 0-9, '.', '_' or '-'.",
            )
        )
    elif session.scalar(select(User.id).where(User.username == username)) is not None:
        errors.append(
            FieldError(
                "username",
                "username_taken",
                "Tên đăng nhập đã tồn tại.",
                "Username already exists.",
            )
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        errors.append(
            FieldError(
                "password",
                "password_too_short",
                f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
                f"Password needs at least {MIN_PASSWORD_LENGTH} characters.",
            )
        )
    if role not in {r.value for r in Role}:
        errors.append(
            FieldError(
                "role",
                "invalid_role",
                f"Vai trò không hợp lệ; chọn một trong: {', '.join(r.value for r in Role)}.",
                f"Invalid role; choose one of: {', '.join(r.value for r in Role)}.",
            )
        )
    if session.get(Unit, unit_code) is None:
        errors.append(
            FieldError(
                "unit",
                "unit_not_found",
                f"Không có đơn vị hành chính mã {unit_code!r}.",
                f"No administrative unit has code {unit_code!r}.",
            )
        )
    return errors


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    unit_code: str,
    full_name: str = "",
    actor: str | None = None,
) -> User:
    """Create a staff user; raises InvalidInput listing every bad field, storing nothing."""
    username = username.strip().lower()
    errors = _validate_new_user(session, username, password, role, unit_code)
    if errors:
        raise InvalidInput(*errors)
    user = User(
        username=username,
        full_name=full_name.strip(),
        password_hash=hash_password(password),
        role=Role(role),
        unit_code=unit_code,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        unit_code=unit_code,
        detail={"username": username, "role": role},
    )
    return user


def get_user(session: Session, username: str) -> User:
    """The user called ``username``; raises NotFound."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound.single(
            "username", "user_not_found", "Không có người dùng này.", "No such user."
        )
    return user


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    actor: str | None,
    keep_session: str | None = None,
) -> None:
    """Change a password and end every session of the user (but ``keep_session``, the caller's
    own when users change their own password): a stolen cookie dies with the old password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput.single(
            "password",
            "password_too_short",
            f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự.",
            f"Password needs at least {MIN_PASSWORD_LENGTH} characters.",
        )
    user.password_hash = hash_password(password)
    ended = sessions.end_all(session, user.id, keep=keep_session)
    # API tokens were granted under the old password: one leaked with it must die with it too.
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = utcnow()
    record(
        session,
        actor=actor,
        action="user.password",
        object_type="user",
        object_id=user.id,
        detail={"sessions_ended": ended, "tokens_revoked": len(tokens)},
    )


def change_own_password(
    session: Session,
    user: User,
    *,
    current: str,
    new: str,
    confirm: str,
    keep_session: str | None,
) -> None:
    """A staff member changes their own password: the current one must be right and the new
    one typed twice. Every other session and every API token of the user ends."""
    errors: list[FieldError] = []
    if not verify_password(user.password_hash, current):
        errors.append(
            FieldError(
                "current_password",
                "password_wrong",
                "Mật khẩu hiện tại không đúng.",
                "The current password is wrong.",
            )
        )
    if new != confirm:
        errors.append(
            FieldError(
                "confirm_password",
                "password_mismatch",
                "Hai lần nhập mật khẩu mới không khớp.",
                "The two new passwords differ.",
            )
        )
    if errors:
        raise InvalidInput(*errors)
    set_password(session, user, new, actor=user.username, keep_session=keep_session)


def set_active(session: Session, user: User, active: bool, *, actor: str | None) -> None:
    """Enable or disable a user (disabled users cannot log in nor use their tokens or sessions)."""
    user.is_active = active
    if not active:
        sessions.end_all(session, user.id)
    action = "user.enable" if active else "user.disable"
    record(session, actor=actor, action=action, object_type="user", object_id=user.id)


def _hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no dictionary to defend against).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, *, actor: str | None = None) -> str:
    """Create an API token for ``user``; the plain token is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=_hash_token(token), prefix=token[:10]))
    record(
        session,
        actor=actor,
        action="token.issue",
        object_type="user",
        object_id=user.id,
        detail={"prefix": token[:10]},
    )
    return token


def user_for_token(session: Session, token: str, *, now: dt.datetime | None = None) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(token)))
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    row.last_used_at = now or utcnow()
    return row.user


def revoke_tokens(session: Session, user: User, *, actor: str | None) -> int:
    """Revoke every token of ``user``; returns how many."""
    rows = session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).all()
    for row in rows:
        row.revoked_at = utcnow()
    record(
        session,
        actor=actor,
        action="token.revoke",
        object_type="user",
        object_id=user.id,
        detail={"count": len(rows)},
    )
    return len(rows)


def require_role(user: User, *roles: Role) -> None:
    """Raise Forbidden unless ``user`` has one of ``roles`` (admins always pass)."""
    if user.role is Role.ADMIN or user.role in roles:
        return
    raise Forbidden.single(
        None,
        "forbidden",
        "Vai trò của bạn không được phép làm việc này.",
        "Your role may not do this.",
    )


def ensure_in_scope(session: Session, user: User, unit_code: str) -> Unit:
    """The unit if it lies in ``user``'s subtree; NotFound otherwise (same as missing)."""
    unit = get_unit(session, unit_code)
    if not Scope.of(user).contains(unit):
        raise NotFound.single(
            "code",
            "unit_not_found",
            f"Không tìm thấy đơn vị hành chính có mã {unit_code!r}.",
            f"No administrative unit has code {unit_code!r}.",
        )
    return unit


def list_users(session: Session, scope: Scope) -> list[User]:
    """Users whose unit lies in ``scope``."""
    query = select(User).join(User.unit).where(scope.where(Unit.path)).order_by(User.username)
    return list(session.scalars(query))
