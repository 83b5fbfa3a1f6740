"""Publishing diagnosis keys: the validation rules of Google's exposure-notifications-server.

Everything is checked before anything is written, and a rejected request stores nothing (the
reference server may accept part of an upload; we refuse the whole request instead, except for
keys whose symptom onset is out of range, which it too drops with a warning).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.en.crypto import (
    INTERVAL_SECONDS,
    KEY_LENGTH,
    TEK_ROLLING_PERIOD,
    interval_number,
)
from safezone.en.errors import EnError
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.en.tekmac import verify_tekmac
from safezone.errors import FieldError, SafezoneError
from safezone.exposure import wire
from safezone.exposure.codes import CERTIFICATE_ALGORITHM, CodePolicy
from safezone.exposure.models import ExposureKey, Upload, UsedCertificate
from safezone.exposure.wire import PublishIn

# The ENv1 transmission-risk range (safezone.en.keys checks the same 0..8 but names no constant).
MAX_TRANSMISSION_RISK = 8

# Error codes of the reference server's v1 API (safezone.exposure.wire lists them all).
BAD_REQUEST = wire.PUBLISH_BAD_REQUEST
UNKNOWN_HEALTH_AUTHORITY = wire.PUBLISH_UNKNOWN_HEALTH_AUTHORITY
CERTIFICATE_INVALID = wire.PUBLISH_CERTIFICATE_INVALID
MISSING_REVISION_TOKEN = wire.PUBLISH_MISSING_REVISION_TOKEN
INVALID_REVISION_TOKEN = wire.PUBLISH_INVALID_REVISION_TOKEN
KEY_ALREADY_REVISED = wire.PUBLISH_KEY_ALREADY_REVISED
INVALID_TRANSITION = wire.PUBLISH_INVALID_TRANSITION

#: Report type claim -> export report type.
REPORT_TYPES = {
    "confirmed": ReportType.CONFIRMED_TEST,
    "likely": ReportType.CONFIRMED_CLINICAL_DIAGNOSIS,
    "negative": ReportType.REVOKED,
}
#: Transmission risk filled in when the phone sends 0 (reference server's constants).
BACKFILL_RISK = {
    ReportType.CONFIRMED_TEST: 2,
    ReportType.CONFIRMED_CLINICAL_DIAGNOSIS: 4,
    ReportType.SELF_REPORT: 5,
    ReportType.REVOKED: 6,
}
_REVISION_VERSION = 1


class PublishRejected(SafezoneError):
    """An upload was refused; ``code`` is the reference API's error code."""

    def __init__(self, code: str, message_en: str, message_vi: str, status: int = 400) -> None:
        self.status_hint = status
        self.code = code
        super().__init__(FieldError(None, code, message_vi, message_en))


