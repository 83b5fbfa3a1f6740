"""Zalo Notification Service (ZNS): a thin client of our own over ``httpx``.

``POST {api_url}`` with the OA access token in the ``access_token`` header and the JSON body
``{"phone": "84905123456", "template_id": ..., "template_data": {...}, "tracking_id": "<our
message id>"}``; the answer is ``{"error": 0, "message": "Success", "data": {"msg_id": ...,
"sent_time": ..., "quota": {"dailyQuota": "500", "remainingQuota": "499"}}}`` or a negative
``error``. What each error code means for the sender is data (``data/zns_errors.json``).

Access tokens live about 25 hours and are refreshed with the refresh token, which is single use
(each refresh returns a new one): refreshing is serialised by a row lock in the database
(:mod:`safezone.messaging.gateway_state`), so two workers never spend the same refresh token.

The real API cannot be reached from the test machines; the tests run against a local HTTP server
of our own implementing the documented shapes and codes (tests/messaging/fake_zns.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import httpx

from safezone.messaging.channels.base import Outcome, Outgoing, SendResult

Action = Literal["accepted", "refresh", "fallback", "quota", "reject", "retry"]


@cache
def error_actions() -> dict[int, Action]:
    """The error-code map (code -> action) from the bundled data file."""
    raw = json.loads(
        resources.files("safezone.messaging.channels").joinpath("data/zns_errors.json").read_text()
    )
    return {int(code): entry["action"] for code, entry in raw["codes"].items()}


def action_for(code: int) -> Action:
    """What to do with ZNS error ``code`` (unknown codes: retry later)."""
    return error_actions().get(code, "retry")


def zalo_phone(e164: str) -> str:
    """ZNS wants the number without ``+``: ``+84905123456`` -> ``84905123456``."""
    return e164.lstrip("+")


@dataclass(frozen=True, slots=True)
class ZnsReply:
    """The API's answer to one send."""

    error: int
    message: str
    msg_id: str | None = None
    daily_quota: int | None = None
    remaining_quota: int | None = None


@dataclass(frozen=True, slots=True)
class TokenPair:
    """A fresh access token and the refresh token that replaces the spent one."""

    access_token: str
    refresh_token: str
    expires_in: int


class ZnsUnavailable(Exception):
    """The API could not be asked; ``ambiguous`` when the request may have gone out."""

    def __init__(self, detail: str, *, ambiguous: bool) -> None:
        super().__init__(detail)
        self.ambiguous = ambiguous


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass
class ZnsClient:
    """The two HTTP calls: send a template message, refresh the OA access token."""

    api_url: str
    oauth_url: str
    app_id: str
    app_secret: str
    timeout_seconds: float = 10.0
    client: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout_seconds)
        return self.client

    def send(self, access_token: str, outgoing: Outgoing) -> ZnsReply:
        """One template message; raises :class:`ZnsUnavailable` for network trouble."""
        body = {
            "phone": zalo_phone(outgoing.phone),
            "template_id": outgoing.zns_template_id or "",
            "template_data": outgoing.zns_data or {},
            "tracking_id": str(outgoing.message_id),
        }
        try:
            reply = self._client().post(
                self.api_url, json=body, headers={"access_token": access_token}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise ZnsUnavailable(type(error).__name__, ambiguous=False) from error
        except httpx.HTTPError as error:
            raise ZnsUnavailable(type(error).__name__, ambiguous=True) from error
        try:
            payload = reply.json()
            code = int(payload["error"])
        except (ValueError, KeyError, TypeError) as error:
            # A 5xx page or a proxy error: the API did not process it as a message.
            raise ZnsUnavailable(f"http {reply.status_code}", ambiguous=False) from error
        data = payload.get("data") or {}
        quota = data.get("quota") or {}
        return ZnsReply(
            error=code,
            message=str(payload.get("message", ""))[:200],
            msg_id=str(data["msg_id"]) if data.get("msg_id") else None,
            daily_quota=_int(quota.get("dailyQuota")),
            remaining_quota=_int(quota.get("remainingQuota")),
        )

    def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange the refresh token for a new pair; raises ZnsUnavailable or ValueError."""
        try:
            reply = self._client().post(
                self.oauth_url,
                data={
                    "refresh_token": refresh_token,
                    "app_id": self.app_id,
                    "grant_type": "refresh_token",
                },
                headers={"secret_key": self.app_secret},
            )
            payload = reply.json()
        except httpx.HTTPError as error:
            raise ZnsUnavailable(type(error).__name__, ambiguous=True) from error
        except ValueError as error:
            raise ZnsUnavailable(f"http {reply.status_code}", ambiguous=False) from error
        if "access_token" not in payload or "refresh_token" not in payload:
            raise ValueError(f"token refresh refused: {payload.get('error_name', payload)}"[:200])
        return TokenPair(
            access_token=str(payload["access_token"]),
            refresh_token=str(payload["refresh_token"]),
            expires_in=_int(payload.get("expires_in")) or 90_000,
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self.client is not None:
            self.client.close()


class TokenSource:
    """Where the channel gets its access token (the database, in production)."""

    def current(self) -> str:  # pragma: no cover - interface
        """The stored access token (refreshing first when none is stored yet)."""
        raise NotImplementedError

    def refresh(self, stale: str) -> str:  # pragma: no cover - interface
        """A new access token, refreshing only if ``stale`` is still the stored one."""
        raise NotImplementedError


@dataclass
class ZnsChannel:
    """Send one message by ZNS: refresh once on -124, map every other code to an outcome."""

    client: ZnsClient
    tokens: TokenSource

    def send(self, outgoing: Outgoing) -> SendResult:
        """One attempt (with at most one token refresh)."""
        if not outgoing.zns_template_id:
            return SendResult("fallback", error_code="zns_no_template")
        try:
            token = self.tokens.current()
            reply = self.client.send(token, outgoing)
            if action_for(reply.error) == "refresh":
                token = self.tokens.refresh(stale=token)
                reply = self.client.send(token, outgoing)
        except ZnsUnavailable as error:
            unsure: Outcome = "ambiguous" if error.ambiguous else "retry"
            return SendResult(unsure, error_code="zns_network", detail=str(error))
        except ValueError as error:  # the refresh itself was refused
            return SendResult("retry", error_code="zns_token", detail=str(error))
        action = action_for(reply.error)
        if action == "accepted":
            return SendResult(
                "accepted",
                gateway_id=reply.msg_id,
                daily_quota=reply.daily_quota,
                remaining_quota=reply.remaining_quota,
            )
        # Still refused after one refresh, or an unknown code: try again later. "reject" (this
        # message can never go by ZNS) falls back like "no Zalo account".
        outcome: Outcome = _OUTCOMES.get(action, "retry")
        return SendResult(outcome, error_code=f"zns_{reply.error}", detail=reply.message)


_OUTCOMES: dict[str, Outcome] = {"fallback": "fallback", "reject": "fallback", "quota": "quota"}
