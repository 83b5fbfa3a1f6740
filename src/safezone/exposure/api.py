"""JSON routes: the phone-facing verify/certificate/publish endpoints, the staff code API and
the export files (``/exposure/v1/...``).

The phone routes speak the wire format of Google's servers (:mod:`safezone.exposure.wire`):
``POST /api/verify`` and ``POST /api/certificate`` (``X-API-Key``; ``/api/v1/...`` aliases) and
``POST /v1/publish``. They share one wrapper (:func:`_phone`): app key (verify, certificate) ->
read the body (size limit while streaming) -> answer a decoy marked ``X-Chaff`` without
touching anything else in the database -> parse -> per-address limit (verify: failed-guess
budget and proof of work) -> store -> pad every answer to one size. Nothing identifying the
phone is kept: its address is turned into an opaque, day-scoped key for the shared limit
counters.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import jwt
import structlog
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.en.crypto import INTERVAL_SECONDS, TEK_ROLLING_PERIOD
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import tekmac
from safezone.errors import FieldError, SafezoneError
from safezone.exposure import apps, codes, signing, wire
from safezone.exposure.limits import LimitsPolicy, PhoneLimits, address_group
from safezone.exposure.models import VerificationCode, VerificationToken
from safezone.exposure.privacy import LatencySampler, is_chaff, padded_json
from safezone.exposure.publish import BAD_REQUEST, PublishPolicy, publish
from safezone.exposure.schemas import CodeIn, CodeOut, CodeStatusOut, SigningKeyOut
from safezone.exposure.storage import (
    InvalidPath,
    Storage,
    cache_seconds,
    check_path,
    content_type,
    storage_from_settings,
)
from safezone.ratelimit import CounterStore, client_key, store_for
from safezone.units.models import Unit
from safezone.web.deps import RowId, SessionDep, UnitScope, requires

router = APIRouter(tags=["exposure"])
files_router = APIRouter(tags=["exposure files"])
Model = TypeVar("Model", bound=BaseModel)
Verifier = Annotated[User, Depends(requires(Role.VERIFIER))]
PHONE_ROUTES = ("verify", "certificate", "publish")
#: Real answers measured at start-up (per route) before any real request: decoys from the
#: first request on draw from these, later from the recent real answers.
CALIBRATION_SAMPLES = 16


@dataclass
class ExposureRuntime:
    """Per-app state of the exposure endpoints (policies, limits, timing samples, storage).

    ``clock`` and ``sleep`` time real answers and delay decoys; tests inject both.
    """

    settings: Settings
    database: Database
    codes: codes.CodePolicy
    publish: PublishPolicy
    limits: PhoneLimits
    storage: Storage
    decoy_key: ec.EllipticCurvePrivateKey
    latency: dict[str, LatencySampler] = field(default_factory=dict)
    clock: Callable[[], float] = time.perf_counter
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    @classmethod
    def build(
        cls,
        settings: Settings,
        database: Database,
        *,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        store: CounterStore | None = None,
        calibrate: bool = True,
    ) -> ExposureRuntime:
        """Everything the routes need, built once per app; decoy timing calibrated.

        ``store`` holds the limit counters (default: the installation's shared store).
        """
        config = settings.exposure
        code_policy = codes.CodePolicy.from_settings(settings)
        runtime = cls(
            settings=settings,
            database=database,
            codes=code_policy,
            publish=PublishPolicy.from_settings(settings, code_policy),
            limits=PhoneLimits(
                store or store_for(settings, database.engine),
                settings.keyring.key("safezone-exposure-pow"),
                LimitsPolicy(
                    per_client=config.rate_limit_per_client,
                    window_seconds=config.rate_limit_window_seconds,
                    failed_guess_budget=config.failed_guess_budget,
                    base_bits=config.proof_of_work_base_bits,
                    max_bits=max(config.proof_of_work_base_bits, config.proof_of_work_max_bits),
                    challenge_seconds=config.proof_of_work_seconds,
                ),
            ),
            storage=storage_from_settings(settings),
            # Decoy certificates are signed by a throwaway key: same shape, never valid.
            decoy_key=ec.generate_private_key(ec.SECP256R1()),
            latency={name: LatencySampler() for name in PHONE_ROUTES},
            clock=clock,
            sleep=sleep,
        )
        if calibrate:
            runtime.calibrate()
        return runtime

    def calibrate(self, samples: int = CALIBRATION_SAMPLES) -> None:
        """Time each phone route's store step on throwaway data (rolled back), so that decoys
        wait like real answers from the very first request, not a made-up default."""
        for name in PHONE_ROUTES:
            for _ in range(samples):
                self.latency[name].observe(_rehearse(self, name))


_runtime_lock = threading.Lock()


def get_runtime(request: Request) -> ExposureRuntime:
    """The app's exposure runtime (created and calibrated on first use)."""
    runtime: ExposureRuntime | None = getattr(request.app.state, "exposure", None)
    if runtime is None:
        with _runtime_lock:
            runtime = getattr(request.app.state, "exposure", None)
            if runtime is None:
                runtime = ExposureRuntime.build(
                    request.app.state.settings, request.app.state.database
                )
                request.app.state.exposure = runtime
    return runtime


RuntimeDep = Annotated[ExposureRuntime, Depends(get_runtime)]
#: The app's key (``X-API-Key``); checked by :func:`_phone` so a refusal is padded like the rest.
AppKeyDep = Annotated[
    str | None,
    Depends(
        APIKeyHeader(
            name=wire.API_KEY_HEADER,
            auto_error=False,
            description="The app's API key (`safezone exposure apps create --name N`).",
        )
    ),
]
logger = structlog.get_logger(__name__)


class PhoneError(Exception):
    """A phone request refused before or during validation (rendered per endpoint)."""

    def __init__(self, status: int, error: FieldError, **extra: Any) -> None:
        super().__init__(error.message_en)
        self.status = status
        self.error = error
        self.extra = extra


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing more than ``limit`` bytes (checked while streaming) or non-JSON."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise PhoneError(
            415,
            FieldError(
                None,
                "unsupported_media_type",
                "Nội dung phải là JSON (Content-Type: application/json).",
                "The body must be JSON (Content-Type: application/json).",
            ),
        )
    too_large = PhoneError(
        413,
        FieldError(
            None,
            "body_too_large",
            "Dữ liệu gửi lên quá lớn.",
            f"The body is larger than {limit} bytes.",
        ),
    )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse(model: type[Model], body: bytes, code: str | None = None) -> Model:
    """Validate a JSON body; PhoneError(400) naming the first bad field (error ``code``, or
    pydantic's error type)."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise PhoneError(
            400,
            FieldError(
                where,
                code or str(first["type"]),
                f"Dữ liệu không hợp lệ ở {where}.",
                f"{where}: {first['msg']}",
            ),
        ) from None


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema with its ``$defs`` inlined (for ``openapi_extra``)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI request body for a route that reads its body itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": inline_schema(model)}},
        }
    }


def _client(request: Request, runtime: ExposureRuntime) -> str:
    # The address becomes an opaque day-scoped key at once; it is never stored or logged.
    address = request.client.host if request.client else "unknown"
    return client_key(runtime.settings.keyring, address_group(address))


def _padded(runtime: ExposureRuntime, payload: dict[str, Any], status: int) -> Response:
    return Response(
        padded_json(payload, runtime.settings.exposure.response_size_bytes),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def _run_db(runtime: ExposureRuntime, work: Callable[[Session], Any]) -> Any:
    """Run ``work(session)`` in a worker thread; committed before the answer is sent."""

    def run() -> Any:
        with runtime.database.session() as session:
            return work(session)

    return await run_in_threadpool(run)


RATE_LIMITED = FieldError(
    None,
    wire.ERR_RATE_LIMITED,
    "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau.",
    "Too many requests from this address; please try again later.",
)
PROOF_OF_WORK_REQUIRED = FieldError(
    "powSolution",
    wire.ERR_PROOF_OF_WORK_REQUIRED,
    "Đang có nhiều lần đoán mã sai: điện thoại cần giải một bài toán nhỏ rồi gửi lại.",
    "Many wrong codes are being tried: solve the challenge and send the request again.",
)
INVALID_TEST_TYPE = FieldError(
    "accept",
    wire.ERR_INVALID_TEST_TYPE,
    "accept chỉ nhận confirmed, likely, negative hoặc user-report.",
    "accept may only hold confirmed, likely, negative or user-report.",
)


@dataclass(frozen=True, slots=True)
class ErrorStyle:
    """How one server family spells errors.

    The verification server (verify, certificate) answers ``error`` + ``errorCode`` and refuses
    every unreadable body (not JSON, too large, malformed, unknown field) with 400
    ``unparsable_request``; the key server (publish) answers ``error`` + ``code``, keeps 413 and
    415 for size and media type, and calls them all ``bad_request``.
    """

    code_field: str
    unparsable: str
    internal: str
    body_status: int | None  # None: keep 413/415

    def payload(self, error: PhoneError) -> dict[str, Any]:
        """The JSON of a refusal (the message in English, as the reference servers send)."""
        return {"error": error.error.message_en, self.code_field: error.error.code, **error.extra}

    def unreadable(self, error: PhoneError) -> PhoneError:
        """A body-level refusal (size, media type, parse) in this family's terms."""
        status = self.body_status or error.status
        field = FieldError(
            error.error.field, self.unparsable, error.error.message_vi, error.error.message_en
        )
        return PhoneError(status, field)


