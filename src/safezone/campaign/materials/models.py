"""Tables of the campaign's materials: broadcast schedules, scripts with audio, airing log,
generated reports (kept with history) and their e-mail recipients."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow


def _enum(cls: type[enum.StrEnum], length: int = 10) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class BroadcastSchedule(Base):
    """When a commune's loudspeakers air the campaign message, and the script they read."""

    __tablename__ = "campaign_broadcast_schedules"

    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="CASCADE"), primary_key=True
    )
    #: Local times of day, "06:00,17:30".
    times: Mapped[str] = mapped_column(String(100), default="06:00,17:00")
    #: ISO weekdays aired, "1234567" (1 = Monday).
    weekdays: Mapped[str] = mapped_column(String(7), default="1234567")
    #: The script template; empty: the default (broadcasts.DEFAULT_TEMPLATE).
    template: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AudioSource(enum.StrEnum):
    """Where a script's audio came from."""

    SYNTHETIC = "synthetic"  # espeak-ng's Vietnamese voice
    RECORDED = "recorded"  # a reading uploaded by the commune


class BroadcastScript(Base):
    """A script as filled with the figures of one moment, with its audio.

    A new row is written when the text changes (the figures moved); the latest is the current.
    """

    __tablename__ = "campaign_broadcast_scripts"
    __table_args__ = (
        UniqueConstraint("unit_code", "digest"),
        Index("ix_campaign_broadcast_scripts_unit_created", "unit_code", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the text: the same figures give the same script, stored once.
    digest: Mapped[str] = mapped_column(String(64))
    audio: Mapped[bytes | None] = mapped_column(LargeBinary)
    audio_mime: Mapped[str] = mapped_column(String(30), default="audio/mpeg")
    audio_source: Mapped[AudioSource] = mapped_column(
        _enum(AudioSource), default=AudioSource.SYNTHETIC
    )
    duration_seconds: Mapped[float | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BroadcastAiring(Base):
    """A commune's confirmation that a scheduled broadcast was aired."""

    __tablename__ = "campaign_broadcast_airings"
    __table_args__ = (UniqueConstraint("unit_code", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"), index=True)
    #: The scheduled slot confirmed (UTC); confirming the same slot twice keeps one row.
    slot: Mapped[dt.datetime]
    script_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_broadcast_scripts.id", ondelete="SET NULL")
    )
    aired: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(String(300), default="")
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReportPeriod(enum.StrEnum):
    """How much time a report covers."""

    DAY = "day"
    WEEK = "week"


class ReportFormat(enum.StrEnum):
    """A report file's format."""

    XLSX = "xlsx"
    PDF = "pdf"


class CampaignReport(Base):
    """A generated report file; every period's report is kept (the history)."""

    __tablename__ = "campaign_reports"
    __table_args__ = (
        UniqueConstraint("unit_code", "period", "period_end", "format"),
        CheckConstraint("period_start <= period_end", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"), index=True)
    period: Mapped[ReportPeriod] = mapped_column(_enum(ReportPeriod))
    period_start: Mapped[dt.date]
    period_end: Mapped[dt.date]
    format: Mapped[ReportFormat] = mapped_column(_enum(ReportFormat))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    #: The headline figures as JSON, for "change since the last report".
    summary: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[dt.datetime | None]


class ReportRecipient(Base):
    """An address a unit's reports are e-mailed to (a work address, e.g. the Department's)."""

    __tablename__ = "campaign_report_recipients"
    __table_args__ = (UniqueConstraint("unit_code", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
