"""Verification: one-time codes -> token -> certificate (the verification protocol).

A health worker issues a code pair for a test result. The phone exchanges either code for a
token (``verify``), then the token and the HMAC of its keys (``ekeyhmac``) for a certificate:
an ES256 JWT that the publish endpoint checks. Codes and tokens are stored only as HMACs and
each works once. Error codes are those of Google's verification server: a wrong, used or revoked
code is ``code_invalid`` (one answer, so guessing tells no live code from a used one); only an
issued, unused code past its expiry is ``code_expired``, so its holder knows to ask again. A
code whose test type the app does not ``accept`` is refused with 412 and stays unused.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope, record
from safezone.config import Settings
from safezone.en.crypto import interval_number
from safezone.errors import FieldError, InvalidInput, NotFound, SafezoneError
from safezone.exposure import wire
from safezone.exposure.models import VerificationCode, VerificationToken
from safezone.units.models import Unit
from safezone.units.service import get_unit

SHORT_CODE_DIGITS = 8
LONG_CODE_LENGTH = 16
LONG_CODE_ALPHABET = string.ascii_lowercase + string.digits
MAX_DATE_AGE_DAYS = 28  # a test or onset date older than this is almost surely a typo
CERTIFICATE_ALGORITHM = "ES256"
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


class TestType(enum.StrEnum):
    """A test result, named as in the verification protocol."""

    __test__ = False  # not a pytest class, despite the name

    CONFIRMED = "confirmed"
    LIKELY = "likely"
    NEGATIVE = "negative"


class VerificationRejected(SafezoneError):
    """A code, token or ekeyhmac was not accepted (one answer for every reason)."""

    status_hint = 400


class UnsupportedTestType(SafezoneError):
    """The code is valid but its test type is not in what the app accepts (412; not claimed)."""

    status_hint = 412

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                "accept",
                wire.ERR_UNSUPPORTED_TEST_TYPE,
                "Ứng dụng không xử lý được loại kết quả của mã này; hãy cập nhật ứng dụng.",
                "The code's test type is not one the app accepts; update the app.",
            )
        )


class RateLimited(SafezoneError):
    """Too many attempts from this client, or in total."""

    status_hint = 429

    def __init__(self) -> None:
        super().__init__(
            FieldError(
                None,
                "rate_limited",
                "Quá nhiều yêu cầu; vui lòng thử lại sau.",
                "Too many requests; please try again later.",
            )
        )


CODE_REJECTED = FieldError(
    "code",
    wire.ERR_CODE_INVALID,
    "Mã xác nhận không đúng hoặc đã dùng.",
    "The verification code is wrong or already used.",
)
CODE_EXPIRED = FieldError(
    "code",
    wire.ERR_CODE_EXPIRED,
    "Mã xác nhận đã hết hạn; hãy xin mã mới.",
    "The verification code has expired; ask for a new one.",
)
TOKEN_REJECTED = FieldError(
    "token",
    wire.ERR_TOKEN_INVALID,
    "Mã thông báo không đúng.",
    "The token is not valid.",
)
TOKEN_EXPIRED = FieldError(
    "token",
    wire.ERR_TOKEN_EXPIRED,
    "Mã thông báo đã hết hạn hoặc đã dùng.",
    "The token has expired or was already used.",
)
EKEYHMAC_REJECTED = FieldError(
    "ekeyhmac",
    wire.ERR_HMAC_INVALID,
    "ekeyhmac phải là HMAC-SHA256 mã hoá base64 (32 byte).",
    "ekeyhmac must be a base64-encoded HMAC-SHA256 (32 bytes).",
)


@dataclass(frozen=True, slots=True)
class CodePolicy:
    """Keys and periods of the verification protocol, built once from the settings."""

    code_key: bytes
    certificate_key: ec.EllipticCurvePrivateKey
    certificate_kid: str
    issuer: str
    audience: str
    short_code_ttl: dt.timedelta
    long_code_ttl: dt.timedelta
    token_ttl: dt.timedelta
    certificate_ttl: dt.timedelta
    # Code keys of previous secrets: codes and tokens issued before a rotation still verify.
    previous_code_keys: tuple[bytes, ...] = ()
    # Certificate keys of previous secrets (publish accepts certificates issued before).
    previous_certificate_keys: tuple[ec.EllipticCurvePrivateKey, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> CodePolicy:
        """The policy for ``settings`` (keys derived from the secret key)."""
        config = settings.exposure
        private = certificate_key_from_secret(settings.keyring.key("safezone-exposure-cert", 48))
        return cls(
            code_key=settings.keyring.key("safezone-exposure-codes"),
            certificate_key=private,
            certificate_kid=key_fingerprint(private.public_key()),
            issuer=config.certificate_issuer,
            audience=config.certificate_audience,
            short_code_ttl=dt.timedelta(minutes=config.short_code_minutes),
            long_code_ttl=dt.timedelta(hours=config.long_code_hours),
            token_ttl=dt.timedelta(hours=config.token_hours),
            certificate_ttl=dt.timedelta(minutes=config.certificate_minutes),
            previous_code_keys=settings.keyring.keys("safezone-exposure-codes")[1:],
            previous_certificate_keys=tuple(
                certificate_key_from_secret(material)
                for material in settings.keyring.keys("safezone-exposure-cert", 48)[1:]
            ),
        )

    def digest(self, kind: str, value: str) -> str:
        """The stored HMAC of a code or token (``kind`` separates the three namespaces)."""
        return hmac.new(self.code_key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()

    def digests(self, kind: str, value: str) -> list[str]:
        """The HMACs under every key of the ring, current first: what a lookup matches."""
        previous = (
            hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            for key in self.previous_code_keys
        )
        return [self.digest(kind, value), *previous]

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The key publish uses to check certificates."""
        return self.certificate_key.public_key()


