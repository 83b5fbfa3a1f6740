"""Users, API tokens and the append-only audit log."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safezone.db.base import Base, utcnow
from safezone.units.models import Unit


class Role(enum.StrEnum):
    """What a staff member does; every role is bound to one unit and sees only its subtree."""

    ADMIN = "admin"
    HEALTH_OFFICER = "health_officer"
    CAMPAIGN_OFFICER = "campaign_officer"
    VERIFIER = "verifier"  # issues exposure-notification verification codes
    VOLUNTEER = "volunteer"
    ORG_REPORTER = "org_reporter"  # reports for the one organisation it is bound to


class User(Base):
    """A staff member."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Failed logins since the last successful one: told to the user at their next login.
    failed_logins: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]

    unit: Mapped[Unit] = relationship(lazy="joined")

    @property
    def scope_path(self) -> str:
        """The path of the unit subtree this user may see."""
        return self.unit.path


class ApiToken(Base):
    """A bearer token for a machine client; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in listings to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class UserSession(Base):
    """A logged-in browser: the cookie carries a random id, only its SHA-256 is stored here.

    Deleting the row ends the session, even for a copy of the cookie (logout, password change).
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]  # absolute end, whatever the activity

    user: Mapped[User] = relationship(lazy="joined")


class AuditEvent(Base):
    """Who did what to which object, when. Append-only: database triggers refuse changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), index=True)  # username; None = system
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    unit_code: Mapped[str | None] = mapped_column(String(16))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
