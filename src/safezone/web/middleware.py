"""One ASGI middleware for what every request needs: language, body limit, log line, metrics.

The log line holds method, route template, status and duration: no client address, no query
string, no path parameters (a path may hold a token or an identity number).
"""

from __future__ import annotations

import time
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

import structlog
from prometheus_client import Counter, Histogram
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


class BodyTooLarge(Exception):
    """The request body exceeded the limit while streaming."""


class RequestMiddleware:
    """Language, body-size limit, structured request log and Prometheus metrics."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

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
                if remember:
                    cookie = (
                        f"{i18n.LANG_COOKIE}={locale}; Path=/; Max-Age={LANG_COOKIE_MAX_AGE}; "
                        "SameSite=Lax"
                    )
                    message.setdefault("headers", []).append((b"set-cookie", cookie.encode()))
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