def certificate_key_from_secret(material: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key derived from ``material`` (>= 48 bytes: the modular bias is tiny).

    Deriving it means every web worker signs with the same key without storing one.
    """
    scalar = int.from_bytes(material, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def key_fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """A short stable id for a public key (the JWT ``kid``)."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """A freshly issued code pair (the only moment the codes exist in clear)."""

    id: int
    unit_code: str
    test_type: str
    test_date: dt.date | None
    symptom_date: dt.date | None
    short_code: str
    short_expires_at: dt.datetime
    long_code: str
    long_expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Verified:
    """What ``verify`` returns to the phone."""

    token: str
    test_type: str
    test_date: dt.date | None
    symptom_date: dt.date | None


#: A date is someone's local calendar day: "today" may be a day ahead of UTC's (00:00-07:00 in
#: Vietnam is still yesterday in UTC) or behind it. The bounds take the earliest and latest
#: zones on Earth (UTC-12, UTC+14), so no issuer's today is ever "in the future".
_LATEST_ZONE = dt.timedelta(hours=14)
_EARLIEST_ZONE = dt.timedelta(hours=-12)


def _check_dates(
    test_date: dt.date | None, symptom_date: dt.date | None, now: dt.datetime
) -> list[FieldError]:
    latest_today = (now + _LATEST_ZONE).date()
    earliest_today = (now + _EARLIEST_ZONE).date()
    errors = []
    if test_date is None and symptom_date is None:
        errors.append(
            FieldError(
                "test_date",
                wire.ERR_MISSING_DATE,
                "Cần ngày xét nghiệm hoặc ngày khởi phát triệu chứng.",
                "A test date or a symptom-onset date is required.",
            )
        )
    for field, value in (("test_date", test_date), ("symptom_date", symptom_date)):
        if value is None:
            continue
        if value > latest_today:
            errors.append(
                FieldError(field, "date_in_future", "Ngày ở tương lai.", "The date is in future.")
            )
        elif value < earliest_today - dt.timedelta(days=MAX_DATE_AGE_DAYS):
            errors.append(
                FieldError(
                    field,
                    "date_too_old",
                    f"Ngày cũ hơn {MAX_DATE_AGE_DAYS} ngày.",
                    f"The date is more than {MAX_DATE_AGE_DAYS} days ago.",
                )
            )
    return errors


def parse_test_type(value: str) -> TestType:
    """``value`` as a TestType; InvalidInput otherwise."""
    try:
        return TestType(value)
    except ValueError:
        raise InvalidInput.single(
            "test_type",
            "test_type_invalid",
            "Loại kết quả phải là confirmed, likely hoặc negative.",
            "The test type must be confirmed, likely or negative.",
        ) from None


def issue_code(
    session: Session,
    policy: CodePolicy,
    *,
    unit_code: str,
    test_type: str,
    test_date: dt.date | None,
    symptom_date: dt.date | None,
    actor: str | None,
    now: dt.datetime,
    scope: Scope | None = None,
) -> IssuedCode:
    """Issue a short and a long code for one test result; only their HMACs are stored.

    ``scope`` (the issuer's) must contain the unit; out-of-scope units are NotFound.
    """
    kind = parse_test_type(test_type)
    errors = _check_dates(test_date, symptom_date, now)
    if errors:
        raise InvalidInput(*errors)
    unit = get_unit(session, unit_code)
    if scope is not None and not scope.contains(unit):
        raise NotFound.single(
            "unit_code",
            "unit_not_found",
            f"Không tìm thấy đơn vị hành chính có mã {unit_code!r}.",
            f"No administrative unit has code {unit_code!r}.",
        )
    short_digests: set[str] = set()
    while True:
        # A collision with a stored code is astronomically rare for long codes but possible
        # for 8 digits; draw again rather than fail (the unique index is the final guard).
        short_code = f"{secrets.randbelow(10**SHORT_CODE_DIGITS):0{SHORT_CODE_DIGITS}d}"
        short_digest = policy.digest("short", short_code)
        if short_digest in short_digests:
            continue
        short_digests.add(short_digest)
        taken = session.scalar(
            select(VerificationCode.id).where(VerificationCode.short_hmac == short_digest)
        )
        if taken is None:
            break
    long_code = "".join(secrets.choice(LONG_CODE_ALPHABET) for _ in range(LONG_CODE_LENGTH))
    row = VerificationCode(
        unit_code=unit.code,
        issued_by=actor,
        test_type=kind.value,
        test_date=test_date,
        symptom_date=symptom_date,
        short_hmac=short_digest,
        long_hmac=policy.digest("long", long_code),
        short_expires_at=now + policy.short_code_ttl,
        long_expires_at=now + policy.long_code_ttl,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="exposure.code.issue",
        object_type="exposure_code",
        object_id=row.id,
        unit_code=unit.code,
        detail={"test_type": kind.value},
    )
    return IssuedCode(
        id=row.id,
        unit_code=unit.code,
        test_type=kind.value,
        test_date=test_date,
        symptom_date=symptom_date,
        short_code=short_code,
        short_expires_at=row.short_expires_at,
        long_code=long_code,
        long_expires_at=row.long_expires_at,
    )


def normalise_code(code: str) -> str:
    """Codes as people type them: spaces and dashes dropped, lower case."""
    return "".join(ch for ch in code if ch not in " -\t").lower()


def verify_code(
    session: Session,
    policy: CodePolicy,
    code: str,
    *,
    now: dt.datetime,
    accept: frozenset[str] = wire.ALL_TEST_TYPES,
) -> Verified:
    """Claim ``code`` (short or long) and return a token valid ``token_ttl``, usable once.

    ``accept``: the test types the app handles (see :func:`wire.accepted_test_types`).
    Raises VerificationRejected (``code_invalid`` for a wrong, used or revoked code,
    ``code_expired`` for an unused one past its expiry) or UnsupportedTestType (412; the code
    stays unused, so the person can retry with an updated app).
    """
    value = normalise_code(code)
    if len(value) == SHORT_CODE_DIGITS and value.isdigit():
        column, expiry = VerificationCode.short_hmac, VerificationCode.short_expires_at
        digests = policy.digests("short", value)
    elif len(value) == LONG_CODE_LENGTH and all(ch in LONG_CODE_ALPHABET for ch in value):
        column, expiry = VerificationCode.long_hmac, VerificationCode.long_expires_at
        digests = policy.digests("long", value)
    else:
        raise VerificationRejected(CODE_REJECTED)
    # One conditional UPDATE claims the code: two phones racing with the same code cannot
    # both win.
    claimed = session.execute(
        update(VerificationCode)
        .where(
            column.in_(digests),
            expiry > now,
            VerificationCode.claimed_at.is_(None),
            VerificationCode.revoked_at.is_(None),
            VerificationCode.test_type.in_(sorted(accept)),
        )
        .values(claimed_at=now)
        .returning(
            VerificationCode.id,
            VerificationCode.test_type,
            VerificationCode.test_date,
            VerificationCode.symptom_date,
        )
    ).first()
    if claimed is None:
        # Why not: only an unused, unrevoked code gets a reason of its own.
        unused = session.execute(
            select(expiry).where(
                column.in_(digests),
                VerificationCode.claimed_at.is_(None),
                VerificationCode.revoked_at.is_(None),
            )
        ).first()
        if unused is None:
            raise VerificationRejected(CODE_REJECTED)
        if unused[0] <= now:
            raise VerificationRejected(CODE_EXPIRED)
        raise UnsupportedTestType
    code_id, test_type, test_date, symptom_date = claimed
    token = secrets.token_urlsafe(32)
    session.add(
        VerificationToken(
            token_hmac=policy.digest("token", token),
            code_id=code_id,
            test_type=test_type,
            test_date=test_date,
            symptom_date=symptom_date,
            expires_at=now + policy.token_ttl,
            created_at=now,
        )
    )
    return Verified(token, test_type, test_date, symptom_date)


def decode_ekeyhmac(value: str) -> bytes:
    """The 32-byte HMAC a phone sends in base64; VerificationRejected otherwise."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationRejected(EKEYHMAC_REJECTED) from None
    if len(raw) != 32:
        raise VerificationRejected(EKEYHMAC_REJECTED)
    return raw


def midnight_interval(day: dt.date) -> int:
    """The ENIntervalNumber of UTC midnight starting ``day``."""
    return interval_number(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC))


def issue_certificate(
    session: Session, policy: CodePolicy, token: str, ekeyhmac: str, *, now: dt.datetime
) -> str:
    """Exchange a token (once) for a signed certificate binding the keys' HMAC."""
    decode_ekeyhmac(ekeyhmac)  # checked before the token is spent
    used = session.execute(
        update(VerificationToken)
        .where(
            VerificationToken.token_hmac.in_(policy.digests("token", token)),
            VerificationToken.expires_at > now,
            VerificationToken.used_at.is_(None),
        )
        .values(used_at=now)
        .returning(
            VerificationToken.test_type,
            VerificationToken.test_date,
            VerificationToken.symptom_date,
        )
    ).first()
    if used is None:
        # A token we issued that is past its expiry or spent is ``token_expired`` (as the
        # reference server answers both); anything else is ``token_invalid``.
        known = session.scalar(
            select(VerificationToken.id).where(
                VerificationToken.token_hmac.in_(policy.digests("token", token))
            )
        )
        raise VerificationRejected(TOKEN_EXPIRED if known is not None else TOKEN_REJECTED)
    test_type, test_date, symptom_date = used
    return sign_certificate(
        policy,
        test_type=test_type,
        test_date=test_date,
        symptom_date=symptom_date,
        ekeyhmac=ekeyhmac,
        now=now,
    )


def sign_certificate(
    policy: CodePolicy,
    *,
    test_type: str,
    test_date: dt.date | None,
    symptom_date: dt.date | None,
    ekeyhmac: str,
    now: dt.datetime,
) -> str:
    """The ES256 JWT certificate (claims as in the reference verification protocol)."""
    claims: dict[str, Any] = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()) - 60,
        "exp": int((now + policy.certificate_ttl).timestamp()),
        "jti": secrets.token_urlsafe(16),
        "reportType": test_type,
        "tekmac": ekeyhmac,
    }
    if symptom_date is not None:
        claims["symptomOnsetInterval"] = midnight_interval(symptom_date)
    if test_date is not None:
        claims["testDateInterval"] = midnight_interval(test_date)
    return jwt.encode(
        claims,
        policy.certificate_key,
        algorithm=CERTIFICATE_ALGORITHM,
        headers={"kid": policy.certificate_kid},
    )


