"""JSON routes: the phone-facing verify/certificate/publish endpoints, the staff code API and
the export files (``/exposure/v1/...``).

The three phone routes share one wrapper (:func:`_phone`): read the body (size limit while
streaming) -> answer a decoy marked ``X-Chaff`` without touching the database -> per-address
limit -> parse -> (verify: failed-guess budget and proof of work) -> store -> pad every answer
to one size. Nothing identifying the phone is kept: its address is turned into an opaque,
day-scoped key for the shared limit counters.
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
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
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
from safezone.exposure import codes, signing
from safezone.exposure.limits import LimitsPolicy, PhoneLimits, address_group
from safezone.exposure.models import VerificationCode, VerificationToken
from safezone.exposure.privacy import LatencySampler, is_chaff, padded_json
from safezone.exposure.publish import BAD_REQUEST, PublishPolicy, publish
from safezone.exposure.schemas import (
    CertificateIn,
    CertificateOut,
    CodeIn,
    CodeOut,
    CodeStatusOut,
    PhoneErrorOut,
    PublishIn,
    PublishOut,
    SigningKeyOut,
    VerifyIn,
    VerifyOut,
)
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
    "rate_limited",
    "Quá nhiều yêu cầu từ địa chỉ này; vui lòng thử lại sau.",
    "Too many requests from this address; please try again later.",
)
PROOF_OF_WORK_REQUIRED = FieldError(
    "powSolution",
    "proof_of_work_required",
    "Đang có nhiều lần đoán mã sai: điện thoại cần giải một bài toán nhỏ rồi gửi lại.",
    "Many wrong codes are being tried: solve the challenge and send the request again.",
)


@dataclass(frozen=True)
class PhoneRoute:
    """What differs between the three phone routes; :func:`_phone` does the rest.

    ``store`` runs in a database transaction and returns the success payload; ``decoy`` builds
    a decoy's success payload; ``error`` shapes an error payload (publish speaks the reference
    server's ``error``/``code``); ``limited`` routes count requests per address;
    ``counts_failed_guesses`` (verify) spends the global failed-guess budget and asks for a
    proof of work above it.
    """

    name: str
    model: type[BaseModel]
    body_limit: Callable[[ExposureRuntime], int]
    store: Callable[[ExposureRuntime, Any], Callable[[Session], dict[str, Any]]]
    decoy: Callable[[ExposureRuntime, bytes], dict[str, Any]]
    error: Callable[[PhoneError], dict[str, Any]]
    parse_error_code: str | None = None
    limited: bool = True
    counts_failed_guesses: bool = False


def _errors_payload(error: PhoneError) -> dict[str, Any]:
    return {"errors": [error.error.as_dict()], **error.extra}


def _publish_error(error: PhoneError) -> dict[str, Any]:
    return {"error": error.error.message_en, "code": error.error.code}


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
    if bits and not limits.accept_proof(body.powChallenge, body.powSolution, bits):
        # The code is not even looked at, nor the request counted: no proof, no guess.
        challenge = limits.challenge(bits)
        raise PhoneError(
            428, PROOF_OF_WORK_REQUIRED, powChallenge=challenge.token, powBits=challenge.bits
        )
    limits.hit_client(client)  # counts code checks only: asking for a challenge is free


async def _phone(route: PhoneRoute, request: Request, runtime: ExposureRuntime) -> Response:
    """chaff -> rate limit -> parse -> store -> pad, the same for every phone route."""
    started = runtime.clock()
    try:
        body = await read_body(request, route.body_limit(runtime))
        if is_chaff(request.headers):
            wait = runtime.latency[route.name].draw() - (runtime.clock() - started)
            if wait > 0:
                await runtime.sleep(wait)
            return _padded(runtime, route.decoy(runtime, body), 200)
        data = parse(route.model, body, route.parse_error_code)
        client = _client(request, runtime)
        await run_in_threadpool(_limit_step, runtime, route, client, data)
        try:
            payload = await _run_db(runtime, route.store(runtime, data))
        except codes.VerificationRejected:
            if route.counts_failed_guesses:
                await run_in_threadpool(runtime.limits.record_failed_guess)
            raise
    except PhoneError as error:
        return _padded(runtime, route.error(error), error.status)
    except SafezoneError as error:
        refused = PhoneError(error.status_hint, error.errors[0])
        return _padded(runtime, route.error(refused), error.status_hint)
    runtime.latency[route.name].observe(runtime.clock() - started)
    return _padded(runtime, payload, 200)


# --- verify -------------------------------------------------------------------------------------


def _verify_store(runtime: ExposureRuntime, data: VerifyIn) -> Callable[[Session], dict[str, Any]]:
    def store(session: Session) -> dict[str, Any]:
        result = codes.verify_code(session, runtime.codes, data.code, now=utcnow())
        return {
            "token": result.token,
            "testType": result.test_type,
            "symptomDate": result.symptom_date,
            "testDate": result.test_date,
        }

    return store


def _verify_decoy(runtime: ExposureRuntime, body: bytes) -> dict[str, Any]:
    del runtime, body
    today = utcnow().date()
    return {
        "token": secrets.token_urlsafe(32),
        "testType": "confirmed",
        "symptomDate": today - dt.timedelta(days=secrets.randbelow(5)),
        "testDate": today - dt.timedelta(days=secrets.randbelow(3)),
    }


VERIFY = PhoneRoute(
    name="verify",
    model=VerifyIn,
    body_limit=lambda runtime: 8 * 1024,
    store=_verify_store,
    decoy=_verify_decoy,
    error=_errors_payload,
    counts_failed_guesses=True,
)

# --- certificate --------------------------------------------------------------------------------


def _certificate_store(
    runtime: ExposureRuntime, data: CertificateIn
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
    model=CertificateIn,
    body_limit=lambda runtime: 8 * 1024,
    store=_certificate_store,
    decoy=_certificate_decoy,
    error=_errors_payload,
)

# --- publish ------------------------------------------------------------------------------------


def _publish_store(
    runtime: ExposureRuntime, data: PublishIn
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
    model=PublishIn,
    body_limit=lambda runtime: runtime.settings.exposure.max_publish_bytes,
    store=_publish_store,
    decoy=_publish_decoy,
    error=_publish_error,
    parse_error_code=BAD_REQUEST,
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
    return VERIFY, VerifyIn(code=code)


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
    return CERTIFICATE, CertificateIn(token=token, ekeyhmac=ekeyhmac)


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
    data = PublishIn.model_validate(
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


def _phone_responses(ok: type[BaseModel], error: type[BaseModel]) -> dict[int | str, Any]:
    return {
        200: {"model": ok, "description": "Accepted (or a decoy, for ``X-Chaff: 1``)"},
        400: {"model": error, "description": "Rejected (code, token or field); nothing stored"},
        413: {"model": error, "description": "Body too large"},
        415: {"model": error, "description": "Body is not JSON"},
        429: {"model": error, "description": "Too many requests from this address"},
    }


@router.post(
    "/api/v1/verify",
    openapi_extra=body_doc(VerifyIn),
    response_model=VerifyOut,
    responses={
        **_phone_responses(VerifyOut, PhoneErrorOut),
        428: {
            "model": PhoneErrorOut,
            "description": "Wrong codes over the budget: solve `powChallenge` and send again",
        },
    },
)
async def verify(request: Request, runtime: RuntimeDep) -> Response:
    """Exchange a verification code for a token (``X-Chaff: 1`` for a decoy)."""
    return await _phone(VERIFY, request, runtime)


@router.post(
    "/api/v1/certificate",
    openapi_extra=body_doc(CertificateIn),
    response_model=CertificateOut,
    responses=_phone_responses(CertificateOut, PhoneErrorOut),
)
async def certificate(request: Request, runtime: RuntimeDep) -> Response:
    """Exchange a token and the HMAC of the keys for a certificate (``X-Chaff`` decoys)."""
    return await _phone(CERTIFICATE, request, runtime)


@router.post(
    "/v1/publish",
    openapi_extra=body_doc(PublishIn),
    response_model=PublishOut,
    responses={
        200: {"model": PublishOut, "description": "Stored (or a decoy, for ``X-Chaff: 1``)"},
        400: {"model": PublishOut, "description": "`error` + `code`; nothing stored"},
        401: {"model": PublishOut, "description": "Unknown health authority or bad certificate"},
        413: {"model": PublishOut, "description": "Body larger than the limit (64 KB)"},
        415: {"model": PublishOut, "description": "Body is not JSON"},
        429: {"model": PublishOut, "description": "Too many requests from this address"},
    },
)
async def publish_keys(request: Request, runtime: RuntimeDep) -> Response:
    """Publish diagnosis keys (Google's publish API; ``X-Chaff: 1`` for a decoy upload)."""
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
