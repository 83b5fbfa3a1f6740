"""JSON routes: the phone-facing verify/certificate/publish endpoints, the staff code API and
the export files (``/exposure/v1/...``).

The phone endpoints read their bodies themselves (size limit while streaming, one error shape
per endpoint), answer decoys marked ``X-Chaff`` without touching the database, pad every answer
to one size, and never look at anything identifying the phone except, in memory only, the
address for the rate limit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError

from safezone.accounts.models import Role, User
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.errors import FieldError, SafezoneError
from safezone.exposure import codes, signing
from safezone.exposure.privacy import LatencySampler, RateLimiter, is_chaff, padded_json
from safezone.exposure.publish import BAD_REQUEST, PublishPolicy, PublishRejected, publish
from safezone.exposure.schemas import (
    CertificateIn,
    CodeIn,
    CodeOut,
    CodeStatusOut,
    PublishIn,
    SigningKeyOut,
    VerifyIn,
)
from safezone.exposure.storage import (
    InvalidPath,
    Storage,
    cache_seconds,
    check_path,
    content_type,
    storage_from_settings,
)
from safezone.web.deps import SessionDep, UnitScope, requires

router = APIRouter(tags=["exposure"])
files_router = APIRouter(tags=["exposure files"])
Model = TypeVar("Model", bound=BaseModel)
Verifier = Annotated[User, Depends(requires(Role.VERIFIER))]


@dataclass
class ExposureRuntime:
    """Per-app state of the exposure endpoints (policies, limits, timing samples, storage)."""

    settings: Settings
    database: Database
    codes: codes.CodePolicy
    publish: PublishPolicy
    limiter: RateLimiter
    storage: Storage
    latency: dict[str, LatencySampler]
    decoy_key: ec.EllipticCurvePrivateKey

    @classmethod
    def build(cls, settings: Settings, database: Database) -> ExposureRuntime:
        """Everything the routes need, built once per app."""
        config = settings.exposure
        code_policy = codes.CodePolicy.from_settings(settings)
        return cls(
            settings=settings,
            database=database,
            codes=code_policy,
            publish=PublishPolicy.from_settings(settings, code_policy),
            limiter=RateLimiter(
                per_client=config.rate_limit_per_client,
                total=config.rate_limit_global,
                window_seconds=config.rate_limit_window_seconds,
            ),
            storage=storage_from_settings(settings),
            latency={name: LatencySampler() for name in ("verify", "certificate", "publish")},
            # Decoy certificates are signed by a throwaway key: same shape, never valid.
            decoy_key=ec.generate_private_key(ec.SECP256R1()),
        )


def get_runtime(request: Request) -> ExposureRuntime:
    """The app's exposure runtime (created on first use)."""
    runtime: ExposureRuntime | None = getattr(request.app.state, "exposure", None)
    if runtime is None:
        runtime = ExposureRuntime.build(request.app.state.settings, request.app.state.database)
        request.app.state.exposure = runtime
    return runtime


RuntimeDep = Annotated[ExposureRuntime, Depends(get_runtime)]


class PhoneError(Exception):
    """A phone request refused before or during validation (rendered per endpoint)."""

    def __init__(self, status: int, error: FieldError) -> None:
        super().__init__(error.message_en)
        self.status = status
        self.error = error


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


