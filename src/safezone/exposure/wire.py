"""The phone API on the wire: the JSON of Google's exposure-notification servers.

Shapes, paths, header and error codes of

- the verification server (google/exposure-notifications-verification-server, ``pkg/api/api.go``):
  ``POST /api/verify`` (``VerifyCodeRequest`` -> ``VerifyCodeResponse``) and
  ``POST /api/certificate`` (``VerificationCertificateRequest`` ->
  ``VerificationCertificateResponse``), both behind an ``X-API-Key`` header;
- the key server (google/exposure-notifications-server, ``pkg/api/v1/exposure_types.go``):
  ``POST /v1/publish`` (``Publish`` -> ``PublishResponse``).

This module is pure data: it imports nothing of safezone and no web framework or database, so a
device or a test client can use it without the server. Field names on the wire are the
pydantic aliases (``testtype``, ``symptomDate``, ``errorCode`` ...): serialise with
``model_dump(by_alias=True, exclude_none=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# --- paths and header -------------------------------------------------------------------------

VERIFY_PATH = "/api/verify"
CERTIFICATE_PATH = "/api/certificate"
PUBLISH_PATH = "/v1/publish"
#: Older safezone paths, still served (same behaviour, not in the OpenAPI document).
LEGACY_VERIFY_PATH = "/api/v1/verify"
LEGACY_CERTIFICATE_PATH = "/api/v1/certificate"
#: The header carrying an app's API key on verify and certificate.
API_KEY_HEADER = "X-API-Key"
#: A decoy request (safezone's plausible deniability): answered like a real one, stores nothing.
CHAFF_HEADER = "X-Chaff"

# --- test types and the ``accept`` hierarchy ----------------------------------------------------

TEST_TYPE_CONFIRMED = "confirmed"
TEST_TYPE_LIKELY = "likely"
TEST_TYPE_NEGATIVE = "negative"
TEST_TYPE_USER_REPORT = "user-report"

#: What each value of ``accept`` lets through: confirmed < likely < negative; ``user-report``
#: adds itself to confirmed (api.go, ``GetAcceptedTestTypes``).
ACCEPT_IMPLIES: dict[str, frozenset[str]] = {
    TEST_TYPE_CONFIRMED: frozenset({TEST_TYPE_CONFIRMED}),
    TEST_TYPE_LIKELY: frozenset({TEST_TYPE_CONFIRMED, TEST_TYPE_LIKELY}),
    TEST_TYPE_NEGATIVE: frozenset({TEST_TYPE_CONFIRMED, TEST_TYPE_LIKELY, TEST_TYPE_NEGATIVE}),
    TEST_TYPE_USER_REPORT: frozenset({TEST_TYPE_CONFIRMED, TEST_TYPE_USER_REPORT}),
}
#: An empty or missing ``accept`` accepts every type.
ALL_TEST_TYPES = frozenset().union(*ACCEPT_IMPLIES.values())


class InvalidAcceptList(ValueError):
    """``accept`` names a test type the protocol does not know (``invalid_test_type``)."""


def accepted_test_types(accept: Iterable[str] | None) -> frozenset[str]:
    """The test types a client accepts, from its ``accept`` list (case-insensitive).

    Raises InvalidAcceptList for an unknown value.
    """
    values = list(accept or ())
    if not values:
        return ALL_TEST_TYPES
    accepted: set[str] = set()
    for value in values:
        implied = ACCEPT_IMPLIES.get(value.lower())
        if implied is None:
            raise InvalidAcceptList(value)
        accepted |= implied
    return frozenset(accepted)


# --- error codes -------------------------------------------------------------------------------

# Verification server (api.go), in ``errorCode``.
ERR_UNPARSABLE_REQUEST = "unparsable_request"
ERR_INTERNAL = "internal_server_error"
ERR_CODE_INVALID = "code_invalid"
ERR_CODE_EXPIRED = "code_expired"
ERR_CODE_NOT_FOUND = "code_not_found"
ERR_UNSUPPORTED_TEST_TYPE = "unsupported_test_type"
ERR_INVALID_TEST_TYPE = "invalid_test_type"
ERR_MISSING_DATE = "missing_date"
ERR_INVALID_DATE = "invalid_date"
ERR_TOKEN_INVALID = "token_invalid"  # noqa: S105 - an error code
ERR_TOKEN_EXPIRED = "token_expired"  # noqa: S105 - an error code
ERR_HMAC_INVALID = "hmac_invalid"
# safezone's own, on the same two routes (an existing app sees them only under attack).
ERR_RATE_LIMITED = "rate_limited"
ERR_PROOF_OF_WORK_REQUIRED = "proof_of_work_required"

# Key server (exposure_types.go), in ``code``.
PUBLISH_BAD_REQUEST = "bad_request"
PUBLISH_INTERNAL = "internal_error"
PUBLISH_UNKNOWN_HEALTH_AUTHORITY = "unknown_health_authority_id"
PUBLISH_CERTIFICATE_INVALID = "health_authority_verification_certificate_invalid"
PUBLISH_MISSING_REVISION_TOKEN = "missing_revision_token"  # noqa: S105 - an error code
PUBLISH_INVALID_REVISION_TOKEN = "invalid_revision_token"  # noqa: S105 - an error code
PUBLISH_KEY_ALREADY_REVISED = "key_already_revised"
PUBLISH_INVALID_TRANSITION = "invalid_report_type_transition"

_MAX_TEXT = 8192
_MAX_PADDING = 64 * 1024


class _Request(BaseModel):
    # The reference servers refuse unknown fields (``DisallowUnknownFields``); so do we.
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


# --- verification server -------------------------------------------------------------------------


class VerifyCodeRequest(_Request):
    """``POST /api/verify``: exchange a verification code for a token (``X-API-Key``)."""

    code: StrictStr = Field(max_length=64, description="the short or the long code")
    accept: list[StrictStr] | None = Field(
        default=None,
        max_length=8,
        description='test types the app handles: ["confirmed"] < ["likely"] < ["negative"] '
        "(each includes the ones before); empty or missing accepts all",
    )
    nonce: StrictStr = Field(
        default="", max_length=1024, description="user reports only (not issued here): ignored"
    )
    padding: StrictStr = Field(default="", max_length=_MAX_TEXT)
    pow_challenge: StrictStr = Field(
        default="",
        alias="powChallenge",
        max_length=256,
        description="safezone: a challenge from a 428 answer, once solved",
    )
    pow_solution: StrictStr = Field(
        default="",
        alias="powSolution",
        max_length=32,
        description="safezone: a string with SHA-256(powChallenge ':' powSolution) starting "
        "with powBits zero bits",
    )


class VerifyCodeResponse(_Response):
    """The token and the test it stands for, or ``error`` + ``errorCode``; always ``padding``.

    ``428 proof_of_work_required`` (safezone) carries ``powChallenge`` and ``powBits``.
    """

    test_type: str | None = Field(default=None, alias="testtype")
    symptom_date: str | None = Field(default=None, alias="symptomDate", description="YYYY-MM-DD")
    test_date: str | None = Field(default=None, alias="testDate", description="YYYY-MM-DD")
    token: str | None = Field(default=None, description="exchange it at /api/certificate")
    error: str | None = None
    error_code: str | None = Field(default=None, alias="errorCode")
    pow_challenge: str | None = Field(default=None, alias="powChallenge")
    pow_bits: int | None = Field(default=None, alias="powBits")
    padding: str = ""


class VerificationCertificateRequest(_Request):
    """``POST /api/certificate``: a token and the HMAC of the keys (``X-API-Key``)."""

    token: StrictStr = Field(max_length=4096)
    ekeyhmac: StrictStr = Field(
        max_length=128, description="base64 HMAC-SHA256 of the keys (32 bytes)"
    )
    padding: StrictStr = Field(default="", max_length=_MAX_TEXT)


class VerificationCertificateResponse(_Response):
    """The signed certificate to publish with, or ``error`` + ``errorCode``; always ``padding``."""

    certificate: str | None = None
    error: str | None = None
    error_code: str | None = Field(default=None, alias="errorCode")
    padding: str = ""


# --- key server ---------------------------------------------------------------------------------


class ExposureKeyIn(_Request):
    """One temporary exposure key as a phone uploads it (``ExposureKey``)."""

    key: StrictStr = Field(max_length=64, description="base64 of the 16-byte key")
    rollingStartNumber: StrictInt = Field(description="ENIntervalNumber the key starts")  # noqa: N815
    rollingPeriod: StrictInt = Field(description="Intervals the key is valid, 1..144")  # noqa: N815
    transmissionRisk: StrictInt = Field(  # noqa: N815
        default=0, description="0..8; 0 = fill in from the report type"
    )


class PublishIn(_Request):
    """``POST /v1/publish``: the key server's ``Publish`` request (no API key: the certificate
    and ``healthAuthorityID`` authorise it)."""

    temporaryExposureKeys: list[ExposureKeyIn] = Field(max_length=1000)  # noqa: N815
    healthAuthorityID: StrictStr = Field(max_length=128)  # noqa: N815
    verificationPayload: StrictStr = Field(default="", max_length=_MAX_TEXT)  # noqa: N815
    hmacKey: StrictStr = Field(default="", max_length=256)  # noqa: N815
    symptomOnsetInterval: StrictInt = 0  # noqa: N815
    traveler: StrictBool = False
    revisionToken: StrictStr = Field(default="", max_length=_MAX_TEXT)  # noqa: N815
    padding: StrictStr = Field(default="", max_length=_MAX_PADDING)


class PublishOut(_Response):
    """The key server's ``PublishResponse``: success fields or ``error`` + ``code``; always
    ``padding``."""

    revisionToken: str | None = None  # noqa: N815
    insertedExposures: int | None = None  # noqa: N815
    error: str | None = None
    code: str | None = None
    warnings: list[str] | None = None
    padding: str = ""
