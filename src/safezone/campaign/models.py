"""The campaign's tables.

Two halves share this module: what the campaign measures (apps, targets, adoption figures,
organisations and their reports) and the door-to-door drive (households, teams, visits).
Household names, addresses and phone numbers are personal data: they live in ``*_enc`` columns
sealed by :class:`safezone.vault.Vault`, as declarations do.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import ClassVar

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow
from safezone.vault import Personal


def _enum(cls: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


# --- what the campaign measures -------------------------------------------------------------------


class CampaignApp(Base):
    """An app the campaign promotes (the directive's NCOVI and Bluezone, safezone's own form)."""

    __tablename__ = "campaign_apps"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    purpose_vi: Mapped[str] = mapped_column(String(300), default="")
    purpose_en: Mapped[str] = mapped_column(String(300), default="")
    android_url: Mapped[str] = mapped_column(String(300), default="")
    ios_url: Mapped[str] = mapped_column(String(300), default="")
    # The national operator publishes per-commune counts for some apps only.
    countable_per_unit: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)


class TargetBase(enum.StrEnum):
    """What a target's share is a share of."""

    POPULATION = "population"
    SMARTPHONE_USERS = "smartphone_users"


class Target(Base):
    """A unit's target for one app; units without a row inherit their nearest ancestor's."""

    __tablename__ = "campaign_targets"
    __table_args__ = (
        UniqueConstraint("unit_code", "app_code"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"))
    app_code: Mapped[str] = mapped_column(ForeignKey("campaign_apps.code", ondelete="CASCADE"))
    base: Mapped[TargetBase] = mapped_column(_enum(TargetBase))
    share: Mapped[float]
    deadline: Mapped[dt.date | None]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SmartphoneRatio(Base):
    """Share of a unit's population with a smartphone, where known better than the default."""

    __tablename__ = "campaign_smartphone_ratios"
    __table_args__ = (CheckConstraint("ratio > 0 AND ratio <= 1", name="ratio"),)

    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="CASCADE"), primary_key=True
    )
    ratio: Mapped[float]


class FigureSource(enum.StrEnum):
    """Where an adoption figure came from (see docs/campaign.md for the counting rule)."""

    OFFICIAL = "official"  # imported count from the app's operator
    FIELD = "field"  # door-to-door visits
    ORGANISATION = "organisation"  # organisations' self-reports
    SAFEZONE = "safezone"  # people with a declaration in the last 14 days