VERIFICATION_ERRORS = ErrorStyle("errorCode", wire.ERR_UNPARSABLE_REQUEST, wire.ERR_INTERNAL, 400)
KEY_SERVER_ERRORS = ErrorStyle("code", BAD_REQUEST, wire.PUBLISH_INTERNAL, None)


@dataclass(frozen=True)
class PhoneRoute:
    """What differs between the three phone routes; :func:`_phone` does the rest.

    ``store`` runs in a database transaction and returns the success payload; ``decoy`` builds
    a decoy's success payload; ``errors`` spells refusals; ``needs_app_key`` routes require
    ``X-API-Key``; ``limited`` routes count requests per address; ``counts_failed_guesses``
    (verify) spends the global failed-guess budget and asks for a proof of work above it.
    """

    name: str
    model: type[BaseModel]
    body_limit: Callable[[ExposureRuntime], int]
    store: Callable[[ExposureRuntime, Any], Callable[[Session], dict[str, Any]]]
    decoy: Callable[[ExposureRuntime, bytes], dict[str, Any]]
    errors: ErrorStyle
    needs_app_key: bool = True
    limited: bool = True
    counts_failed_guesses: bool = False


def _limit_step(runtime: ExposureRuntime, route: PhoneRoute, client: str, body: Any) -> None:
    """Per-address limit; on verify, the failed-guess budget and the proof of work."""
    limits = runtime.limits
    if not route.limited:
        return
    if not route.counts_failed_guesses:
        if not limits.hit_client(client).allowed:
            raise PhoneError(429, RATE_LIMITED)
        return
    bits = limits.required_bits(limits.client_has_room(client))
    if bits and not limits.accept_proof(body.pow_challenge, body.pow_solution, bits):
        # The code is not even looked at, nor the request counted: no proof, no guess.
        challenge = limits.challenge(bits)
        raise PhoneError(
            428, PROOF_OF_WORK_REQUIRED, powChallenge=challenge.token, powBits=challenge.bits
        )
    limits.hit_client(client)  # counts code checks only: asking for a challenge is free


