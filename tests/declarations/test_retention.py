"""Retention: the purge job removes old declarations and keeps the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from safezone.accounts.models import AuditEvent
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.declarations import base, intake, retention, review
from safezone.declarations.models import DailyUpdate, Declaration, FollowUp, Person
from safezone.declarations.schemas import DailyUpdateIn, DeclarationIn, FollowUpIn
from safezone.declarations.tasks import PURGE_JOB
from safezone.jobs.service import enqueue, run_one
from safezone.runtime import build_registry
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE

Body = Callable[..., dict[str, Any]]


def _declare(db: Database, policy: base.Policy, raw: dict[str, Any], now: dt.datetime) -> int:
    with db.session() as session:
        data = base.parse(DeclarationIn, session, raw, today=base.local_today(now))
        created = intake.submit(session, policy, data, now=now)
        update_in = DailyUpdateIn(statuses=["healthy"])
        intake.add_daily_update(
            session, policy, created.id, created.update_token, update_in, now=now
        )
        return created.id


def _count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_purge_job_removes_old_declarations_and_keeps_audit(
    settings: Settings, db: Database, body: Body, policy: base.Policy, make_user: MakeUser
) -> None:
    now = utcnow()
    old_id = _declare(db, policy, body(travel=[]), now - dt.timedelta(days=31))
    new_id = _declare(db, policy, body(id_number="054085009999", phone="0912345678"), now)
    officer = make_user("yte", "health_officer", COMMUNE)
    with db.session() as session:
        user = session.merge(officer)
        from safezone.accounts.service import Scope

        scope = Scope.of(user)
        review.read_declaration(session, policy, user, scope, old_id)
        review.add_followup(
            session,
            policy,
            user,
            scope,
            old_id,
            FollowUpIn(status="seen_well"),
            now=now - dt.timedelta(days=31),
        )
        # The follow-up touched the declaration; make it old again for the test.
        session.execute(
            update(Declaration)
            .where(Declaration.id == old_id)
            .values(updated_at=now - dt.timedelta(days=31))
        )
    audit_before = _count(db, AuditEvent)

    registry = build_registry(settings)
    assert PURGE_JOB in registry.handlers
    assert PURGE_JOB in {job.kind for job in registry.periodic}
    with db.session() as session:
        enqueue(session, PURGE_JOB)
    assert run_one(db, registry)

    with db.session() as session:
        remaining = session.scalars(select(Declaration.id)).all()
    assert remaining == [new_id]
    assert _count(db, Person) == 1
    assert _count(db, DailyUpdate) == 1
    assert _count(db, FollowUp) == 0
    assert _count(db, AuditEvent) == audit_before + 1  # kept, plus the purge's own entry
    with db.session() as session:
        read = session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "read", AuditEvent.object_id == str(old_id)
            )
        )
        assert read is not None
        purge = session.scalar(select(AuditEvent).where(AuditEvent.action == "declaration.purge"))
        assert purge is not None
        assert purge.detail["declarations"] == 1

    # Idempotent: a second run finds nothing to do.
    with db.session() as session:
        result = retention.purge_expired(session, policy)
    assert result.declarations == 0


def test_retention_period_is_configurable(settings: Settings, db: Database, body: Body) -> None:
    short = settings.model_copy(
        update={"declarations": settings.declarations.model_copy(update={"retention_days": 5})}
    )
    policy = base.Policy.from_settings(short)
    now = utcnow()
    _declare(db, policy, body(travel=[]), now - dt.timedelta(days=6))
    with db.session() as session:
        assert retention.purge_expired(session, policy, now=now).declarations == 1
