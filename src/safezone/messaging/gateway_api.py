"""The gateways' callbacks: Kannel DLRs, Kannel MOs (sms-service), ZNS events.

Nobody logs in here: Kannel and Zalo call us. So every route checks, before anything else,
that the caller's address is in ``gateways.callback_allow_from`` and that it holds the secret:

- DLR: the dlr-url carries our message id and a MAC of it (``t``); a report moves only the
  message it was made for, and a stranger without the MAC moves nothing.
- MO: Kannel's get-url carries the shared secret ``key`` (config or derived from the key ring).
- ZNS: Zalo signs each event (``X-ZEvent-Signature``) with the app secret.

Every refusal is the same bare 404, so a stranger learns neither that the endpoint exists nor
which check failed; answers to accepted calls carry nothing either (``ok``).
"""

from __future__ import annotations

import hmac
import ipaddress
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from safezone.config import Settings
from safezone.messaging import gateway
from safezone.messaging.channels.kannel import check_dlr_mac, dlr_keys
from safezone.web.deps import MAX_ROW_ID, DatabaseDep, SettingsDep
from safezone.web.guards import allow_raw_query

router = APIRouter(prefix="/api/v1/messaging/gateway", tags=["messaging-gateway"])
NOT_FOUND = 404


def _refuse() -> Response:
    return Response(status_code=NOT_FOUND)


def caller_allowed(settings: Settings, request: Request) -> bool:
    """Whether the caller's address is in the callback allow-list."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(
        address in ipaddress.ip_network(net, strict=False)
        for net in settings.messaging.gateways.callback_allow_from
    )


def mo_secret(settings: Settings) -> str:
    """The MO endpoint's shared secret (configured, else derived from the key ring)."""
    configured = settings.messaging.gateways.mo_secret
    if configured is not None and configured.get_secret_value():
        return configured.get_secret_value()
    return settings.keyring.key("safezone-messaging-mo").hex()[:40]


@router.get("/kannel/dlr", include_in_schema=False)
async def kannel_dlr(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    m: Annotated[int, Query(ge=1, le=MAX_ROW_ID)],
    t: Annotated[str, Query(max_length=64)],
    s: Annotated[int, Query(ge=0, le=255)],
    a: Annotated[str, Query(max_length=500)] = "",
) -> Response:
    """One delivery report from Kannel (``s`` = DLR type, ``a`` = SMSC answer)."""
    if not caller_allowed(settings, request):
        return _refuse()
    if not check_dlr_mac(dlr_keys(settings.keyring), m, t):
        return _refuse()
    # The whole transaction in one worker thread: on SQLite it holds the write lock, and a
    # commit waiting for a second thread could starve behind reports waiting for the lock.
    await run_in_threadpool(database.run, lambda session: gateway.record_dlr(session, m, s, a))
    return PlainTextResponse("ok")


allow_raw_query(f"{router.prefix}/kannel/mo")  # UCS-2 MOs arrive with NUL bytes in ``text``


@router.api_route("/kannel/mo", methods=["GET", "POST"], include_in_schema=False)
async def kannel_mo(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    key: Annotated[str, Query(max_length=100)] = "",
    sender: Annotated[str, Query(alias="from", max_length=32)] = "",
    text: Annotated[str, Query(max_length=2000)] = "",
    charset: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """One MO through Kannel's sms-service (get-url, or post-url with the text as body)."""
    if not caller_allowed(settings, request):
        return _refuse()
    if not hmac.compare_digest(key.encode(), mo_secret(settings).encode()):
        return _refuse()
    if request.method == "POST":
        body = await request.body()
        text = gateway.decode_mo(body[:4000], charset or request.headers.get("content-type", ""))
    elif gateway.is_wide(charset):
        # Without mo-recode Kannel URL-encodes the raw UCS-2 bytes: decode them as such.
        raw = dict(urllib.parse.parse_qsl(request.url.query, encoding="latin-1"))
        text = gateway.decode_mo(raw.get("text", "").encode("latin-1")[:4000], charset)
    await run_in_threadpool(
        database.run, lambda session: gateway.handle_mo(session, settings, sender, text)
    )
    return PlainTextResponse("")


@router.post("/zns/events", include_in_schema=False)
async def zns_events(request: Request, settings: SettingsDep, database: DatabaseDep) -> Response:
    """A Zalo OA webhook event (``user_received_message`` marks a ZNS message delivered)."""
    if not caller_allowed(settings, request):
        return _refuse()
    body = await request.body()
    zns = settings.messaging.gateways.zns
    try:
        event = gateway.check_zns_signature(
            zns.app_id,
            zns.app_secret.get_secret_value(),
            body[:100_000],
            request.headers.get("x-zevent-signature", ""),
        )
    except ValueError:
        return _refuse()
    await run_in_threadpool(database.run, lambda session: gateway.apply_zns_event(session, event))
    return PlainTextResponse("ok")