def _check_app_key(runtime: ExposureRuntime, key: str | None) -> None:
    """AppKeyRejected (401) unless ``key`` belongs to a live app."""
    with runtime.database.session() as session:
        apps.authenticate(session, key)


async def _phone(
    route: PhoneRoute, request: Request, runtime: ExposureRuntime, app_key: str | None = None
) -> Response:
    """app key -> chaff -> rate limit -> parse -> store -> pad, the same for every phone route."""
    started = runtime.clock()
    try:
        if route.needs_app_key:
            # First: a caller without a key learns nothing else (not even the decoy shapes).
            await run_in_threadpool(_check_app_key, runtime, app_key)
        try:
            body = await read_body(request, route.body_limit(runtime))
            if not is_chaff(request.headers):
                data = parse(route.model, body)
        except PhoneError as error:
            raise route.errors.unreadable(error) from None
        if is_chaff(request.headers):
            wait = runtime.latency[route.name].draw() - (runtime.clock() - started)
            if wait > 0:
                await runtime.sleep(wait)
            return _padded(runtime, route.decoy(runtime, body), 200)
        client = _client(request, runtime)
        await run_in_threadpool(_limit_step, runtime, route, client, data)
        try:
            payload = await _run_db(runtime, route.store(runtime, data))
        except codes.VerificationRejected:
            if route.counts_failed_guesses:
                await run_in_threadpool(runtime.limits.record_failed_guess)
            raise
    except PhoneError as error:
        return _padded(runtime, route.errors.payload(error), error.status)
    except SafezoneError as error:
        refused = PhoneError(error.status_hint, error.errors[0])
        return _padded(runtime, route.errors.payload(refused), error.status_hint)
    except Exception:  # any other failure is the server's: a padded 500, logged
        logger.exception("exposure.phone_route_failed", route=route.name)
        failed = PhoneError(
            500,
            FieldError(None, route.errors.internal, "Lỗi máy chủ.", "internal error"),
        )
        return _padded(runtime, route.errors.payload(failed), 500)
    runtime.latency[route.name].observe(runtime.clock() - started)
    return _padded(runtime, payload, 200)


