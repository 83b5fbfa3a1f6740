"""What every channel answers for one send attempt.

The sender acts on :class:`Outcome` alone, so a channel's quirks (Kannel's "3: Queued", ZNS error
codes) stay inside the channel module:

- ``accepted``: the gateway took the message (status ``sent``; the DLR/webhook decides the rest);
- ``rejected``: the gateway refused this message for good (status ``failed``);
- ``retry``: nothing was sent (connection refused, gateway busy): try again after a backoff;
- ``ambiguous``: the request may or may not have reached the gateway (a timeout after sending):
  never resend before checking with the gateway;
- ``fallback``: this channel cannot reach the person (ZNS -118): send by SMS instead;
- ``quota``: the channel's daily quota is spent: stop it for the day and fall back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Outcome = Literal["accepted", "rejected", "retry", "ambiguous", "fallback", "quota"]


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one attempt, with the gateway's id and error as data."""

    outcome: Outcome
    gateway_id: str | None = None
    error_code: str | None = None
    detail: str = ""
    # The channel's daily quota as the gateway reported it with this answer (ZNS).
    daily_quota: int | None = None
    remaining_quota: int | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message ready for a gateway: our id, the E.164 number and the content."""

    message_id: int
    phone: str  # E.164, e.g. +84905123456
    text: str
    zns_template_id: str | None = None
    zns_data: dict[str, str] | None = None
