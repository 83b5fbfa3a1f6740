"""Tables of the exposure-notification server.

Nothing here identifies a person or a phone: codes and tokens are stored only as HMACs, keys
carry no unit, no address and no device id, and upload rows hold a day and a count.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow
from safezone.en.crypto import KEY_LENGTH


class VerificationCode(Base):
    """A one-time code a health worker gives a person with a test result.

    Two codes are issued together (short: 8 digits, long: 16 characters); either can be used,
    once. Only their HMACs are stored, so a database dump reveals no usable code.
    """

    __tablename__ = "exposure_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_code: Mapped[str] = mapped_column(
        ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    issued_by: Mapped[str | None] = mapped_column(String(64))
    test_type: Mapped[str] = mapped_column(String(12))  # confirmed | likely | negative
    test_date: Mapped[dt.date | None] = mapped_column(Date)
    symptom_date: Mapped[dt.date | None] = mapped_column(Date)
    short_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    long_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    short_expires_at: Mapped[dt.datetime]
    long_expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    claimed_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class VerificationToken(Base):
    """The token a phone got for a code; exchanged once for a certificate (HMAC stored)."""

    __tablename__ = "exposure_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("exposure_codes.id", ondelete="SET NULL"), index=True
    )
    test_type: Mapped[str] = mapped_column(String(12))
    test_date: Mapped[dt.date | None] = mapped_column(Date)
    symptom_date: Mapped[dt.date | None] = mapped_column(Date)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UsedCertificate(Base):
    """A certificate already used to publish (its SHA-256), kept until it expires: no replay."""

    __tablename__ = "exposure_used_certificates"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ExposureKey(Base):
    """A published diagnosis key.

    ``created_at`` is when the key becomes available for export: the upload time truncated to
    the export window, or later for keys still valid at upload (embargo). It is never the
    exact upload time, so the order of uploads cannot be reconstructed.
    """

    __tablename__ = "exposure_keys"
    __table_args__ = (
        Index("ix_exposure_keys_export", "region", "created_at"),
        Index("ix_exposure_keys_revised", "region", "revised_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key_data: Mapped[bytes] = mapped_column(LargeBinary(KEY_LENGTH), unique=True)
    region: Mapped[str] = mapped_column(String(16))
    health_authority: Mapped[str] = mapped_column(String(64))
    rolling_start: Mapped[int]
    rolling_period: Mapped[int]
    transmission_risk: Mapped[int]
    report_type: Mapped[int]  # safezone.en.keys.ReportType
    days_since_onset: Mapped[int | None]
    traveler: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime]
    revised_report_type: Mapped[int | None]
    revised_transmission_risk: Mapped[int | None]
    revised_days_since_onset: Mapped[int | None]
    revised_at: Mapped[dt.datetime | None]


class Upload(Base):
    """One accepted publish request, for statistics: a day and counts, nothing else."""

    __tablename__ = "exposure_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    keys: Mapped[int]
    revised: Mapped[int] = mapped_column(default=0)


class SigningKey(Base):
    """An ECDSA P-256 key signing export files; the private key is encrypted with the secret."""

    __tablename__ = "exposure_signing_keys"
    __table_args__ = (UniqueConstraint("key_id", "key_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    key_version: Mapped[str] = mapped_column(String(16))
    public_key_der: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retires_at: Mapped[dt.datetime | None]  # stops signing from then on (after a rotation)


class ExportBatch(Base):
    """One region's export window; ``completed_at`` is set once its files are written."""

    __tablename__ = "exposure_export_batches"
    __table_args__ = (UniqueConstraint("region", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime] = mapped_column(index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]


class ExportFile(Base):
    """A signed file of a batch (``batch_num`` of ``batch_size``), stored at ``path``."""

    __tablename__ = "exposure_export_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("exposure_export_batches.id", ondelete="CASCADE"), index=True
    )
    region: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200), unique=True)
    batch_num: Mapped[int]
    batch_size: Mapped[int]
    keys: Mapped[int]  # real keys (and revised keys) in the file
    padding_keys: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class ExposureApp(Base):
    """An app allowed to call verify and certificate (Google's "authorized app").

    Only the SHA-256 of its API key is stored (the key is 256 random bits, so a plain hash is
    enough and survives secret-key rotation); ``key_hint`` is the key's first characters, so an
    admin can tell keys apart.
    """

    __tablename__ = "exposure_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