# --- verify -------------------------------------------------------------------------------------


def _verify_store(
    runtime: ExposureRuntime, data: wire.VerifyCodeRequest
) -> Callable[[Session], dict[str, Any]]:
    try:
        accept = wire.accepted_test_types(data.accept)
    except wire.InvalidAcceptList:
        raise PhoneError(400, INVALID_TEST_TYPE) from None

    def store(session: Session) -> dict[str, Any]:
        result = codes.verify_code(session, runtime.codes, data.code, now=utcnow(), accept=accept)
        return {
            "testtype": result.test_type,
            "symptomDate": result.symptom_date,
            "testDate": result.test_date,
            "token": result.token,
        }

    return store


def _verify_decoy(runtime: ExposureRuntime, body: bytes) -> dict[str, Any]:
    del runtime, body
    today = utcnow().date()
    return {
        "testtype": "confirmed",
        "symptomDate": today - dt.timedelta(days=secrets.randbelow(5)),
        "testDate": today - dt.timedelta(days=secrets.randbelow(3)),
        "token": secrets.token_urlsafe(32),
    }


VERIFY = PhoneRoute(
    name="verify",
    model=wire.VerifyCodeRequest,
    body_limit=lambda runtime: 8 * 1024,
    store=_verify_store,
    decoy=_verify_decoy,
    errors=VERIFICATION_ERRORS,
    counts_failed_guesses=True,
)

# --- certificate --------------------------------------------------------------------------------


def _certificate_store(
    runtime: ExposureRuntime, data: wire.VerificationCertificateRequest
) -> Callable[[Session], dict[str, Any]]:
    def store(session: Session) -> dict[str, Any]:
        signed = codes.issue_certificate(
            session, runtime.codes, data.token, data.ekeyhmac, now=utcnow()
        )
        return {"certificate": signed}

    return store


def _certificate_decoy(runtime: ExposureRuntime, body: bytes) -> dict[str, Any]:
    del body
    now = int(time.time())
    day_start = now // INTERVAL_SECONDS // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD
    claims = {
        "iss": runtime.codes.issuer,
        "aud": runtime.codes.audience,
        "iat": now,
        "nbf": now - 60,
        "exp": now + int(runtime.codes.certificate_ttl.total_seconds()),
        "jti": secrets.token_urlsafe(16),
        "reportType": "confirmed",
        "tekmac": secrets.token_urlsafe(32)[:43] + "=",
        "symptomOnsetInterval": day_start,
        "testDateInterval": day_start,
    }
    return {
        "certificate": jwt.encode(
            claims,
            runtime.decoy_key,
            algorithm=codes.CERTIFICATE_ALGORITHM,
            headers={"kid": runtime.codes.certificate_kid},
        )
    }


