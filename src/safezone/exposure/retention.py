"""Retention: keys, export files, codes and tokens older than the retention period go."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Delete, delete, select
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.exposure.export import write_index
from safezone.exposure.models import (
    ExportBatch,
    ExportFile,
    ExposureKey,
    UsedCertificate,
    VerificationCode,
    VerificationToken,
)
from safezone.exposure.publish import health_authorities
from safezone.exposure.storage import Storage


def _deleted(session: Session, statement: Delete) -> int:
    return cast(CursorResult[Any], session.execute(statement)).rowcount


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """How many rows (and stored files) one run deleted."""

    keys: int
    files: int
    batches: int
    codes: int
    tokens: int
    certificates: int


def purge(
    session: Session, settings: Settings, storage: Storage, *, now: dt.datetime
) -> RetentionResult:
    """Delete what is older than ``retention_days`` (idempotent; safe to run any time)."""
    cutoff = now - dt.timedelta(days=settings.exposure.retention_days)
    keys = _deleted(session, delete(ExposureKey).where(ExposureKey.created_at < cutoff))
    old_batches = select(ExportBatch.id).where(ExportBatch.end_at <= cutoff)
    paths = list(
        session.scalars(select(ExportFile.path).where(ExportFile.batch_id.in_(old_batches)))
    )
    # Index first, then files: a phone reading the index never meets a deleted file.
    session.execute(delete(ExportFile).where(ExportFile.batch_id.in_(old_batches)))
    batches = _deleted(session, delete(ExportBatch).where(ExportBatch.end_at <= cutoff))
    retention = dt.timedelta(days=settings.exposure.retention_days)
    for region in sorted(set(health_authorities(settings).values())):
        write_index(session, storage, region, now=now, retention=retention)
    for path in paths:
        storage.delete(path)
    tokens = _deleted(
        session,
        delete(VerificationToken).where(
            (VerificationToken.created_at < cutoff) | (VerificationToken.expires_at < now)
        ),
    )
    codes = _deleted(session, delete(VerificationCode).where(VerificationCode.created_at < cutoff))
    certificates = _deleted(
        session, delete(UsedCertificate).where(UsedCertificate.expires_at < now)
    )
    return RetentionResult(keys, len(paths), batches, codes, tokens, certificates)