def _bad(message_en: str, message_vi: str) -> PublishRejected:
    return PublishRejected(BAD_REQUEST, message_en, message_vi)


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims of a certificate."""

    report_type: str
    tekmac: str
    symptom_onset_interval: int
    digest: str
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PublishPolicy:
    """The publish rules and keys, built once from the settings."""

    authorities: dict[str, str]
    certificate_key: ec.EllipticCurvePublicKey
    issuer: str
    audience: str
    revision_key: bytes
    max_keys: int
    max_same_start: int
    max_interval_age: dt.timedelta
    max_onset_days: int
    max_onset_report_days: int
    default_onset_days_ago: int
    window: dt.timedelta
    embargo: dt.timedelta
    # Keys of previous secrets (key rotation): certificates and revision tokens issued before
    # the rotation are still accepted while the previous secret is listed.
    previous_certificate_keys: tuple[ec.EllipticCurvePublicKey, ...] = ()
    previous_revision_keys: tuple[bytes, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings, codes: CodePolicy | None = None) -> PublishPolicy:
        """The policy of ``settings``."""
        config = settings.exposure
        codes = codes or CodePolicy.from_settings(settings)
        return cls(
            authorities=health_authorities(settings),
            certificate_key=codes.public_key,
            issuer=codes.issuer,
            audience=codes.audience,
            revision_key=settings.keyring.key("safezone-exposure-revision"),
            max_keys=config.max_keys_per_publish,
            max_same_start=config.max_same_start_interval_keys,
            max_interval_age=dt.timedelta(hours=config.max_interval_age_hours),
            max_onset_days=config.max_symptom_onset_days,
            max_onset_report_days=config.max_symptom_onset_report_days,
            default_onset_days_ago=config.default_symptom_onset_days_ago,
            window=dt.timedelta(seconds=config.export_window_seconds),
            embargo=dt.timedelta(seconds=config.embargo_seconds),
            previous_certificate_keys=tuple(
                key.public_key() for key in codes.previous_certificate_keys
            ),
            previous_revision_keys=settings.keyring.keys("safezone-exposure-revision")[1:],
        )

    @property
    def revision_token_length(self) -> int:
        """Every revision token has this many characters, whatever the number of keys."""
        return len(self._seal(b"\0" * self._plain_length))

    @property
    def _plain_length(self) -> int:
        return 2 + max(self.max_keys, 30) * KEY_LENGTH

    def _seal(self, plain: bytes) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.revision_key).encrypt(nonce, plain, b"safezone-revision")
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def _open(self, raw: bytes) -> bytes:
        for key in (self.revision_key, *self.previous_revision_keys):
            try:
                return AESGCM(key).decrypt(raw[:12], raw[12:], b"safezone-revision")
            except InvalidTag:
                continue
        raise InvalidTag

    def revision_token(self, keys: list[bytes]) -> str:
        """An encrypted, fixed-size token naming ``keys`` (only their uploader can revise)."""
        plain = bytes([_REVISION_VERSION, len(keys)]) + b"".join(keys)
        return self._seal(plain.ljust(self._plain_length, b"\0"))

    def open_revision_token(self, token: str) -> set[bytes]:
        """The keys a revision token names; PublishRejected when it is not ours."""
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
            plain = self._open(raw)
        except Exception:  # noqa: BLE001 - bad base64, wrong key, tampering: all the same answer
            raise PublishRejected(
                INVALID_REVISION_TOKEN,
                "The revision token is invalid.",
                "Mã sửa đổi (revision token) không hợp lệ.",
            ) from None
        if plain[0] != _REVISION_VERSION:
            raise PublishRejected(
                INVALID_REVISION_TOKEN,
                "The revision token has an unknown version.",
                "Mã sửa đổi có phiên bản không xác định.",
            )
        count = plain[1]
        body = plain[2 : 2 + count * KEY_LENGTH]
        return {body[i : i + KEY_LENGTH] for i in range(0, len(body), KEY_LENGTH)}


def health_authorities(settings: Settings) -> dict[str, str]:
    """Configured health authorities (id -> region); the demo's one in demo mode."""
    configured = dict(settings.exposure.health_authorities)
    if not configured and settings.demo_mode:
        configured = {DEMO_HEALTH_AUTHORITY: DEMO_REGION}
    return configured


DEMO_HEALTH_AUTHORITY = "safezone-demo"
DEMO_REGION = "VN"


@dataclass(slots=True)
class PublishResult:
    """What an accepted upload did."""

    inserted: int
    revision_token: str
    warnings: list[str] = field(default_factory=list)
    new_keys: int = 0
    revised_keys: int = 0


def verify_certificate(policy: PublishPolicy, certificate: str, *, now: dt.datetime) -> Claims:
    """Check a certificate's signature, issuer, audience and validity; return its claims."""

    def invalid(reason: str) -> PublishRejected:
        return PublishRejected(
            CERTIFICATE_INVALID,
            f"The verification certificate is invalid: {reason}.",
            "Chứng nhận xác minh không hợp lệ.",
            status=401,
        )

    if not certificate:
        raise invalid("missing")
    keys = (policy.certificate_key, *policy.previous_certificate_keys)
    claims: dict[str, Any] = {}
    for position, key in enumerate(keys):
        try:
            claims = jwt.decode(
                certificate,
                key,
                algorithms=[CERTIFICATE_ALGORITHM],
                audience=policy.audience,
                issuer=policy.issuer,
                # Time is checked below against the injected ``now``.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iat", "jti", "aud", "iss"],
                },
            )
            break
        except jwt.InvalidSignatureError:
            if position + 1 < len(keys):
                continue  # perhaps signed under a previous secret of the key ring
            raise invalid("InvalidSignatureError") from None
        except jwt.InvalidTokenError as error:
            raise invalid(type(error).__name__) from None
    stamp = now.timestamp()
    expires, not_before = claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not isinstance(expires, int) or expires <= stamp:
        raise invalid("expired")
    if not isinstance(not_before, int) or not_before > stamp + 60:
        raise invalid("not yet valid")
    report_type, tekmac = claims.get("reportType"), claims.get("tekmac")
    if report_type not in REPORT_TYPES or not isinstance(tekmac, str):
        raise invalid("missing or unknown claims")
    onset = claims.get("symptomOnsetInterval", 0)
    if not isinstance(onset, int) or onset < 0:
        raise invalid("bad symptomOnsetInterval")
    return Claims(
        report_type=report_type,
        tekmac=tekmac,
        symptom_onset_interval=onset,
        digest=hashlib.sha256(certificate.encode()).hexdigest(),
        expires_at=dt.datetime.fromtimestamp(expires, dt.UTC),
    )