CERTIFICATE = PhoneRoute(
    name="certificate",
    model=wire.VerificationCertificateRequest,
    body_limit=lambda runtime: 8 * 1024,
    store=_certificate_store,
    decoy=_certificate_decoy,
    errors=VERIFICATION_ERRORS,
)

# --- publish ------------------------------------------------------------------------------------


def _publish_store(
    runtime: ExposureRuntime, data: wire.PublishIn
) -> Callable[[Session], dict[str, Any]]:
    def store(session: Session) -> dict[str, Any]:
        result = publish(session, runtime.publish, data, now=utcnow())
        return {
            "revisionToken": result.revision_token,
            "insertedExposures": result.inserted,
            "warnings": result.warnings or None,
        }

    return store


def _publish_decoy(runtime: ExposureRuntime, body: bytes) -> dict[str, Any]:
    try:
        keys = json.loads(body).get("temporaryExposureKeys")
    except (ValueError, AttributeError):
        keys = None
    count = len(keys) if isinstance(keys, list) and 0 < len(keys) <= 30 else 14
    return {"revisionToken": runtime.publish.revision_token([]), "insertedExposures": count}


PUBLISH = PhoneRoute(
    name="publish",
    model=wire.PublishIn,
    body_limit=lambda runtime: runtime.settings.exposure.max_publish_bytes,
    store=_publish_store,
    decoy=_publish_decoy,
    errors=KEY_SERVER_ERRORS,
    # The key server authorises an upload by its certificate and health authority, not by an
    # app key (as Google's does).
    needs_app_key=False,
    # The single-use certificate is publish's limit: it comes only through the limited verify
    # and certificate routes, and a request without a valid one never reaches the database.
    # Counting addresses here would cost two database round trips on every upload.
    limited=False,
)


# --- rehearsals: the store steps on throwaway data, for the decoy-timing calibration --------


def _rehearse(runtime: ExposureRuntime, name: str) -> float:
    """Seconds one ``name`` store step takes, run on throwaway rows and rolled back."""
    session = runtime.database.sessionmaker()
    try:
        now = utcnow()
        prepare = {"verify": _prepare_verify, "certificate": _prepare_certificate}.get(
            name, _prepare_publish
        )
        route, data = prepare(runtime, session, now)
        started = runtime.clock()
        try:
            route.store(runtime, data)(session)
            session.flush()
        except SafezoneError:
            pass  # e.g. no unit or no health authority yet: the refusal path is timed
        return runtime.clock() - started
    finally:
        session.rollback()
        session.close()


def _prepare_verify(
    runtime: ExposureRuntime, session: Session, now: dt.datetime
) -> tuple[PhoneRoute, Any]:
    code = "".join(secrets.choice(codes.LONG_CODE_ALPHABET) for _ in range(codes.LONG_CODE_LENGTH))
    unit = session.scalar(select(Unit.code).limit(1))
    if unit is not None:
        session.add(
            VerificationCode(
                unit_code=unit,
                test_type="confirmed",
                test_date=now.date(),
                short_hmac=runtime.codes.digest("short", secrets.token_hex(16)),
                long_hmac=runtime.codes.digest("long", code),
                short_expires_at=now + runtime.codes.short_code_ttl,
                long_expires_at=now + runtime.codes.long_code_ttl,
                created_at=now,
            )
        )
        session.flush()
    return VERIFY, wire.VerifyCodeRequest.model_validate({"code": code})


def _prepare_certificate(
    runtime: ExposureRuntime, session: Session, now: dt.datetime
) -> tuple[PhoneRoute, Any]:
    token = secrets.token_urlsafe(32)
    session.add(
        VerificationToken(
            token_hmac=runtime.codes.digest("token", token),
            code_id=None,
            test_type="confirmed",
            test_date=now.date(),
            expires_at=now + runtime.codes.token_ttl,
            created_at=now,
        )
    )
    session.flush()
    ekeyhmac = base64.b64encode(os.urandom(32)).decode()
    return CERTIFICATE, wire.VerificationCertificateRequest.model_validate(
        {"token": token, "ekeyhmac": ekeyhmac}
    )


