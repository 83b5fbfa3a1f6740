"""SMS through Kannel: sendsms over HTTP, delivery reports (DLR) by ``dlr-url``.

- Vietnamese (anything outside GSM 03.38) goes as ``coding=2`` with ``charset=UTF-8``: Kannel
  converts to UCS-2. ``coding=2`` without the charset sends the UTF-8 bytes labelled as UCS-2
  (garbage on a handset); ``charset`` alone turns every diacritic into ``?``.
- ``dlr-mask=31`` asks for delivered (1), failed (2), buffered (4), SMSC accepted (8) and SMSC
  rejected (16). The ``dlr-url`` carries our message id and a MAC of it, so a report can only
  move the message it was made for, and Kannel fills in ``%d`` (status), ``%A`` (SMSC answer).
- Kannel answers ``202 0: Accepted`` or ``202 3: Queued for later delivery`` (the SMSC link is
  down; Kannel keeps it and delivers later): both mean the gateway has it. ``403 Not routable``
  and ``400`` are final refusals. A refused connection sent nothing; a timeout after the request
  went out is ambiguous.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx

from safezone.messaging.channels.base import Outgoing, SendResult
from safezone.messaging.sms import encoding_of

DLR_MASK = 1 | 2 | 4 | 8 | 16
#: Kannel DLR type -> our message status (None: no change).
DLR_STATUS: dict[int, str | None] = {
    1: "delivered",  # delivered to the phone
    2: "failed",  # delivery failed
    4: "sent",  # buffered at the SMSC
    8: "sent",  # SMSC accepted the submission
    16: "failed",  # SMSC rejected it (or Kannel could not route it)
}
_MAC_PURPOSE = "safezone-messaging-dlr"


def is_gsm7(text: str) -> bool:
    """True when ``text`` goes as GSM-7 (messaging's one rule: any diacritic forces UCS-2)."""
    return encoding_of(text) == "GSM-7"


def dlr_mac(key: bytes, message_id: int) -> str:
    """The MAC the dlr-url carries for ``message_id`` (hex, 128 bits)."""
    return hmac.new(key, f"dlr:{message_id}".encode(), hashlib.sha256).hexdigest()[:32]


def dlr_key(keyring: Any) -> bytes:
    """The DLR MAC key from the installation's key ring."""
    return bytes(keyring.key(_MAC_PURPOSE))


def dlr_keys(keyring: Any) -> tuple[bytes, ...]:
    """Current and previous DLR keys (a report for a message sent before a rotation)."""
    return tuple(keyring.keys(_MAC_PURPOSE))


def check_dlr_mac(keys: tuple[bytes, ...], message_id: int, mac: str) -> bool:
    """Constant-time check of a dlr-url MAC against every key of the ring."""
    return any(hmac.compare_digest(dlr_mac(key, message_id), mac) for key in keys)


def dlr_url(base_url: str, key: bytes, message_id: int) -> str:
    """Our DLR endpoint for ``message_id``; Kannel substitutes ``%d``, ``%A`` and ``%T``."""
    query = f"m={message_id}&t={dlr_mac(key, message_id)}"
    return f"{base_url.rstrip('/')}/api/v1/messaging/gateway/kannel/dlr?{query}&s=%d&a=%A&ts=%T"


def sendsms_params(
    outgoing: Outgoing,
    *,
    username: str,
    password: str,
    dlr_callback: str,
    sender: str = "",
    smsc_id: str = "",
) -> dict[str, str]:
    """The sendsms query for one message (the caller URL-encodes it, dlr-url included)."""
    params = {
        "username": username,
        "password": password,
        "to": outgoing.phone,
        "text": outgoing.text,
        "charset": "UTF-8",
    }
    if dlr_callback:
        params["dlr-mask"] = str(DLR_MASK)
        params["dlr-url"] = dlr_callback
    if not is_gsm7(outgoing.text):
        params["coding"] = "2"  # UCS-2, converted by Kannel from the UTF-8 we send
    if sender:
        params["from"] = sender
    if smsc_id:
        params["smsc"] = smsc_id
    return params


def classify(status: int, body: str) -> SendResult:
    """Kannel's sendsms answer as an outcome."""
    text = body.strip()
    if status == 202 and text.startswith(("0:", "3:")):
        return SendResult("accepted", detail=text[:200])
    if status in {400, 403} and "Authorization failed" not in text:
        # "Not routable", "denied by white- and/or black-lists", bad number: final.
        return SendResult("rejected", error_code=f"kannel_{status}", detail=text[:200])
    # 403 bad credentials (our configuration), 5xx, anything else: nothing sent, try later.
    return SendResult("retry", error_code=f"kannel_{status}", detail=text[:200])


@dataclass
class KannelChannel:
    """sendsms client for one smsbox."""

    sendsms_url: str
    username: str
    password: str
    callback_base_url: str
    dlr_key: bytes
    sender: str = ""
    smsc_id: str = ""
    timeout_seconds: float = 10.0
    admin_url: str = ""
    admin_password: str = ""
    client: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self.client is None:
            self.client = httpx.Client(timeout=self.timeout_seconds)
        return self.client

    def send(self, outgoing: Outgoing) -> SendResult:
        """Submit one SMS; never raises for network trouble (it is an outcome)."""
        params = sendsms_params(
            outgoing,
            username=self.username,
            password=self.password,
            # Message 0 is a test send outside the outbox: no report to track.
            dlr_callback=(
                dlr_url(self.callback_base_url, self.dlr_key, outgoing.message_id)
                if outgoing.message_id
                else ""
            ),
            sender=self.sender,
            smsc_id=self.smsc_id,
        )
        url = f"{self.sendsms_url}?{urllib.parse.urlencode(params, quote_via=urllib.parse.quote)}"
        try:
            reply = self._client().get(url)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            # The request never left: nothing can have been sent.
            return SendResult("retry", error_code="connect", detail=type(error).__name__)
        except httpx.HTTPError as error:
            # It may have reached smsbox before the link broke: ambiguous.
            return SendResult("ambiguous", error_code="timeout", detail=type(error).__name__)
        return classify(reply.status_code, reply.text)

    def gateway_queue_empty(self) -> bool | None:
        """True when bearerbox holds no message in any queue (so an ambiguous message it never
        reported on was not taken); None when unknown (no admin URL, or unreachable)."""
        if not self.admin_url:
            return None
        try:
            reply = self._client().get(
                f"{self.admin_url.rstrip('/')}/status.xml",
                params={"password": self.admin_password},
            )
        except httpx.HTTPError:
            return None
        if reply.status_code != 200:
            return None
        return queues_empty(reply.text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        if self.client is not None:
            self.client.close()


def queues_empty(status_xml: str) -> bool | None:
    """Whether bearerbox's status.xml shows no queued message (sms ``<queued>`` and every
    SMSC's ``<queued>`` are 0); None when the document does not say."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(status_xml)  # noqa: S314 - same
    except ET.ParseError:
        return None
    counts = [element.text for element in root.iter("queued")]
    if not counts:
        return None
    try:
        return all(int((value or "0").strip()) == 0 for value in counts)
    except ValueError:
        return None
