"""Tables of health declarations. Personal data lives in ``*_enc`` columns (AES-GCM) only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safezone.db.base import Base, utcnow


def pack_codes(codes: list[str] | tuple[str, ...]) -> str:
    """``["fever", "cough"]`` -> ``",fever,cough,"``: a LIKE ``'%,fever,%'`` finds one code on
    SQLite and PostgreSQL alike, without dialect-specific JSON operators."""
    return "," + ",".join(codes) + "," if codes else ""


def unpack_codes(packed: str) -> list[str]:
    """The inverse of :func:`pack_codes`."""
    return [code for code in packed.split(",") if code]


class Person(Base):
    """Someone who declared. Name, identity number, phone, street and email are encrypted;
    identity number and phone also have an HMAC blind index for exact lookup."""

    __tablename__ = "decl_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    full_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    street_enc: Mapped[bytes] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_kind: Mapped[str] = mapped_column(String(12))
    id_index: Mapped[str] = mapped_column(String(64), unique=True)
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    birth_year: Mapped[int]
    birth_date: Mapped[dt.date | None]
    gender: Mapped[str] = mapped_column(String(10))
    nationality: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Declaration(Base):
    """One health declaration, with its triage result, assignment and follow-up outcome."""

    __tablename__ = "declarations"
    __table_args__ = (Index("ix_declarations_unit_day", "unit_code", "declared_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("decl_persons.id", ondelete="CASCADE"), index=True
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    declaration_type: Mapped[str] = mapped_column(String(20))
    symptoms: Mapped[str] = mapped_column(String(200), default="")  # packed codes
    exposure_confirmed_case: Mapped[bool] = mapped_column(default=False)
    exposure_suspected_case: Mapped[bool] = mapped_column(default=False)
    exposure_returned_from_outbreak_area: Mapped[bool] = mapped_column(default=False)
    exposure_visited_health_facility: Mapped[bool] = mapped_column(default=False)
    travel: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conditions: Mapped[str] = mapped_column(String(300), default="")  # packed codes
    pledge: Mapped[bool]
    risk: Mapped[str] = mapped_column(String(6), index=True)
    declared_on: Mapped[dt.date] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # Only the SHA-256 of the citizen's update token; revoked tokens stay to answer "revoked".
    update_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_revoked_at: Mapped[dt.datetime | None]
    assigned_unit_code: Mapped[str | None] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    assigned_at: Mapped[dt.datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_at: Mapped[dt.datetime | None]

    person: Mapped[Person] = relationship(lazy="joined")

    @property
    def symptom_list(self) -> list[str]:
        """The symptom codes."""
        return unpack_codes(self.symptoms)

    @property
    def condition_list(self) -> list[str]:
        """The condition codes."""
        return unpack_codes(self.conditions)

    @property
    def exposures(self) -> dict[str, bool]:
        """The four exposure answers by their API names."""
        return {
            "confirmed_case": self.exposure_confirmed_case,
            "suspected_case": self.exposure_suspected_case,
            "returned_from_outbreak_area": self.exposure_returned_from_outbreak_area,
            "visited_health_facility": self.exposure_visited_health_facility,
        }


class DailyUpdate(Base):
    """A daily health update: at most one per person per day."""

    __tablename__ = "decl_daily_updates"
    __table_args__ = (UniqueConstraint("person_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("decl_persons.id", ondelete="CASCADE"))
    declaration_id: Mapped[int] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(index=True)
    statuses: Mapped[str] = mapped_column(String(100))  # packed codes
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def status_list(self) -> list[str]:
        """The status codes."""
        return unpack_codes(self.statuses)


class FollowUp(Base):
    """A Go.Data-style daily follow-up by health staff: one per declaration per day."""

    __tablename__ = "decl_followups"
    __table_args__ = (UniqueConstraint("declaration_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    declaration_id: Mapped[int] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"))
    day: Mapped[dt.date]
    status: Mapped[str] = mapped_column(String(20))
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # free text may hold health data
    actor: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdempotencyRecord(Base):
    """The first answer to a POST with an ``Idempotency-Key``, replayed to retries.

    The answer holds the update token, so it is stored encrypted; the key and the request body
    are stored as hashes, and a retry must send the same body to get the answer back.
    """

    __tablename__ = "decl_idempotency"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Empty while the first request is still running (the key is claimed before the insert).
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE")
    )
    response_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
