"""Tables of health declarations.

Personal and health data live in ``*_enc`` columns only; each table's ``__personal__`` says
which, and :class:`safezone.vault.Vault` is the one place that seals and opens them. Plain
columns hold only what queues, triage, statistics and retention must query: unit, dates, risk,
declaration type, symptom codes and the four exposure answers (see docs/declarations.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from safezone.db.base import Base, utcnow
from safezone.declarations.vocabulary import EXPOSURES
from safezone.vault import Personal


def pack_codes(codes: list[str] | tuple[str, ...]) -> str:
    """``["fever", "cough"]`` -> ``",fever,cough,"``: a LIKE ``'%,fever,%'`` finds one code on
    SQLite and PostgreSQL alike, without dialect-specific JSON operators."""
    return "," + ",".join(codes) + "," if codes else ""


def unpack_codes(packed: str) -> list[str]:
    """The inverse of :func:`pack_codes`."""
    return [code for code in packed.split(",") if code]


class Person(Base):
    """Someone who declared. Name, identity number, phone, street and email are encrypted;
    identity number and phone also have an HMAC blind index for exact lookup.

    A submission without proof always gets a person of its own: several persons may carry the
    same identity number (staff see them flagged). Declarations share a person only when the
    later one proved it holds the earlier one's update token.
    """

    __tablename__ = "decl_persons"
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("full_name", "full_name_enc"),
        Personal("id_number", "id_number_enc", index="id_index"),
        Personal("phone", "phone_enc", index="phone_index"),
        Personal("street", "street_enc"),
        Personal("email", "email_enc"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code", ondelete="RESTRICT"))
    full_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
    street_enc: Mapped[bytes] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_kind: Mapped[str] = mapped_column(String(12))
    id_index: Mapped[str] = mapped_column(String(64), index=True)
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
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("travel", "travel_enc", kind="json", legacy="travel", legacy_blank=[]),
        Personal(
            "conditions",
            "conditions_enc",
            kind="json",
            legacy="conditions",
            from_legacy=unpack_codes,
            legacy_blank="",
        ),
    )

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
    # Before revision 0006 these two held plaintext; now always empty (see ``__personal__``).
    travel: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conditions: Mapped[str] = mapped_column(String(300), default="")
    travel_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    conditions_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
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
    def exposures(self) -> dict[str, bool]:
        """The four exposure answers by their API names."""
        return {name: bool(getattr(self, f"exposure_{name}")) for name in EXPOSURES}


class DailyUpdate(Base):
    """A daily health update: at most one per person per day."""

    __tablename__ = "decl_daily_updates"
    __table_args__ = (UniqueConstraint("person_id", "day"),)
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal(
            "daily_statuses",
            "statuses_enc",
            kind="json",
            legacy="statuses",
            from_legacy=unpack_codes,
            legacy_blank="",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("decl_persons.id", ondelete="CASCADE"))
    declaration_id: Mapped[int] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE"), index=True
    )
    day: Mapped[dt.date] = mapped_column(index=True)
    statuses: Mapped[str] = mapped_column(String(100), default="")  # plaintext before 0006
    statuses_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FollowUp(Base):
    """A Go.Data-style daily follow-up by health staff: one per declaration per day."""

    __tablename__ = "decl_followups"
    __table_args__ = (UniqueConstraint("declaration_id", "day"),)
    __personal__: ClassVar[tuple[Personal, ...]] = (Personal("followup_note", "note_enc"),)

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
    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("idempotency_response", "response_enc"),
    )

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    # Empty while the first request is still running (the key is claimed before the insert).
    declaration_id: Mapped[int | None] = mapped_column(
        ForeignKey("declarations.id", ondelete="CASCADE")
    )
    response_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class PassRecord(Base):
    """A QR pass that was issued: the register behind the public revocation list.

    No personal data: a random serial, the declaration it belongs to, its lifetime and risk.
    No foreign key on purpose: a revoked pass must stay listed until it expires, even if
    retention has deleted its declaration meanwhile.
    """

    __tablename__ = "decl_passes"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)  # 16 random bytes, hex
    declaration_id: Mapped[int] = mapped_column(index=True)
    risk: Mapped[str] = mapped_column(String(6))
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # risk_raised, replaced, link_withdrawn, outcome: kept for staff, never published.
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