def _prepare_publish(
    runtime: ExposureRuntime, session: Session, now: dt.datetime
) -> tuple[PhoneRoute, Any]:
    del session
    today = int(now.timestamp()) // INTERVAL_SECONDS // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD
    keys = [
        TemporaryExposureKey(os.urandom(16), today - TEK_ROLLING_PERIOD * n, TEK_ROLLING_PERIOD)
        for n in range(14, 0, -1)
    ]
    secret = os.urandom(32)
    authority = next(iter(runtime.publish.authorities), "")
    data = wire.PublishIn.model_validate(
        {
            "temporaryExposureKeys": [
                {
                    "key": base64.b64encode(k.key_data).decode(),
                    "rollingStartNumber": k.rolling_start_interval_number,
                    "rollingPeriod": k.rolling_period,
                }
                for k in keys
            ],
            "healthAuthorityID": authority,
            "verificationPayload": codes.sign_certificate(
                runtime.codes,
                test_type="confirmed",
                test_date=now.date(),
                symptom_date=None,
                ekeyhmac=tekmac(keys, secret),
                now=now,
            ),
            "hmacKey": base64.b64encode(secret).decode(),
        }
    )
    return PUBLISH, data


# --- the routes -------------------------------------------------------------------------------


def _verification_responses(model: type[BaseModel]) -> dict[int | str, Any]:
    return {
        200: {"model": model, "description": "Accepted (or a decoy, for `X-Chaff: 1`)"},
        400: {
            "model": model,
            "description": "`error` + `errorCode` (unparsable_request, code_invalid, "
            "code_expired, invalid_test_type, token_invalid, token_expired, hmac_invalid); "
            "nothing stored",
        },
        401: {"model": model, "description": "Missing, unknown or revoked `X-API-Key`"},
        429: {"model": model, "description": "Too many requests from this address"},
        500: {"model": model, "description": "internal_server_error"},
    }


_VERIFY_DOC: dict[str, Any] = {
    "openapi_extra": body_doc(wire.VerifyCodeRequest),
    "response_model": wire.VerifyCodeResponse,
    "responses": {
        **_verification_responses(wire.VerifyCodeResponse),
        412: {
            "model": wire.VerifyCodeResponse,
            "description": "unsupported_test_type: the code's test type is not in `accept` "
            "(the code stays unused)",
        },
        428: {
            "model": wire.VerifyCodeResponse,
            "description": "Wrong codes over the budget: solve `powChallenge` and send again",
        },
    },
}
_CERTIFICATE_DOC: dict[str, Any] = {
    "openapi_extra": body_doc(wire.VerificationCertificateRequest),
    "response_model": wire.VerificationCertificateResponse,
    "responses": _verification_responses(wire.VerificationCertificateResponse),
}


@router.post(wire.VERIFY_PATH, **_VERIFY_DOC)
async def verify(request: Request, runtime: RuntimeDep, app_key: AppKeyDep) -> Response:
    """Exchange a verification code for a token (Google's `VerifyCodeRequest`).

    `accept` is a hierarchy: confirmed < likely < negative. `X-Chaff: 1` for a decoy.
    """
    return await _phone(VERIFY, request, runtime, app_key)


@router.post(wire.LEGACY_VERIFY_PATH, include_in_schema=False)
async def verify_legacy(request: Request, runtime: RuntimeDep, app_key: AppKeyDep) -> Response:
    """The older path of :func:`verify` (same behaviour)."""
    return await _phone(VERIFY, request, runtime, app_key)


@router.post(wire.CERTIFICATE_PATH, **_CERTIFICATE_DOC)
async def certificate(request: Request, runtime: RuntimeDep, app_key: AppKeyDep) -> Response:
    """Exchange a token and the HMAC of the keys for a certificate (Google's
    `VerificationCertificateRequest`; `X-Chaff: 1` for a decoy)."""
    return await _phone(CERTIFICATE, request, runtime, app_key)


@router.post(wire.LEGACY_CERTIFICATE_PATH, include_in_schema=False)
async def certificate_legacy(request: Request, runtime: RuntimeDep, app_key: AppKeyDep) -> Response:
    """The older path of :func:`certificate` (same behaviour)."""
    return await _phone(CERTIFICATE, request, runtime, app_key)


