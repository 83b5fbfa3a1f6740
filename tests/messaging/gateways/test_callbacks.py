"""The gateways' callbacks (no login): what a stranger learns or changes through them.

DLR: only a report carrying the message's MAC moves it, forward only (1 before 8 stays
delivered); MO: only Kannel with the shared secret, from an allowed address, opts out or marks
installed; ZNS: only a correctly signed event. Every refusal is the same bare 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from safezone.app import create_app
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.messaging.base import vault_for
from safezone.messaging.channels.kannel import dlr_key, dlr_mac
from safezone.messaging.channels.models import GatewayEvent
from safezone.messaging.gateway_api import mo_secret
from safezone.messaging.models import Contact, ContactApp, Message
from tests.messaging.gateways import support
from tests.messaging.gateways.conftest import Live

DLR = "/api/v1/messaging/gateway/kannel/dlr"
MO = "/api/v1/messaging/gateway/kannel/mo"
ZNS = "/api/v1/messaging/gateway/zns/events"


def client_from(settings: Settings, db: Database, host: str) -> TestClient:
    return TestClient(create_app(settings, db), client=(host, 40000))


@pytest.fixture
def kannel(offline: Live) -> Iterator[TestClient]:
    with client_from(offline.settings, offline.db, "127.0.0.1") as client:
        yield client


@pytest.fixture
def stranger(offline: Live) -> Iterator[TestClient]:
    with client_from(offline.settings, offline.db, "203.0.113.9") as client:
        yield client


def snapshot(db: Database) -> list[tuple[object, ...]]:
    with db.read_session() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
        contacts = session.scalars(select(Contact).order_by(Contact.id)).all()
        events = session.scalars(select(GatewayEvent)).all()
        return (
            [(m.id, m.status, m.rank, m.sent_at, m.delivered_at) for m in rows]
            + [(c.id, c.status) for c in contacts]
            + [("events", len(events))]
        )


def dlr(client: TestClient, settings: Settings, message_id: int, kind: int, **extra: str):  # type: ignore[no-untyped-def]
    params = {"m": message_id, "t": dlr_mac(dlr_key(settings.keyring), message_id), "s": kind}
    params.update(extra)
    return client.get(DLR, params=params)


def test_dlr_1_before_8_stays_delivered(offline: Live, kannel: TestClient) -> None:
    seeded = offline.seed(contacts=1)
    message_id = seeded.message_ids[0]
    assert dlr(kannel, offline.settings, message_id, 1).text == "ok"
    assert dlr(kannel, offline.settings, message_id, 8, a="ACK/").status_code == 200
    assert dlr(kannel, offline.settings, message_id, 16, a="NACK/late").status_code == 200
    with offline.db.read_session() as session:
        message = session.get_one(Message, message_id)
        assert (message.status, message.rank) == ("delivered", 2)
        assert message.sent_at is not None
        assert message.delivered_at is not None
        codes = sorted(e.code for e in session.scalars(select(GatewayEvent)))
    assert codes == ["1", "16", "8"]


def test_dlr_8_then_16_is_failed(offline: Live, kannel: TestClient) -> None:
    seeded = offline.seed(contacts=1)
    message_id = seeded.message_ids[0]
    dlr(kannel, offline.settings, message_id, 8)
    dlr(kannel, offline.settings, message_id, 16, a="NACK/no SMSC")
    dlr(kannel, offline.settings, message_id, 1)
    with offline.db.read_session() as session:
        message = session.get_one(Message, message_id)
        assert (message.status, message.error_code) == ("failed", "dlr_16")
        assert message.error == "NACK/no SMSC"


def test_stranger_cannot_forge_dlrs(
    offline: Live, kannel: TestClient, stranger: TestClient
) -> None:
    seeded = offline.seed(contacts=2)
    first, second = seeded.message_ids
    before = snapshot(offline.db)
    mac_first = dlr_mac(dlr_key(offline.settings.keyring), first)
    attempts = [
        kannel.get(DLR, params={"m": first, "s": 1}),  # no MAC
        kannel.get(DLR, params={"m": first, "t": "0" * 32, "s": 1}),  # wrong MAC
        kannel.get(DLR, params={"m": second, "t": mac_first, "s": 1}),  # another's MAC
        dlr(stranger, offline.settings, first, 1),  # right MAC, wrong address
        kannel.get(DLR, params={"m": 999999, "t": "0" * 32, "s": 1}),  # unknown message
    ]
    assert [r.status_code for r in attempts[1:]] == [404, 404, 404, 404]
    assert attempts[0].status_code in {404, 422}
    assert all(r.content == b"" for r in attempts[1:])
    assert snapshot(offline.db) == before
    # A valid report for an unknown id answers like any other accepted report: nothing learnt.
    assert dlr(kannel, offline.settings, 999999, 1).text == "ok"
    assert snapshot(offline.db) == before


def mo(client: TestClient, settings: Settings, sender: str, text: str, **extra: str):  # type: ignore[no-untyped-def]
    params = {"key": mo_secret(settings), "from": sender, "text": text, "charset": "UTF-8"}
    params.update(extra)
    return client.get(MO, params=params)


def test_mo_opt_out_and_install(offline: Live, kannel: TestClient) -> None:
    seeded = offline.seed(contacts=2, messages_per_contact=2)
    refuser, installer = seeded.contact_ids
    assert mo(kannel, offline.settings, "0" + seeded.phones[refuser][3:], "Từ chối").text == ""
    response = kannel.post(
        MO,
        params={"key": mo_secret(offline.settings), "from": seeded.phones[installer][1:]},
        content="ĐÃ CÀI BLUEZONE".encode("utf-16-be"),
        headers={"content-type": "text/plain", "x-kannel-coding": "2"},
    )
    assert response.status_code == 200
    with offline.db.read_session() as session:
        assert session.get_one(Contact, refuser).status == "opted_out"
        apps = session.scalars(select(ContactApp.app_code)).all()
        statuses = {m.contact_id: m.status for m in session.scalars(select(Message))}
    assert apps == []  # UTF-16 body without a charset parameter reads as UTF-8: nothing matched
    assert statuses[refuser] == "cancelled"
    kannel.post(
        MO,
        params={
            "key": mo_secret(offline.settings),
            "from": seeded.phones[installer][1:],
            "charset": "UTF-16BE",
        },
        content="ĐÃ CÀI BLUEZONE".encode("utf-16-be"),
    )
    with offline.db.read_session() as session:
        assert session.scalars(select(ContactApp.app_code)).all() == ["bluezone"]


def test_mo_without_mo_recode_arrives_as_ucs2_bytes(offline: Live, kannel: TestClient) -> None:
    seeded = offline.seed(contacts=1)
    number = seeded.phones[seeded.contact_ids[0]][1:]
    raw = urllib.parse.quote_from_bytes("Từ chối".encode("utf-16-be"))
    query = f"key={mo_secret(offline.settings)}&from={number}&text={raw}&charset=UTF-16BE&coding=2"
    assert kannel.get(f"{MO}?{query}").status_code == 200
    with offline.db.read_session() as session:
        assert session.get_one(Contact, seeded.contact_ids[0]).status == "opted_out"


def test_stranger_cannot_opt_anyone_out(
    offline: Live, kannel: TestClient, stranger: TestClient
) -> None:
    seeded = offline.seed(contacts=1)
    number = seeded.phones[seeded.contact_ids[0]]
    before = snapshot(offline.db)
    attempts = [
        kannel.get(MO, params={"from": number, "text": "TU CHOI"}),  # no key
        mo(kannel, offline.settings, number, "TU CHOI", key="wrong"),
        mo(stranger, offline.settings, number, "TU CHOI"),  # right key, wrong address
    ]
    assert [r.status_code for r in attempts] == [404, 404, 404]
    assert snapshot(offline.db) == before
    # Kannel itself, for a number we do not know: same empty answer, nothing stored.
    known = mo(kannel, offline.settings, number, "xin chao")
    unknown = mo(kannel, offline.settings, "0909999999", "TU CHOI")
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert snapshot(offline.db) == before


def signed(settings: Settings, event: dict[str, object]) -> tuple[bytes, str]:
    body = json.dumps(event).encode()
    zns = settings.messaging.gateways.zns
    mac = hashlib.sha256(
        zns.app_id.encode()
        + body
        + str(event["timestamp"]).encode()
        + zns.app_secret.get_secret_value().encode()
    ).hexdigest()
    return body, f"mac={mac}"


def test_zns_delivery_event(offline: Live, kannel: TestClient, stranger: TestClient) -> None:
    seeded = offline.seed(contacts=1, policy="zns_then_sms")
    message_id = seeded.message_ids[0]
    with offline.db.session() as session:
        session.execute(
            update(Message)
            .where(Message.id == message_id)
            .values(
                channel="zns",
                status="sent",
                rank=1,
                gateway_id="zmsg1",
                sent_at=dt.datetime.now(dt.UTC),
            )
        )
    event = {
        "event_name": "user_received_message",
        "app_id": offline.settings.messaging.gateways.zns.app_id,
        "message": {"msg_id": "zmsg1", "delivery_time": "1700000000000"},
        "timestamp": "1700000000000",
    }
    body, signature = signed(offline.settings, event)
    before = snapshot(offline.db)
    forged = [
        kannel.post(ZNS, content=body, headers={"X-ZEvent-Signature": "mac=" + "0" * 64}),
        kannel.post(ZNS, content=body),
        kannel.post(ZNS, content=body + b" ", headers={"X-ZEvent-Signature": signature}),
        stranger.post(ZNS, content=body, headers={"X-ZEvent-Signature": signature}),
    ]
    assert [r.status_code for r in forged] == [404, 404, 404, 404]
    assert snapshot(offline.db) == before
    ok = kannel.post(ZNS, content=body, headers={"X-ZEvent-Signature": signature})
    assert ok.status_code == 200
    assert support.statuses(offline.db, [message_id]) == {message_id: "delivered"}


def test_mo_secret_defaults_to_the_key_ring(settings: Settings) -> None:
    secret = mo_secret(settings)
    assert len(secret) == 40
    assert secret == mo_secret(settings)
    assert vault_for(settings) is not None