def parse(model: type[Model], body: bytes) -> Model:
    """Validate a JSON body; PhoneError(400) naming the first bad field."""
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise PhoneError(
            400,
            FieldError(
                where,
                str(first["type"]),
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


def _client(request: Request) -> str:
    # Used only as rate-limit input, hashed in memory, never stored or logged.
    return request.client.host if request.client else "unknown"


def _padded(runtime: ExposureRuntime, payload: dict[str, Any], status: int) -> Response:
    return Response(
        padded_json(payload, runtime.settings.exposure.response_size_bytes),
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _errors_payload(error: FieldError) -> dict[str, Any]:
    return {"errors": [error.as_dict()]}


async def _decoy_wait(runtime: ExposureRuntime, name: str, started: float) -> None:
    remaining = runtime.latency[name].draw() - (time.perf_counter() - started)
    if remaining > 0:
        await asyncio.sleep(remaining)


async def _run_db(runtime: ExposureRuntime, work: Callable[[Any], Any]) -> Any:
    """Run ``work(session)`` in a worker thread; committed before the answer is sent."""

    def run() -> Any:
        with runtime.database.session() as session:
            return work(session)

    return await run_in_threadpool(run)


_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Rejected (code, token or field); nothing stored"},
    413: {"description": "Body too large"},
    415: {"description": "Body is not JSON"},
    429: {"description": "Rate limited"},
}


@router.post("/api/v1/verify", openapi_extra=body_doc(VerifyIn), responses=_RESPONSES)
async def verify(request: Request, runtime: RuntimeDep) -> Response:
    """Exchange a verification code for a token (``X-Chaff: 1`` for a decoy)."""
    started = time.perf_counter()
    if is_chaff(request.headers):
        await _decoy_wait(runtime, "verify", started)
        today = utcnow().date()
        return _padded(
            runtime,
            {
                "token": secrets.token_urlsafe(32),
                "testType": "confirmed",
                "symptomDate": today - dt.timedelta(days=secrets.randbelow(5)),
                "testDate": today - dt.timedelta(days=secrets.randbelow(3)),
            },
            200,
        )
    try:
        if not runtime.limiter.allow(_client(request)):
            raise PhoneError(429, codes.RateLimited().errors[0])
        data = parse(VerifyIn, await read_body(request, 8 * 1024))
        result: codes.Verified = await _run_db(
            runtime, lambda s: codes.verify_code(s, runtime.codes, data.code, now=utcnow())
        )
    except PhoneError as error:
        return _padded(runtime, _errors_payload(error.error), error.status)
    except SafezoneError as error:
        return _padded(runtime, _errors_payload(error.errors[0]), error.status_hint)
    runtime.latency["verify"].observe(time.perf_counter() - started)
    return _padded(
        runtime,
        {
            "token": result.token,
            "testType": result.test_type,
            "symptomDate": result.symptom_date,
            "testDate": result.test_date,
        },
        200,
    )


def _decoy_certificate(runtime: ExposureRuntime) -> str:
    now = int(time.time())
    claims = {
        "iss": runtime.codes.issuer,
        "aud": runtime.codes.audience,
        "iat": now,
        "nbf": now - 60,
        "exp": now + 900,
        "jti": secrets.token_urlsafe(16),
        "reportType": "confirmed",
        "tekmac": secrets.token_urlsafe(32)[:43] + "=",
        "symptomOnsetInterval": now // 600 // 144 * 144,
        "testDateInterval": now // 600 // 144 * 144,
    }
    return jwt.encode(
        claims, runtime.decoy_key, algorithm="ES256", headers={"kid": runtime.codes.certificate_kid}
    )


@router.post("/api/v1/certificate", openapi_extra=body_doc(CertificateIn), responses=_RESPONSES)
async def certificate(request: Request, runtime: RuntimeDep) -> Response:
    """Exchange a token and the HMAC of the keys for a certificate (``X-Chaff`` decoys)."""
    started = time.perf_counter()
    if is_chaff(request.headers):
        await _decoy_wait(runtime, "certificate", started)
        return _padded(runtime, {"certificate": _decoy_certificate(runtime)}, 200)
    try:
        if not runtime.limiter.allow(_client(request)):
            raise PhoneError(429, codes.RateLimited().errors[0])
        data = parse(CertificateIn, await read_body(request, 8 * 1024))
        signed: str = await _run_db(
            runtime,
            lambda s: codes.issue_certificate(
                s, runtime.codes, data.token, data.ekeyhmac, now=utcnow()
            ),
        )
    except PhoneError as error:
        return _padded(runtime, _errors_payload(error.error), error.status)
    except SafezoneError as error:
        return _padded(runtime, _errors_payload(error.errors[0]), error.status_hint)
    runtime.latency["certificate"].observe(time.perf_counter() - started)
    return _padded(runtime, {"certificate": signed}, 200)


def _decoy_key_count(body: bytes) -> int:
    try:
        keys = json.loads(body).get("temporaryExposureKeys")
    except (ValueError, AttributeError):
        return 14
    return len(keys) if isinstance(keys, list) and 0 < len(keys) <= 30 else 14


@router.post(
    "/v1/publish",
    openapi_extra=body_doc(PublishIn),
    responses={
        400: {"description": "`error` + `code` (reference API codes); nothing stored"},
        401: {"description": "Unknown health authority or invalid certificate"},
        413: {"description": "Body larger than 64 KB"},
        415: {"description": "Body is not JSON"},
    },
)
async def publish_keys(request: Request, runtime: RuntimeDep) -> Response:
    """Publish diagnosis keys (Google's publish API; ``X-Chaff: 1`` for a decoy upload)."""
    started = time.perf_counter()
    limit = runtime.settings.exposure.max_publish_bytes
    try:
        body = await read_body(request, limit)
    except PhoneError as error:
        return _padded(
            runtime, {"error": error.error.message_en, "code": error.error.code}, error.status
        )
    if is_chaff(request.headers):
        await _decoy_wait(runtime, "publish", started)
        return _padded(
            runtime,
            {
                "revisionToken": runtime.publish.revision_token([]),
                "insertedExposures": _decoy_key_count(body),
            },
            200,
        )
    try:
        data = parse(PublishIn, body)
        result = await _run_db(runtime, lambda s: publish(s, runtime.publish, data, now=utcnow()))
    except PhoneError as error:
        return _padded(
            runtime, {"error": error.error.message_en, "code": BAD_REQUEST}, error.status
        )
    except PublishRejected as error:
        return _padded(
            runtime, {"error": error.errors[0].message_en, "code": error.code}, error.status_hint
        )
    runtime.latency["publish"].observe(time.perf_counter() - started)
    return _padded(
        runtime,
        {
            "revisionToken": result.revision_token,
            "insertedExposures": result.inserted,
            "warnings": result.warnings or None,
        },
        200,
    )


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
    session: SessionDep, user: Verifier, scope: UnitScope, code_id: int
) -> CodeStatusOut:
    """A code's status (404 when out of the caller's scope)."""
    del user
    return _status(codes.get_code(session, scope, code_id))


@router.post("/api/v1/verification/codes/{code_id}/revoke")
def revoke_code(
    session: SessionDep, user: Verifier, scope: UnitScope, code_id: int
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
