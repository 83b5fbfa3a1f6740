"""Keeping data no longer than needed: the purge, and re-encryption after a key rotation."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, or_, select
from sqlalchemy.orm import Session

from safezone.accounts.service import record
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.declarations import passes
from safezone.declarations.base import Policy, local_today
from safezone.declarations.models import (
    DailyUpdate,
    Declaration,
    FollowUp,
    IdempotencyRecord,
    Person,
)


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge removed."""

    declarations: int
    daily_updates: int
    persons: int
    idempotency_records: int


def purge_expired(
    session: Session, policy: Policy, *, now: dt.datetime | None = None
) -> PurgeResult:
    """Delete declarations untouched for the retention period, with their updates and
    follow-ups, and persons left without declarations. Audit entries are kept (the audit log
    is append-only); the purge itself is audited. Safe to run twice."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=policy.retention_days)
    cutoff_day = local_today(cutoff)
    old = select(Declaration.id).where(Declaration.updated_at < cutoff).scalar_subquery()
    # Children first: explicit deletes do not rely on ON DELETE CASCADE being enforced.
    updates = _deleted(
        session,
        delete(DailyUpdate).where(
            or_(DailyUpdate.declaration_id.in_(old), DailyUpdate.day < cutoff_day)
        ),
    )
    session.execute(delete(FollowUp).where(FollowUp.declaration_id.in_(old)))
    idem_cutoff = now - dt.timedelta(hours=policy.idempotency_hours)
    idempotency = _deleted(
        session,
        delete(IdempotencyRecord).where(
            or_(
                IdempotencyRecord.declaration_id.in_(old),
                IdempotencyRecord.created_at < idem_cutoff,
            )
        ),
    )
    declarations = _deleted(session, delete(Declaration).where(Declaration.updated_at < cutoff))
    passes.purge(session, now=now)
    orphans = select(Declaration.id).where(Declaration.person_id == Person.id).exists()
    persons = _deleted(
        session, delete(Person).where(~orphans).execution_options(synchronize_session=False)
    )
    result = PurgeResult(declarations, updates, persons, idempotency)
    if declarations or updates or persons:
        record(
            session,
            actor=None,
            action="declaration.purge",
            object_type="declaration",
            detail={**asdict(result), "cutoff": cutoff.isoformat()},
        )
    return result


#: Every table with personal attributes (``__personal__``), in the order ``rekey`` walks them.
SEALED_TABLES: tuple[Any, ...] = (Person, Declaration, DailyUpdate, FollowUp, IdempotencyRecord)


def rekey(session: Session, settings: Settings | Policy, *, batch: int = 500) -> int:
    """Re-encrypt and re-index everything sealed with an older key of the ring (key rotation),
    and seal plaintext left by versions before revision 0006.

    Returns how many rows changed. Safe to interrupt and run again.
    """
    policy = settings if isinstance(settings, Policy) else Policy.from_settings(settings)
    vault = policy.vault
    changed = 0
    for model in SEALED_TABLES:
        key = next(iter(model.__table__.primary_key.columns))
        last: Any = None
        while True:
            query = select(model).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = session.scalars(query).all()
            if not rows:
                break
            for row in rows:
                last = getattr(row, key.key)
                if vault.reseal(row):
                    changed += 1
            session.flush()
    record(session, actor=None, action="declaration.rekey", detail={"rows": changed})
    return changed
