"""Every ORM table of the project, imported so the metadata is complete (Alembic, tests)."""

from safezone.accounts.models import ApiToken, AuditEvent, User, UserSession
from safezone.declarations.models import (
    DailyUpdate,
    Declaration,
    FollowUp,
    IdempotencyRecord,
    PassRecord,
    Person,
)
from safezone.exposure.models import (
    ExportBatch,
    ExportFile,
    ExposureKey,
    SigningKey,
    Upload,
    UsedCertificate,
    VerificationCode,
    VerificationToken,
)
from safezone.jobs.models import Job
from safezone.ratelimit import RateCounter
from safezone.units.models import Unit

__all__ = [
    "ApiToken",
    "AuditEvent",
    "DailyUpdate",
    "Declaration",
    "ExportBatch",
    "ExportFile",
    "ExposureKey",
    "FollowUp",
    "IdempotencyRecord",
    "Job",
    "PassRecord",
    "Person",
    "RateCounter",
    "SigningKey",
    "Unit",
    "Upload",
    "UsedCertificate",
    "User",
    "UserSession",
    "VerificationCode",
    "VerificationToken",
]