@router.post(
    wire.PUBLISH_PATH,
    openapi_extra=body_doc(wire.PublishIn),
    response_model=wire.PublishOut,
    responses={
        200: {"model": wire.PublishOut, "description": "Stored (or a decoy, for `X-Chaff: 1`)"},
        400: {"model": wire.PublishOut, "description": "`error` + `code`; nothing stored"},
        401: {
            "model": wire.PublishOut,
            "description": "Unknown health authority or bad certificate",
        },
        413: {"model": wire.PublishOut, "description": "Body larger than the limit (64 KB)"},
        415: {"model": wire.PublishOut, "description": "Body is not JSON"},
        500: {"model": wire.PublishOut, "description": "internal_error"},
    },
)
async def publish_keys(request: Request, runtime: RuntimeDep) -> Response:
    """Publish diagnosis keys (the key server's `Publish`; `X-Chaff: 1` for a decoy upload)."""
    return await _phone(PUBLISH, request, runtime)


# --- staff: verification codes ----------------------------------------------------------------


@router.post("/api/v1/verification/codes", status_code=201)
def issue_code(
    session: SessionDep,
    runtime: RuntimeDep,
    user: Verifier,
    scope: UnitScope,
    body: CodeIn,
) -> CodeOut:
    """Issue a short (8 digits, 15 min) and a long (16 characters, 24 h) code; shown once."""
    issued = codes.issue_code(
        session,
        runtime.codes,
        unit_code=body.unit_code,
        test_type=body.test_type,
        test_date=body.test_date,
        symptom_date=body.symptom_date,
        actor=user.username,
        now=utcnow(),
        scope=scope,
    )
    return CodeOut(
        id=issued.id,
        unit_code=issued.unit_code,
        test_type=issued.test_type,
        test_date=issued.test_date,
        symptom_date=issued.symptom_date,
        short_code=issued.short_code,
        short_expires_at=issued.short_expires_at,
        long_code=issued.long_code,
        long_expires_at=issued.long_expires_at,
    )


def _status(row: Any) -> CodeStatusOut:
    return CodeStatusOut(
        id=row.id,
        unit_code=row.unit_code,
        test_type=row.test_type,
        status=codes.code_status(row, utcnow()),
        created_at=row.created_at,
        claimed_at=row.claimed_at,
        revoked_at=row.revoked_at,
        long_expires_at=row.long_expires_at,
    )


@router.get("/api/v1/verification/codes/{code_id}")
def code_status(
    session: SessionDep, user: Verifier, scope: UnitScope, code_id: RowId
) -> CodeStatusOut:
    """A code's status (404 when out of the caller's scope)."""
    del user
    return _status(codes.get_code(session, scope, code_id))


@router.post("/api/v1/verification/codes/{code_id}/revoke")
def revoke_code(
    session: SessionDep, user: Verifier, scope: UnitScope, code_id: RowId
) -> CodeStatusOut:
    """Revoke an unused code."""
    return _status(codes.revoke_code(session, scope, code_id, actor=user.username, now=utcnow()))


# --- export files -----------------------------------------------------------------------------


@files_router.get("/exposure/v1/signing-keys")
def signing_keys(session: SessionDep) -> list[SigningKeyOut]:
    """Public keys that sign export files (key id, version, algorithm, key)."""
    return [SigningKeyOut.model_validate(k.as_json()) for k in signing.list_keys(session)]


@files_router.get(
    "/exposure/v1/{path:path}",
    responses={200: {"content": {"application/zip": {}, "text/plain": {}}}, 404: {}},
)
def export_file(request: Request, runtime: RuntimeDep, path: str) -> Response:
    """An export file or a region's ``index.txt`` (ETag and cache headers)."""
    not_found = JSONResponse(
        {"errors": [FieldError(None, "not_found", "Không tìm thấy.", "Not found.").as_dict()]},
        status_code=404,
    )
    try:
        data = runtime.storage.get(check_path(path))
    except (InvalidPath, FileNotFoundError):
        return not_found
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={cache_seconds(path)}"}
    if etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type(path), headers=headers)