def _decode_key(index: int, value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(
            f"key {index}: not valid base64", f"khoá {index}: không phải base64 hợp lệ"
        ) from None
    if len(raw) != KEY_LENGTH:
        raise _bad(
            f"key {index}: must be {KEY_LENGTH} bytes, got {len(raw)}",
            f"khoá {index}: phải dài {KEY_LENGTH} byte",
        )
    return raw


def days_between_intervals(a: int, b: int) -> int:
    """Whole UTC days from the day holding interval ``a`` to the day holding ``b``."""
    return (b // TEK_ROLLING_PERIOD) - (a // TEK_ROLLING_PERIOD)


def _window_floor(when: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    return dt.datetime.fromtimestamp(int(when.timestamp()) // seconds * seconds, dt.UTC)


def _window_ceil(when: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    return dt.datetime.fromtimestamp(-(-int(when.timestamp()) // seconds) * seconds, dt.UTC)


@dataclass(slots=True)
class _Incoming:
    key: bytes
    start: int
    period: int
    risk: int
    created_at: dt.datetime
    days_since_onset: int | None = None


def _symptom_onset(policy: PublishPolicy, requested: int, claims: Claims, now: dt.datetime) -> int:
    """The onset interval to use (the reference server's rules, including its default)."""
    current = interval_number(now)
    min_interval = interval_number(
        dt.datetime.combine(
            (now - dt.timedelta(days=policy.max_onset_report_days)).date(),
            dt.time(),
            tzinfo=dt.UTC,
        )
    )
    onset = 0
    if min_interval <= requested < current:
        onset = requested
    elif min_interval <= claims.symptom_onset_interval < current:
        onset = claims.symptom_onset_interval
    if onset == 0 or abs(days_between_intervals(onset, current)) > policy.max_onset_report_days:
        onset = interval_number(now - dt.timedelta(days=policy.default_onset_days_ago))
    return onset


def validate_keys(policy: PublishPolicy, data: PublishIn, *, now: dt.datetime) -> list[_Incoming]:
    """Decode and check every key (format, age, future, overlaps); raise on the first error."""
    keys = data.temporaryExposureKeys
    if not keys:
        raise _bad("no exposure keys in publish request", "yêu cầu không có khoá nào")
    if len(keys) > policy.max_keys:
        raise _bad(
            f"too many exposure keys in publish: {len(keys)}, max of {policy.max_keys} is allowed",
            f"quá nhiều khoá: {len(keys)}, tối đa {policy.max_keys}",
        )
    current = interval_number(now)
    min_start = interval_number(now - policy.max_interval_age)
    default_created = _window_floor(now, policy.window)
    result: list[_Incoming] = []
    seen: set[bytes] = set()
    for index, item in enumerate(keys):
        raw = _decode_key(index, item.key)
        if raw in seen:
            raise _bad(f"key {index}: duplicate key in upload", f"khoá {index}: bị lặp")
        seen.add(raw)
        if not 1 <= item.rollingPeriod <= TEK_ROLLING_PERIOD:
            raise _bad(
                f"key {index}: invalid rolling period {item.rollingPeriod}, "
                f"must be 1..{TEK_ROLLING_PERIOD}",
                f"khoá {index}: rollingPeriod phải trong 1..{TEK_ROLLING_PERIOD}",
            )
        if item.rollingStartNumber < 0 or item.rollingStartNumber + item.rollingPeriod <= min_start:
            raise _bad(
                f"key {index}: key expires before minimum window (older than "
                f"{policy.max_interval_age.days} days)",
                f"khoá {index}: quá cũ",
            )
        if item.rollingStartNumber > current:
            raise _bad(
                f"key {index}: interval number {item.rollingStartNumber} is in the future",
                f"khoá {index}: bắt đầu ở tương lai",
            )
        if not 0 <= item.transmissionRisk <= MAX_TRANSMISSION_RISK:
            raise _bad(
                f"key {index}: invalid transmission risk {item.transmissionRisk}, "
                f"must be 0..{MAX_TRANSMISSION_RISK}",
                f"khoá {index}: transmissionRisk phải trong 0..{MAX_TRANSMISSION_RISK}",
            )
        end = item.rollingStartNumber + item.rollingPeriod
        created = default_created
        if end > current:
            # Still valid on the phone: hold it back until it has expired (embargo).
            expiry = dt.datetime.fromtimestamp(end * INTERVAL_SECONDS, dt.UTC)
            created = max(default_created, _window_ceil(expiry + policy.embargo, policy.window))
        result.append(
            _Incoming(
                raw, item.rollingStartNumber, item.rollingPeriod, item.transmissionRisk, created
            )
        )
    _check_overlaps(policy, result)
    return result


def _check_overlaps(policy: PublishPolicy, keys: list[_Incoming]) -> None:
    ordered = sorted(keys, key=lambda k: (k.start, k.period))
    counts = Counter(k.start for k in ordered)
    for start, count in counts.items():
        if count > policy.max_same_start:
            raise _bad(
                f"too many overlapping keys for start interval {start}: "
                f"want <= {policy.max_same_start}, got {count}",
                f"quá nhiều khoá cùng thời điểm bắt đầu {start}",
            )
    last_start, next_start = ordered[0].start, ordered[0].start + ordered[0].period
    for key in ordered:
        if key.start == last_start:
            next_start = key.start + key.period
            continue
        if key.start < next_start:
            raise _bad(
                f"exposure keys have non aligned overlapping intervals: {key.start} overlaps "
                f"with the key valid from {last_start} to {next_start}",
                "các khoá chồng lấn thời gian không thẳng hàng",
            )
        last_start, next_start = key.start, key.start + key.period


def publish(
    session: Session, policy: PublishPolicy, data: PublishIn, *, now: dt.datetime
) -> PublishResult:
    """Validate an upload completely, then store it (new keys and allowed revisions)."""
    region = policy.authorities.get(data.healthAuthorityID)
    if region is None:
        raise PublishRejected(
            UNKNOWN_HEALTH_AUTHORITY,
            f"unknown health authority id {data.healthAuthorityID!r}",
            "mã cơ quan y tế không xác định",
            status=401,
        )
    incoming = validate_keys(policy, data, now=now)
    claims = verify_certificate(policy, data.verificationPayload, now=now)
    try:
        secret = base64.b64decode(data.hmacKey, validate=True)
    except (binascii.Error, ValueError):
        secret = b""
    if not secret:
        raise _bad("hmacKey must be non-empty base64", "hmacKey phải là base64 khác rỗng")
    try:
        verify_tekmac(
            [TemporaryExposureKey(k.key, k.start, k.period, k.risk) for k in incoming],
            secret,
            claims.tekmac,
        )
    except EnError:
        raise PublishRejected(
            CERTIFICATE_INVALID,
            "The verification certificate is invalid: the keys do not match its tekmac.",
            "Chứng nhận xác minh không khớp với các khoá.",
            status=401,
        ) from None
    report_type = REPORT_TYPES[claims.report_type]
    onset = _symptom_onset(policy, data.symptomOnsetInterval, claims, now)
    warnings: list[str] = []
    kept: list[_Incoming] = []
    onset_day = onset // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD
    for index, key in enumerate(incoming):
        days = days_between_intervals(
            onset_day, key.start // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD
        )
        if abs(days) > policy.max_onset_days:
            warnings.append(
                f"key {index} symptom onset is too large, {abs(days)} > "
                f"{policy.max_onset_days} - saving without this key"
            )
            continue
        key.days_since_onset = days
        kept.append(key)

    existing = (
        {
            row.key_data: row
            for row in session.scalars(
                select(ExposureKey).where(ExposureKey.key_data.in_([k.key for k in kept]))
            )
        }
        if kept
        else {}
    )
    # A certificate used before is refused by the primary key of its digest at the flush below,
    # saving a round trip on every upload; when keys are already stored it is checked first, so
    # that a replay is told "used" rather than "revision token missing".
    if existing and session.get(UsedCertificate, claims.digest) is not None:
        raise _certificate_used()
    revisions = _plan_revisions(policy, data, existing, kept, report_type)
    new_rows = [
        {
            "key_data": k.key,
            "region": region,
            "health_authority": data.healthAuthorityID,
            "rolling_start": k.start,
            "rolling_period": k.period,
            "transmission_risk": k.risk or BACKFILL_RISK[report_type],
            "report_type": int(report_type),
            "days_since_onset": k.days_since_onset,
            "traveler": data.traveler,
            "created_at": k.created_at,
        }
        for k in kept
        if k.key not in existing and report_type != ReportType.REVOKED  # a first "negative"
    ]
    revised_at = _window_floor(now, policy.window)
    for row, key in revisions:
        row.revised_report_type = int(report_type)
        row.revised_transmission_risk = key.risk or BACKFILL_RISK[report_type]
        row.revised_days_since_onset = key.days_since_onset
        row.revised_at = revised_at
    session.add(UsedCertificate(digest=claims.digest, expires_at=claims.expires_at))
    if new_rows or revisions:
        session.add(Upload(day=now.date(), keys=len(new_rows), revised=len(revisions)))
    try:
        session.flush()
        if new_rows:
            # One executemany of a one-row statement (pipelined by psycopg): the ORM's
            # multi-row INSERT ... RETURNING was the slowest step of an upload (profiled), and
            # nothing needs the new rows' ids.
            session.execute(insert(ExposureKey), new_rows)
    except IntegrityError as error:
        if UsedCertificate.__tablename__ in str(error.orig):
            raise _certificate_used() from None
        # A concurrent upload stored the same key first.
        raise PublishRejected(
            BAD_REQUEST,
            "a key or the certificate was used by a concurrent upload",
            "khoá hoặc chứng nhận vừa được dùng bởi một yêu cầu khác",
            status=409,
        ) from None
    return PublishResult(
        inserted=len(new_rows) + len(revisions),
        revision_token=policy.revision_token([k.key for k in incoming]),
        warnings=warnings,
        new_keys=len(new_rows),
        revised_keys=len(revisions),
    )


def _certificate_used() -> PublishRejected:
    return PublishRejected(
        CERTIFICATE_INVALID,
        "The verification certificate is invalid: it was already used.",
        "Chứng nhận xác minh đã được dùng.",
        status=401,
    )


def _plan_revisions(
    policy: PublishPolicy,
    data: PublishIn,
    existing: dict[bytes, ExposureKey],
    kept: list[_Incoming],
    report_type: ReportType,
) -> list[tuple[ExposureKey, _Incoming]]:
    """Which stored keys change report type; raise on a transition the protocol forbids."""
    if not existing:
        return []
    if not data.revisionToken:
        raise PublishRejected(
            MISSING_REVISION_TOKEN,
            "keys were already published; a revision token is required",
            "khoá đã được công bố; cần mã sửa đổi",
        )
    allowed = policy.open_revision_token(data.revisionToken)
    result = []
    for key in kept:
        row = existing.get(key.key)
        if row is None:
            continue
        if key.key not in allowed:
            raise PublishRejected(
                INVALID_REVISION_TOKEN,
                "the revision token does not cover every already published key",
                "mã sửa đổi không bao gồm mọi khoá đã công bố",
            )
        if report_type in (row.report_type, row.revised_report_type):
            continue  # published again unchanged
        if row.revised_at is not None:
            raise PublishRejected(
                KEY_ALREADY_REVISED,
                "key has already been revised and cannot be revised again",
                "khoá đã được sửa đổi, không thể sửa lần nữa",
            )
        if row.report_type != ReportType.CONFIRMED_CLINICAL_DIAGNOSIS or report_type not in (
            ReportType.CONFIRMED_TEST,
            ReportType.REVOKED,
        ):
            raise PublishRejected(
                INVALID_TRANSITION,
                f"invalid report type transition: cannot transition from "
                f"{ReportType(row.report_type).name} to {report_type.name}",
                "chuyển loại báo cáo không hợp lệ (chỉ likely -> confirmed hoặc thu hồi)",
            )
        result.append((row, key))
    return result
