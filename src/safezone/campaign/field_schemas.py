"""JSON shapes of the door-to-door drive: visits synced from the volunteer app, walk lists,
teams and volunteer progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from safezone.campaign.models import AppResult, VisitOutcome

MAX_ROW_ID = 2**31 - 1
#: A visit's id, made on the phone (crypto.randomUUID(), or any 8-36 of hex digits and dashes).
ClientId = Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{8,36}$", min_length=8, max_length=36)]
SMALL_COUNT = 100
MAX_BATCH = 200


class VisitAppIn(BaseModel):
    """What happened for one app."""

    model_config = ConfigDict(extra="forbid")

    app_code: str = Field(min_length=1, max_length=16)
    result: AppResult


class VisitIn(BaseModel):
    """One visit as the volunteer's phone recorded it."""

    model_config = ConfigDict(extra="forbid")

    client_id: ClientId
    household_id: int = Field(ge=1, le=MAX_ROW_ID)
    visited_at: dt.datetime
    outcome: VisitOutcome
    people_home: int = Field(default=0, ge=0, le=SMALL_COUNT)
    smartphones: int = Field(default=0, ge=0, le=SMALL_COUNT)
    apps: list[VisitAppIn] = Field(default_factory=list, max_length=10)
    consent_reminders: bool = False
    reminder_phone: str | None = Field(default=None, max_length=30)

    @field_validator("visited_at")
    @classmethod
    def _aware(cls, value: dt.datetime) -> dt.datetime:
        if value.tzinfo is None:
            raise ValueError("visited_at needs a time zone (e.g. 2026-11-30T09:15:00+07:00)")
        return value.astimezone(dt.UTC)


class SyncIn(BaseModel):
    """A batch of queued visits."""

    model_config = ConfigDict(extra="forbid")

    visits: list[VisitIn] = Field(max_length=MAX_BATCH)


class ErrorOut(BaseModel):
    """One problem, in both languages."""

    field: str | None
    code: str
    message_vi: str
    message_en: str


class SyncItem(BaseModel):
    """What became of one synced visit."""

    client_id: str
    status: Literal["stored", "unchanged", "corrected", "rejected"]
    visit_id: int | None = None
    errors: list[ErrorOut] = Field(default_factory=list)


class SyncOut(BaseModel):
    """What became of a batch: one item per visit sent, in order, and the counts."""

    results: list[SyncItem]
    stored: int
    unchanged: int
    corrected: int
    rejected: int


class WalkVisit(BaseModel):
    """A visit already made today (it can still be corrected)."""

    client_id: str
    visited_at: dt.datetime
    outcome: VisitOutcome


class WalkItem(BaseModel):
    """A household on a volunteer's walk list."""

    household_id: int
    unit_code: str
    unit_name: str
    head_name: str | None
    address: str | None
    members: int
    due_on: dt.date | None
    reason: str | None
    not_home_tries: int
    visited_today: list[WalkVisit]


class WalkList(BaseModel):
    """A volunteer's households for the day."""

    day: dt.date
    volunteer: str
    households: list[WalkItem]


class TeamIn(BaseModel):
    """A team: its name, unit, areas (units) and members (volunteer usernames)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    unit_code: str = Field(min_length=1, max_length=16)
    areas: list[Annotated[str, Field(min_length=1, max_length=16)]] = Field(max_length=200)
    members: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=500)


class TeamOut(BaseModel):
    """A team as listed."""

    id: int
    name: str
    unit_code: str
    areas: list[str]
    members: list[str]
    households: int


class DistributeOut(BaseModel):
    """How many households were just dealt to the team's volunteers."""

    assigned: int


class ProgressRow(BaseModel):
    """One volunteer's progress."""

    volunteer: str
    unit_code: str
    households: int
    visited: int
    visits: int
    not_home: int
    installs_helped: int
    consents: int
    revisits_due: int


class ProgressOut(BaseModel):
    """Every volunteer in scope, and the totals."""

    day: dt.date
    rows: list[ProgressRow]
    total: ProgressRow
