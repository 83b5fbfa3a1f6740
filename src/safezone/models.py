"""Every ORM table of the project, imported so the metadata is complete (Alembic, tests)."""

from safezone.accounts.models import ApiToken, AuditEvent, User, UserSession
from safezone.campaign.materials.models import (
    BroadcastAiring,
    BroadcastSchedule,
    BroadcastScript,
    CampaignReport,
    ReportRecipient,
)
from safezone.campaign.models import (
    AdoptionFigure,
    CampaignApp,
    Household,
    Organisation,
    OrganisationReport,
    OrganisationReporter,
    SmartphoneRatio,
    Target,
    Team,
    TeamArea,
    TeamMember,
    Visit,
    VisitApp,
)
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
    "AdoptionFigure",
    "ApiToken",
    "AuditEvent",
    "BroadcastAiring",
    "BroadcastSchedule",
    "BroadcastScript",
    "CampaignApp",
    "CampaignReport",
    "DailyUpdate",
    "Declaration",
    "ExportBatch",
    "ExportFile",
    "ExposureKey",
    "FollowUp",
    "Household",
    "IdempotencyRecord",
    "Job",
    "Organisation",
    "OrganisationReport",
    "OrganisationReporter",
    "PassRecord",
    "Person",
    "RateCounter",
    "ReportRecipient",
    "SigningKey",
    "SmartphoneRatio",
    "Target",
    "Team",
    "TeamArea",
    "TeamMember",
    "Unit",
    "Upload",
    "UsedCertificate",
    "User",
    "UserSession",
    "VerificationCode",
    "VerificationToken",
    "Visit",
    "VisitApp",
]
