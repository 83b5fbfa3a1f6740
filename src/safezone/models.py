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
from safezone.messaging.channels.models import ChannelDay, GatewayEvent, ZnsToken
from safezone.messaging.models import (
    Contact,
    ContactApp,
    Link,
    Message,
    SendCampaign,
    Template,
)
from safezone.ratelimit import RateCounter
from safezone.sim.models import SimRun
from safezone.units.boundaries import UnitBoundary
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
    "ChannelDay",
    "Contact",
    "ContactApp",
    "DailyUpdate",
    "Declaration",
    "ExportBatch",
    "ExportFile",
    "ExposureKey",
    "FollowUp",
    "GatewayEvent",
    "Household",
    "IdempotencyRecord",
    "Job",
    "Link",
    "Message",
    "Organisation",
    "OrganisationReport",
    "OrganisationReporter",
    "PassRecord",
    "Person",
    "RateCounter",
    "ReportRecipient",
    "SendCampaign",
    "SigningKey",
    "SimRun",
    "SmartphoneRatio",
    "Target",
    "Team",
    "TeamArea",
    "TeamMember",
    "Template",
    "Unit",
    "UnitBoundary",
    "Upload",
    "UsedCertificate",
    "User",
    "UserSession",
    "VerificationCode",
    "VerificationToken",
    "Visit",
    "VisitApp",
    "ZnsToken",
]
