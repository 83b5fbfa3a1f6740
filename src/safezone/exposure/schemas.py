"""JSON shapes of the exposure endpoints (phone-facing names follow the reference servers)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

_MAX_TEXT = 8192


class ExposureKeyIn(BaseModel):
    """One temporary exposure key as a phone uploads it."""

    model_config = ConfigDict(extra="ignore")

    key: StrictStr = Field(max_length=64, description="base64 of the 16-byte key")
    rollingStartNumber: StrictInt = Field(description="ENIntervalNumber the key starts")  # noqa: N815
    rollingPeriod: StrictInt = Field(description="Intervals the key is valid, 1..144")  # noqa: N815
    transmissionRisk: StrictInt = Field(  # noqa: N815
        default=0, description="0..8; 0 = fill in from the report type"
    )


class PublishIn(BaseModel):
    """The publish request of Google's exposure-notifications-server (v1 API)."""

    model_config = ConfigDict(extra="ignore")

    temporaryExposureKeys: list[ExposureKeyIn] = Field(max_length=1000)  # noqa: N815
    healthAuthorityID: StrictStr = Field(max_length=128)  # noqa: N815
    verificationPayload: StrictStr = Field(default="", max_length=_MAX_TEXT)  # noqa: N815
    hmacKey: StrictStr = Field(default="", max_length=256)  # noqa: N815
    symptomOnsetInterval: StrictInt = 0  # noqa: N815
    traveler: StrictBool = False
    revisionToken: StrictStr = Field(default="", max_length=_MAX_TEXT)  # noqa: N815
    padding: StrictStr = Field(default="", max_length=64 * 1024)


class PublishOut(BaseModel):
    """The publish answer: success fields or ``error`` + ``code`` (and always ``padding``)."""

    revisionToken: str | None = None  # noqa: N815
    insertedExposures: int | None = None  # noqa: N815
    error: str | None = None
    code: str | None = None
    warnings: list[str] | None = None
    padding: str = ""


class VerifyIn(BaseModel):
    """``POST /api/v1/verify``: exchange a code for a token."""

    model_config = ConfigDict(extra="ignore")

    code: StrictStr = Field(max_length=64)
    powChallenge: StrictStr = Field(  # noqa: N815
        default="", max_length=256, description="a challenge from a 428 answer, once solved"
    )
    powSolution: StrictStr = Field(  # noqa: N815
        default="",
        max_length=32,
        description="a string with SHA-256(powChallenge ':' powSolution) starting with powBits "
        "zero bits",
    )
    padding: StrictStr = Field(default="", max_length=8192)


class VerifyOut(BaseModel):
    """A token valid 24 hours with the test result it stands for."""

    token: str
    testType: str  # noqa: N815
    symptomDate: dt.date | None = None  # noqa: N815
    testDate: dt.date | None = None  # noqa: N815
    padding: str = ""


class CertificateIn(BaseModel):
    """``POST /api/v1/certificate``: exchange a token and the keys' HMAC for a certificate."""

    model_config = ConfigDict(extra="ignore")

    token: StrictStr = Field(max_length=128)
    ekeyhmac: StrictStr = Field(max_length=128)
    padding: StrictStr = Field(default="", max_length=8192)


class CertificateOut(BaseModel):
    """The ES256 verification certificate."""

    certificate: str
    padding: str = ""


class PhoneFieldError(BaseModel):
    """One error, naming the field, in Vietnamese and English."""

    field: str | None
    code: str
    message_vi: str
    message_en: str


class PhoneErrorOut(BaseModel):
    """A refused verify or certificate request (padded like every phone answer).

    ``428 proof_of_work_required`` carries a challenge: solve it (``powBits`` leading zero bits
    of SHA-256) and send the same request again with ``powChallenge`` and ``powSolution``.
    """

    errors: list[PhoneFieldError]
    powChallenge: str | None = None  # noqa: N815
    powBits: int | None = None  # noqa: N815
    padding: str = ""


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
