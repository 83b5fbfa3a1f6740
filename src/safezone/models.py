"""Every ORM table of the project, imported so the metadata is complete (Alembic, tests)."""

from safezone.accounts.models import ApiToken, AuditEvent, User
from safezone.declarations.models import (
    DailyUpdate,
    Declaration,
    FollowUp,
    IdempotencyRecord,
    Person,
)
from safezone.jobs.models import Job
from safezone.units.models import Unit

__all__ = [
    "ApiToken",
    "AuditEvent",
    "DailyUpdate",
    "Declaration",
    "FollowUp",
    "IdempotencyRecord",
    "Job",
    "Person",
    "Unit",
    "User",
]
