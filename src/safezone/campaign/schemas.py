"""Pydantic shapes of the campaign's JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safezone.campaign.coverage import Coverage


class CoverageOut(BaseModel):
    """A unit's coverage of one app (see ``safezone.campaign.coverage.Coverage``)."""

    unit_code: str
    unit_name: str
    level: str
    app_code: str
    population: int
    smartphone_users: int
    installs: int
    source: str = Field(description="official, field, safezone, mixed (roll-ups) or none")
    as_of: dt.date
    latest_figure: dt.date | None
    share_population: float | None
    share_smartphones: float | None
    target_share: float | None
    target_base: str | None
    deadline: dt.date | None
    behind: bool
    gap: int = Field(description="installs still missing to reach the target")

    @classmethod
    def of(cls, c: Coverage) -> CoverageOut:
        """From the service's dataclass."""
        return cls(
            unit_code=c.unit_code,
            unit_name=c.unit_name,
            level=c.level,
            app_code=c.app_code,
            population=c.population,
            smartphone_users=c.smartphone_users,
            installs=c.installs,
            source=c.source,
            as_of=c.as_of,
            latest_figure=c.latest_figure,
            share_population=c.share_population,
            share_smartphones=c.share_smartphones,
            target_share=c.target_share,
            target_base=c.target_base,
            deadline=c.deadline,
            behind=c.behind,
            gap=c.gap,
        )


class CoverageTree(BaseModel):
    """A unit's coverage and its children's."""

    unit: CoverageOut
    children: list[CoverageOut]


class TrendPoint(BaseModel):
    """One day of a unit's trend."""

    day: dt.date
    installs: int
    share: float | None
    target_share: float | None


class AppOut(BaseModel):
    """A campaign app."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    purpose_vi: str
    purpose_en: str
    android_url: str
    ios_url: str
    countable_per_unit: bool
    active: bool
    position: int


class AppUpdate(BaseModel):
    """Changes to an app's catalogue entry (admins)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    purpose_vi: str | None = Field(default=None, max_length=300)
    purpose_en: str | None = Field(default=None, max_length=300)
    android_url: str | None = Field(default=None, max_length=300)
    ios_url: str | None = Field(default=None, max_length=300)
    countable_per_unit: bool | None = None
    active: bool | None = None
    position: int | None = Field(default=None, ge=0, le=1000)


class TargetIn(BaseModel):
    """A unit's own target for an app."""

    model_config = ConfigDict(extra="forbid")

    unit_code: str = Field(min_length=1, max_length=16)
    app_code: str = Field(min_length=1, max_length=16)
    share: float = Field(gt=0, le=1)
    base: Literal["population", "smartphone_users"] = "population"
    deadline: dt.date | None = None


class TargetOut(BaseModel):
    """A target as set on a unit."""

    model_config = ConfigDict(from_attributes=True)

    unit_code: str
    app_code: str
    share: float
    base: str
    deadline: dt.date | None


class RatioIn(BaseModel):
    """A unit's smartphone ratio (null removes it)."""

    model_config = ConfigDict(extra="forbid")

    ratio: float | None = Field(default=None, gt=0, le=1)


class OrganisationOut(BaseModel):
    """An organisation of the registry."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: str
    unit_code: str
    headcount: int
    contact_name: str
    contact_phone: str
    target_share: float
    report_every_days: int


class ReportIn(BaseModel):
    """An organisation's report of headcount and installs of one app on one day."""

    model_config = ConfigDict(extra="forbid")

    app_code: str = Field(min_length=1, max_length=16)
    as_of: dt.date
    headcount: int = Field(ge=0, le=1_000_000)
    installs: int = Field(ge=0, le=1_000_000)


class ReportOut(BaseModel):
    """A stored organisation report."""

    model_config = ConfigDict(from_attributes=True)

    organisation_id: int
    app_code: str
    as_of: dt.date
    headcount: int
    installs: int


class ComplianceOut(BaseModel):
    """An organisation's latest report against its target."""

    organisation_id: int
    code: str
    name: str
    kind: str
    unit_code: str
    headcount: int
    installs: int | None
    share: float | None
    target_share: float
    last_report: dt.date | None
    overdue: bool
    below_target: bool


class ImportOut(BaseModel):
    """What an import did."""

    total: int
    created: int
    updated: int
    unchanged: int
    skipped: int


class RefreshOut(BaseModel):
    """Derived figures written by a refresh."""

    field: int
    safezone: int