class AdoptionFigure(Base):
    """One install count for a unit, app and day, as one source gave it; history is kept.

    A later figure for the same unit, app, source and day supersedes the earlier one
    (``superseded_at``) rather than overwriting it.
    """

    __tablename__ = "campaign_figures"
    __table_args__ = (
        CheckConstraint("installs >= 0", name="installs"),
        CheckConstraint("smartphone_users IS NULL OR smartphone_users >= 0", name="smartphones"),
        Index("ix_campaign_figures_current", "app_code", "source", "unit_code", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"))
    app_code: Mapped[str] = mapped_column(ForeignKey("campaign_apps.code", ondelete="CASCADE"))
    source: Mapped[FigureSource] = mapped_column(_enum(FigureSource))
    installs: Mapped[int]
    smartphone_users: Mapped[int | None]
    as_of: Mapped[dt.date]
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    #: The import (file digest) or report that produced the figure.
    origin: Mapped[str] = mapped_column(String(100), default="")
    superseded_at: Mapped[dt.datetime | None]


class OrganisationKind(enum.StrEnum):
    """The kinds of organisation the directive names."""

    AGENCY = "agency"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    MASS_ORGANISATION = "mass_organisation"
    HEALTH_FACILITY = "health_facility"


class Organisation(Base):
    """An agency, school, enterprise, mass organisation or health facility in a unit."""

    __tablename__ = "campaign_organisations"
    __table_args__ = (
        CheckConstraint("headcount >= 0", name="headcount"),
        CheckConstraint("target_share > 0 AND target_share <= 1", name="target_share"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationKind] = mapped_column(_enum(OrganisationKind))
    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    headcount: Mapped[int] = mapped_column(default=0)
    # A work contact (office name and phone), not a citizen's personal data.
    contact_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    target_share: Mapped[float] = mapped_column(default=1.0)
    report_every_days: Mapped[int] = mapped_column(default=7)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrganisationReport(Base):
    """An organisation's self-report of headcount and installs of one app on one day."""

    __tablename__ = "campaign_org_reports"
    __table_args__ = (
        UniqueConstraint("organisation_id", "app_code", "as_of"),
        CheckConstraint("installs >= 0 AND installs <= headcount", name="installs"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_organisations.id", ondelete="CASCADE")
    )
    app_code: Mapped[str] = mapped_column(ForeignKey("campaign_apps.code", ondelete="CASCADE"))
    as_of: Mapped[dt.date]
    headcount: Mapped[int]
    installs: Mapped[int]
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OrganisationReporter(Base):
    """Binds an ``org_reporter`` account to the one organisation it reports for."""

    __tablename__ = "campaign_org_reporters"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_organisations.id", ondelete="CASCADE"), index=True
    )


# --- the door-to-door drive -----------------------------------------------------------------------


class Household(Base):
    """A household on a commune's (or village's) list; who lives there is sealed personal data."""

    __tablename__ = "campaign_households"
    __table_args__ = (
        CheckConstraint("members >= 0", name="members"),
        Index("ix_campaign_households_unit_volunteer", "unit_code", "volunteer_id"),
    )
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("head_name", "head_name_enc"),
        Personal("address", "address_enc"),
        Personal("phone", "phone_enc", index="phone_index"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The commune, or the village/residential group (level 4) where the commune has them.
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    members: Mapped[int] = mapped_column(default=1)
    head_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Blind digest of the normalised imported row: importing the same file twice adds nothing.
    import_key: Mapped[str] = mapped_column(String(64), unique=True)
    volunteer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: When the household is due a (re)visit; None once no more visits are planned.
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    not_home_tries: Mapped[int] = mapped_column(default=0)
    #: Why the household is due: first visit, revisit after "not home", follow-up after "later".
    due_reason: Mapped[str | None] = mapped_column(String(12))
    #: Follow-up visits already planned after a "will install later" answer.
    follow_ups: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Team(Base):
    """A volunteer team (a Youth Union branch)."""

    __tablename__ = "campaign_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TeamArea(Base):
    """A unit (commune or village) a team is assigned to."""

    __tablename__ = "campaign_team_areas"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_teams.id", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="CASCADE"), primary_key=True
    )


class TeamMember(Base):
    """A volunteer's membership of a team."""

    __tablename__ = "campaign_team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class VisitOutcome(enum.StrEnum):
    """Whether anyone opened the door."""

    HOME = "home"
    NOT_HOME = "not_home"


class AppResult(enum.StrEnum):
    """What happened for one app at a visit."""

    ALREADY_INSTALLED = "already_installed"
    INSTALLED_WITH_HELP = "installed_with_help"
    REFUSED = "refused"
    NO_SMARTPHONE = "no_smartphone"
    LATER = "later"


class Visit(Base):
    """One knock on a household's door, recorded (possibly offline) by a volunteer."""

    __tablename__ = "campaign_visits"
    __table_args__ = (
        CheckConstraint("people_home >= 0 AND smartphones >= 0", name="counts"),
        Index("ix_campaign_visits_household", "household_id", "visited_at"),
    )
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("reminder_phone", "reminder_phone_enc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Generated on the volunteer's phone: syncing the same visit twice stores it once.
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    household_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_households.id", ondelete="CASCADE")
    )
    volunteer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: Denormalised from the household so roll-ups need no join through personal tables.
    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    visited_at: Mapped[dt.datetime]
    outcome: Mapped[VisitOutcome] = mapped_column(_enum(VisitOutcome))
    people_home: Mapped[int] = mapped_column(default=0)
    smartphones: Mapped[int] = mapped_column(default=0)
    consent_reminders: Mapped[bool] = mapped_column(default=False)
    reminder_phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: When and how the consent to reminders was given (messaging needs both as proof).
    consent_at: Mapped[dt.datetime | None]
    consent_source: Mapped[str] = mapped_column(String(40), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VisitApp(Base):
    """The result of a visit for one app."""

    __tablename__ = "campaign_visit_apps"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_visits.id", ondelete="CASCADE"), primary_key=True
    )
    app_code: Mapped[str] = mapped_column(
        ForeignKey("campaign_apps.code", ondelete="CASCADE"), primary_key=True
    )
    result: Mapped[AppResult] = mapped_column(_enum(AppResult))
