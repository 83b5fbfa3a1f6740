"""Users, tokens, scopes and the append-only audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from safezone.accounts import service
from safezone.accounts.login import LoginGuard, authenticate
from safezone.accounts.models import ApiToken, AuditEvent, Role, User
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.errors import Forbidden, InvalidInput, NotFound
from tests.conftest import PASSWORD, MakeUser

NOW = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)


def test_create_user_stores_an_argon2_hash_and_audits(db: Database, make_user: MakeUser) -> None:
    make_user("an.nguyen", "health_officer", "555")
    with db.session() as session:
        user = service.get_user(session, "AN.NGUYEN")
        assert user.role is Role.HEALTH_OFFICER
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create"))
        assert [e.detail["username"] for e in events] == ["an.nguyen"]


def test_create_user_lists_every_bad_field_and_stores_nothing(db: Database) -> None:
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        service.create_user(session, username="x", password="short", role="king", unit_code="000")
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("username", "invalid_username"),
        ("password", "password_too_short"),
        ("role", "invalid_role"),
        ("unit", "unit_not_found"),
    ]
    with db.session() as session:
        assert session.scalar(select(User)) is None


def test_duplicate_username(db: Database, make_user: MakeUser) -> None:
    make_user("dup.user")
    with pytest.raises(InvalidInput) as caught, db.session() as session:
        service.create_user(
            session, username="dup.user", password=PASSWORD, role="admin", unit_code="54"
        )
    assert caught.value.errors[0].code == "username_taken"


def test_disabled_user_cannot_log_in_or_use_tokens(
    db: Database, make_user: MakeUser, settings: Settings
) -> None:
    created = make_user("disabled.user")
    guard = LoginGuard.from_settings(settings, db.engine)
    with db.session() as session:
        user = session.get_one(User, created.id)
        token = service.issue_token(session, user)
        assert service.user_for_token(session, token) is not None
        service.set_active(session, user, False, actor="admin")
    with db.session() as session:
        assert service.user_for_token(session, token) is None
        with pytest.raises(service.LoginFailed):
            authenticate(session, guard, "disabled.user", PASSWORD, address="10.0.0.1")


def test_tokens_are_hashed_at_rest_and_revocable(db: Database, make_user: MakeUser) -> None:
    created = make_user("token.user")
    with db.session() as session:
        token = service.issue_token(session, session.get_one(User, created.id))
    assert token.startswith("sz_")
    with db.session() as session:
        row = session.scalar(select(ApiToken))
        assert row is not None
        assert token not in (row.token_hash, row.prefix)
        assert service.user_for_token(session, token).username == "token.user"  # type: ignore[union-attr]
        assert service.user_for_token(session, token + "x") is None
        assert service.user_for_token(session, "not-a-token") is None
        assert service.revoke_tokens(session, row.user, actor="admin") == 1
    with db.session() as session:
        assert service.user_for_token(session, token) is None


def test_scope_and_role_checks(db: Database, make_user: MakeUser) -> None:
    officer = make_user("ward.officer", "health_officer", "22015")
    with db.session() as session:
        user = session.get_one(User, officer.id)
        assert service.ensure_in_scope(session, user, "22015").code == "22015"
        with pytest.raises(NotFound):
            service.ensure_in_scope(session, user, "555")  # the parent is outside
        with pytest.raises(NotFound):
            service.ensure_in_scope(session, user, "22018")  # a sibling ward
        with pytest.raises(Forbidden):
            service.require_role(user, Role.VERIFIER)
        service.require_role(user, Role.HEALTH_OFFICER)
        assert [u.username for u in service.list_users(session, service.Scope.of(user))] == [
            "ward.officer"
        ]


def test_set_password_validates(db: Database, make_user: MakeUser, settings: Settings) -> None:
    created = make_user("pw.user")
    with db.session() as session:
        user = session.get_one(User, created.id)
        with pytest.raises(InvalidInput):
            service.set_password(session, user, "short", actor="admin")
        service.set_password(session, user, "a-brand-new-password", actor="admin")
    guard = LoginGuard.from_settings(settings, db.engine)
    with db.session() as session:
        authenticate(session, guard, "pw.user", "a-brand-new-password", address="10.0.0.1")
        with pytest.raises(service.LoginFailed):
            authenticate(session, guard, "pw.user", PASSWORD, address="10.0.0.1")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
)
def test_audit_log_is_append_only(db: Database, make_user: MakeUser, statement: str) -> None:
    make_user("audited.user")
    with pytest.raises(DatabaseError), db.engine.begin() as connection:
        connection.execute(text(statement))
    with db.session() as session:
        assert session.scalar(select(AuditEvent.action)) == "user.create"


def test_record_read_names_who_read_what(db: Database, make_user: MakeUser) -> None:
    created = make_user("reader", "health_officer", "555")
    with db.session() as session:
        user = session.get_one(User, created.id)
        service.record_read(session, user, "declaration", 42, "22015", reason="review")
    with db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "read")).one()
        assert (event.actor, event.object_type, event.object_id, event.unit_code) == (
            "reader",
            "declaration",
            "42",
            "22015",
        )
        assert event.detail == {"reason": "review"}
        assert event.at.tzinfo is not None
