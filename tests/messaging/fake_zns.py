"""A local stand-in for the Zalo ZNS API: the documented request and response shapes and
error codes, nothing more. The real API (business.openapi.zalo.me, oauth.zaloapp.com) cannot be
reached from the test machines.

- ``POST /message/template`` with header ``access_token`` and JSON ``phone``, ``template_id``,
  ``template_data``, ``tracking_id`` -> ``{"error": 0, "message": "Success", "data": {"msg_id",
  "sent_time", "quota": {"dailyQuota", "remainingQuota"}}}``, or ``error`` -124 (bad token),
  -118 (no Zalo account: numbers in ``no_zalo``), -144 (daily quota spent), -100 (``fail_next``).
- ``POST /v4/oa/access_token`` (form ``refresh_token``, ``app_id``, ``grant_type``; header
  ``secret_key``) -> ``{"access_token", "refresh_token", "expires_in"}``. Refresh tokens are
  single use, as Zalo's are.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ZnsState:
    """What the fake knows and what it saw."""

    app_id: str = "1234567890"
    app_secret: str = "fake-app-secret"
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-0"})
    no_zalo: set[str] = field(default_factory=set)  # phones (84...) answering -118
    daily_quota: int = 500
    remaining: int = 500
    fail_next: list[int] = field(default_factory=list)  # codes to answer next, in order
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted bodies
    refreshes: int = 0
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def tracking_counts(self) -> dict[str, int]:
        """How many times each tracking id was accepted."""
        counts: dict[str, int] = {}
        for body in self.sent:
            counts[body["tracking_id"]] = counts.get(body["tracking_id"], 0) + 1
        return counts


class _Handler(BaseHTTPRequestHandler):
    state: ZnsState

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        return

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        state = self.state
        with state.lock:
            state.calls += 1
            if self.path.startswith("/v4/oa/access_token"):
                self._refresh(state, raw)
            elif self.path.startswith("/message/template"):
                self._send(state, raw)
            else:
                self._json({"error": -404, "message": "not found"}, 404)

    def _refresh(self, state: ZnsState, raw: bytes) -> None:
        form = dict(urllib.parse.parse_qsl(raw.decode()))
        if self.headers.get("secret_key") != state.app_secret or form.get("app_id") != state.app_id:
            self._json({"error": -14002, "error_name": "Invalid app secret"})
            return
        token = form.get("refresh_token", "")
        if token not in state.refresh_tokens:
            self._json({"error": -14014, "error_name": "Invalid refresh token"})
            return
        state.refresh_tokens.discard(token)
        state.refreshes += 1
        access, refresh = f"access-{secrets.token_hex(6)}", f"refresh-{secrets.token_hex(6)}"
        state.access_tokens.add(access)
        state.refresh_tokens.add(refresh)
        self._json({"access_token": access, "refresh_token": refresh, "expires_in": "90000"})

    def _send(self, state: ZnsState, raw: bytes) -> None:
        if self.headers.get("access_token") not in state.access_tokens:
            self._json({"error": -124, "message": "Access token is invalid"})
            return
        try:
            body = json.loads(raw)
            phone, template = str(body["phone"]), str(body["template_id"])
        except (ValueError, KeyError):
            self._json({"error": -112, "message": "Body data is invalid"})
            return
        if not phone.startswith("84") or not template:
            self._json({"error": -108, "message": "Phone number is invalid"})
            return
        if state.fail_next:
            code = state.fail_next.pop(0)
            self._json({"error": code, "message": "Injected error"})
            return
        if phone in state.no_zalo:
            self._json({"error": -118, "message": "Zalo account does not exist"})
            return
        if state.remaining <= 0:
            self._json({"error": -144, "message": "OA has exceeded the daily quota"})
            return
        state.remaining -= 1
        state.sent.append(body)
        self._json(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "msg_id": secrets.token_hex(10),
                    "sent_time": str(int(time.time() * 1000)),
                    "quota": {
                        "dailyQuota": str(state.daily_quota),
                        "remainingQuota": str(state.remaining),
                    },
                },
            }
        )


@dataclass
class FakeZns:
    """The fake server on a free loopback port, in a thread."""

    state: ZnsState = field(default_factory=ZnsState)
    server: ThreadingHTTPServer | None = None

    def start(self) -> FakeZns:
        """Serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>"""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Shut the server down."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
