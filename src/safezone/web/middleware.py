"""ASGI middleware: what every request needs (language, body limit, security headers, log line,
metrics) and the signed session cookie that accepts every key of the ring.

The log line holds method, route template, status and duration: no client address, no query
string, no path parameters (a path may hold a token or an identity number).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from http.cookies import SimpleCookie
from typing import Literal
from urllib.parse import parse_qs

import itsdangerous
import structlog
from prometheus_client import Counter, Histogram
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safezone.web import i18n

log = structlog.get_logger("safezone.http")

REQUESTS = Counter("safezone_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "safezone_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

# Scripts only from this origin, plus inline ones carrying the response's nonce; styles may be
# inline (plotly.js injects <style> elements and sets style attributes when it draws).
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs and /redoc pages start Swagger UI / ReDoc with an inline script and load them
# from a CDN; they show only the public API description.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


def security_headers(path: str, nonce: str, *, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (unless the route set its own)."""
    policy = DOCS_POLICY if path.startswith(DOCS_PATHS) else PAGE_POLICY.format(nonce=nonce)
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),  # update links carry their token in the path
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class BodyTooLarge(Exception):
    """The request body exceeded the limit while streaming."""


class RotatingSessionMiddleware(SessionMiddleware):
    """Starlette's signed session cookie, signed with the first key and accepted under any.

    During a secret rotation, cookies signed under the previous secret stay valid (and are
    re-signed under the new one when the session changes), so nobody is logged out mid-work.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        secret_keys: Sequence[str],
        session_cookie: str,
        max_age: int,
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
    ) -> None:
        super().__init__(
            app,
            secret_key=secret_keys[0],
            session_cookie=session_cookie,
            max_age=max_age,
            same_site=same_site,
            https_only=https_only,
        )
        # itsdangerous takes keys oldest first and signs with the last one.
        self.signer = itsdangerous.TimestampSigner(list(reversed(secret_keys)))


class RequestMiddleware:
    """Language, body-size limit, security headers, structured request log, Prometheus metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, https: bool = False) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        asked = (query.get("lang") or [None])[0]
        locale = i18n.pick_locale(asked, self._cookie(scope, i18n.LANG_COOKIE))
        i18n.set_locale(locale)
        remember = asked in i18n.LOCALES
        status = 500
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        extra_headers = security_headers(scope.get("path", ""), nonce, https=self.https)

        length = self._header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            await self._reject_too_large(send)
            self._observe(scope, 413, started)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        response_started = False

        async def wrapped_send(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = message.setdefault("headers", [])
                present = {bytes(name).lower() for name, _ in headers}
                headers.extend(item for item in extra_headers if item[0] not in present)
                if remember:
                    cookie = (
                        f"{i18n.LANG_COOKIE}={locale}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; "
                        "SameSite=Lax" + ("; Secure" if self.https else "")
                    )
                    headers.append((b"set-cookie", cookie.encode()))
            await send(message)

        try:
            await self.app(scope, limited_receive, wrapped_send)
        except BodyTooLarge:
            if not response_started:
                await self._reject_too_large(send)
            status = 413
        finally:
            self._observe(scope, status, started)

    @staticmethod
    def _route(scope: Scope) -> str:
        route = scope.get("route")
        return getattr(route, "path", None) or "unmatched"

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = self._route(scope)
        method = scope.get("method", "")
        REQUESTS.labels(method, route, str(status)).inc()
        LATENCY.labels(method, route).observe(elapsed)
        log.info("request", method=method, route=route, status=status, ms=round(elapsed * 1000, 1))

    @staticmethod
    def _header(scope: Scope, name: bytes) -> str | None:
        for key, value in scope.get("headers", []):
            if key == name:
                return str(value.decode("latin-1"))
        return None

    def _cookie(self, scope: Scope, name: str) -> str | None:
        raw = self._header(scope, b"cookie")
        if not raw:
            return None
        cookies: SimpleCookie = SimpleCookie()
        try:
            cookies.load(raw)
        except Exception:  # noqa: BLE001 - a malformed cookie header is the client's problem
            return None
        morsel = cookies.get(name)
        return morsel.value if morsel else None

    @staticmethod
    async def _reject_too_large(send: Send) -> None:
        body = (
            b'{"errors":[{"field":null,"code":"body_too_large",'
            b'"message_vi":"D\\u1eef li\\u1ec7u g\\u1eedi l\\u00ean qu\\u00e1 l\\u1edbn.",'
            b'"message_en":"Request body too large."}]}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
