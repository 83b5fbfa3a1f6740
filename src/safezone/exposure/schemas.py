"""JSON shapes of the staff and file endpoints of the exposure server (the phone-facing shapes
are in :mod:`safezone.exposure.wire`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class CodeIn(BaseModel):
    """``POST /api/v1/verification/codes`` (staff)."""

    model_config = ConfigDict(extra="forbid")

    test_type: str = Field(max_length=12, description="confirmed, likely or negative")
    test_date: dt.date | None = None
    symptom_date: dt.date | None = None
    unit_code: str = Field(max_length=16)


class CodeOut(BaseModel):
    """A code pair, returned once when issued (the server keeps only HMACs)."""

    id: int
    unit_code: str
    test_type: str
    test_date: dt.date | None
    symptom_date: dt.date | None
    short_code: str
    short_expires_at: dt.datetime
    long_code: str
    long_expires_at: dt.datetime


class CodeStatusOut(BaseModel):
    """A code's status (never the code itself)."""

    id: int
    unit_code: str
    test_type: str
    status: str
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    revoked_at: dt.datetime | None
    long_expires_at: dt.datetime


class SigningKeyOut(BaseModel):
    """A public key phones and app stores need to verify export files."""

    keyId: str  # noqa: N815
    keyVersion: str  # noqa: N815
    algorithm: str
    publicKey: str = Field(description="base64 DER SubjectPublicKeyInfo")  # noqa: N815
    publicKeyPem: str  # noqa: N815
    createdAt: dt.datetime  # noqa: N815
    retiresAt: dt.datetime | None = None  # noqa: N815