def code_status(code: VerificationCode, now: dt.datetime) -> str:
    """``claimed``, ``revoked``, ``expired`` or ``active``."""
    if code.claimed_at is not None:
        return "claimed"
    if code.revoked_at is not None:
        return "revoked"
    if code.long_expires_at <= now:
        return "expired"
    return "active"


def list_codes(session: Session, scope: Scope, *, limit: int = 100) -> list[VerificationCode]:
    """The newest codes issued for units in ``scope``."""
    query = (
        select(VerificationCode)
        .join(Unit, Unit.code == VerificationCode.unit_code)
        .where(scope.where(Unit.path))
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def get_code(session: Session, scope: Scope, code_id: int) -> VerificationCode:
    """One code in ``scope``; NotFound when missing or out of scope (the same answer)."""
    row = session.scalar(
        select(VerificationCode)
        .join(Unit, Unit.code == VerificationCode.unit_code)
        .where(VerificationCode.id == code_id, scope.where(Unit.path))
    )
    if row is None:
        raise NotFound.single(
            "id", "code_not_found", "Không tìm thấy mã xác nhận.", "No such verification code."
        )
    return row


def revoke_code(
    session: Session, scope: Scope, code_id: int, *, actor: str | None, now: dt.datetime
) -> VerificationCode:
    """Revoke an unused code (idempotent; a claimed code stays claimed)."""
    row = get_code(session, scope, code_id)
    if row.claimed_at is None and row.revoked_at is None:
        row.revoked_at = now
        record(
            session,
            actor=actor,
            action="exposure.code.revoke",
            object_type="exposure_code",
            object_id=row.id,
            unit_code=row.unit_code,
        )
    return row
