"""App API keys: which apps may call verify and certificate (Google's "authorized apps").

An admin creates one key per app (``safezone exposure apps create --name N``); the key is shown
once and only its SHA-256 is stored. Phones send it in ``X-API-Key``. A missing, unknown or
revoked key is refused with one answer (401), whatever the reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safezone.accounts.service import record
from safezone.errors import Conflict, FieldError, InvalidInput, NotFound, SafezoneError
from safezone.exposure.models import ExposureApp

#: Keys look like ``szapp_`` + 43 URL-safe characters (256 random bits).
KEY_PREFIX = "szapp_"
KEY_HINT_LENGTH = 10
MAX_NAME_LENGTH = 64
MAX_KEY_LENGTH = 256


class AppKeyRejected(SafezoneError):
    """No usable API key: missing, unknown or revoked (the same answer for all three)."""

    status_hint = 401

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                None,
                "unauthorized",
                "Thiếu hoặc sai khoá API của ứng dụng (X-API-Key).",
                "unauthorized",
            )
        )


@dataclass(frozen=True, slots=True)
class CreatedApp:
    """A new app and its key (the only moment the key exists in clear)."""

    id: int
    name: str
    key: str
    created_at: dt.datetime


def key_hash(key: str) -> str:
    """What is stored and looked up for ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_NAME_LENGTH or not cleaned.isprintable():
        raise InvalidInput.single(
            "name",
            "app_name_invalid",
            f"Tên ứng dụng phải có 1 đến {MAX_NAME_LENGTH} ký tự in được.",
            f"The app name must be 1 to {MAX_NAME_LENGTH} printable characters.",
        )
    return cleaned


def create_app(session: Session, name: str, *, actor: str | None, now: dt.datetime) -> CreatedApp:
    """Create an app with a fresh key; Conflict when the name is taken."""
    cleaned = _check_name(name)
    if session.scalar(select(ExposureApp.id).where(ExposureApp.name == cleaned)) is not None:
        raise _name_taken(cleaned)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ExposureApp(
        name=cleaned,
        key_hash=key_hash(key),
        key_hint=key[:KEY_HINT_LENGTH],
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise _name_taken(cleaned) from None  # a concurrent create won the name
    record(
        session,
        actor=actor,
        action="exposure.app.create",
        object_type="exposure_app",
        object_id=row.id,
        detail={"name": cleaned},
    )
    return CreatedApp(row.id, cleaned, key, now)


def _name_taken(name: str) -> Conflict:
    return Conflict.single(
        "name",
        "app_name_taken",
        f"Đã có ứng dụng tên {name!r}.",
        f"An app named {name!r} already exists.",
    )


def list_apps(session: Session) -> list[ExposureApp]:
    """Every app, oldest first (revoked ones too)."""
    return list(session.scalars(select(ExposureApp).order_by(ExposureApp.id)))


def revoke_app(session: Session, name: str, *, actor: str | None, now: dt.datetime) -> ExposureApp:
    """Revoke an app's key (idempotent); NotFound for an unknown name."""
    row = session.scalar(select(ExposureApp).where(ExposureApp.name == name.strip()))
    if row is None:
        raise NotFound.single(
            "name", "app_not_found", f"Không có ứng dụng tên {name!r}.", f"No app named {name!r}."
        )
    if row.revoked_at is None:
        row.revoked_at = now
        record(
            session,
            actor=actor,
            action="exposure.app.revoke",
            object_type="exposure_app",
            object_id=row.id,
            detail={"name": row.name},
        )
    return row


def authenticate(session: Session, key: str | None) -> int:
    """The id of the live app whose key is ``key``; AppKeyRejected otherwise.

    The lookup is by the key's hash (an index probe): its time does not depend on how much of
    a guessed key is right.
    """
    candidate = (key or "").strip()
    if not candidate or len(candidate) > MAX_KEY_LENGTH:
        raise AppKeyRejected
    app_id = session.scalar(
        select(ExposureApp.id).where(
            ExposureApp.key_hash == key_hash(candidate), ExposureApp.revoked_at.is_(None)
        )
    )
    if app_id is None:
        raise AppKeyRejected
    return app_id
