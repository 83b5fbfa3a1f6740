"""End to end through a real Kannel: opt-out by MO, install by MO, ZNS fallback and token
refresh, and a sender killed with SIGKILL mid-batch."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select, update

from safezone.db.base import utcnow
from safezone.messaging.channels.models import ChannelDay, ZnsToken
from safezone.messaging.gateway import token_vault
from safezone.messaging.models import Contact, ContactApp, Message
from tests.messaging.gateways import support
from tests.messaging.gateways.conftest import Live


def drain(live: Live, rounds: int = 100) -> None:
    sender = live.sender()
    try:
        for _ in range(rounds):
            if sender.run_once().claimed == 0:
                break
    finally:
        sender.close()


def national(e164: str) -> str:
    """How a handset's number reaches Kannel from the SMSC: 0905…"""
    return "0" + e164[3:]


def make_due(live: Live, ids: list[int]) -> None:
    with live.db.session() as session:
        session.execute(update(Message).where(Message.id.in_(ids)).values(next_attempt_at=utcnow()))


def test_tu_choi_by_sms_stops_everything_queued(live: Live) -> None:
    later = utcnow() + dt.timedelta(hours=1)
    seeded = live.seed(contacts=3, messages_per_contact=2, due=utcnow())
    second = seeded.message_ids[1::2]
    with live.db.session() as session:  # the reminders are due later
        session.execute(update(Message).where(Message.id.in_(second)).values(next_attempt_at=later))
    drain(live)
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    live.wait(lambda: len(smsc.snapshot()) == 3)
    refuser, installer, keeper = seeded.contact_ids
    smsc.inject_mo(national(seeded.phones[refuser]), "Từ chối")
    smsc.inject_mo(national(seeded.phones[installer]), "đã cài bluezone")

    def handled() -> bool:
        with live.db.read_session() as session:
            refused = session.get(Contact, refuser)
            apps = session.scalars(select(ContactApp.contact_id)).all()
            return refused is not None and refused.status == "opted_out" and installer in apps

    live.wait(handled)
    make_due(live, second)
    drain(live)
    time.sleep(0.5)
    per_number = {}
    for item in smsc.snapshot():
        per_number[item.to] = per_number.get(item.to, 0) + 1
    assert per_number[seeded.phones[refuser]] == 1
    assert per_number[seeded.phones[installer]] == 1
    assert per_number[seeded.phones[keeper]] == 2
    states = support.statuses(live.db, second)
    assert sorted(states.values()).count("cancelled") == 2


def test_zns_minus_118_falls_back_to_sms(live: Live) -> None:
    seeded = live.seed(contacts=4, policy="zns_then_sms")
    no_zalo = seeded.contact_ids[0]
    live.zns.state.no_zalo.add(seeded.phones[no_zalo].lstrip("+"))
    drain(live)
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    live.wait(lambda: len(smsc.snapshot()) == 1)
    assert [item.to for item in smsc.snapshot()] == [seeded.phones[no_zalo]]
    with live.db.read_session() as session:
        rows = {m.contact_id: m for m in session.scalars(select(Message))}
    assert rows[no_zalo].channel == "sms"
    assert {rows[c].channel for c in seeded.contact_ids[1:]} == {"zns"}
    assert {rows[c].status for c in seeded.contact_ids[1:]} == {"sent"}
    counts = live.zns.state.tracking_counts()
    assert sorted(counts) == sorted(str(rows[c].id) for c in seeded.contact_ids[1:])
    assert set(counts.values()) == {1}


def test_zns_minus_124_refreshes_the_token_once(live: Live) -> None:
    # A stored token the API no longer accepts (expired), and a valid refresh token.
    vault = token_vault(live.settings.keyring)
    with live.db.session() as session:
        session.add(
            ZnsToken(
                app_id=live.zns.state.app_id,
                access_enc=vault.encrypt("zns_access", "expired-token"),
                refresh_enc=vault.encrypt("zns_refresh", "refresh-0"),
                refreshes=0,
            )
        )
    seeded = live.seed(contacts=20, policy="zns_then_sms")
    first, second = live.sender(), live.sender()
    try:
        import threading

        threads = [threading.Thread(target=s.run_once) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for _ in range(5):
            first.run_once()
    finally:
        first.close()
        second.close()
    assert live.zns.state.refreshes == 1
    assert set(support.statuses(live.db, seeded.message_ids).values()) == {"sent"}
    assert set(live.zns.state.tracking_counts().values()) == {1}
    assert len(live.zns.state.tracking_counts()) == 20
    with live.db.read_session() as session:
        row = session.get(ZnsToken, live.zns.state.app_id)
        assert row is not None
        assert row.refreshes == 1
        assert b"refresh-0" not in row.refresh_enc  # sealed, and rotated


def test_zns_quota_stops_zns_for_the_day_and_falls_back(live: Live) -> None:
    live.zns.state.remaining = 3
    seeded = live.seed(contacts=8, policy="zns_then_sms")
    live.sender(policy=support_policy(concurrency=1)).run_once()
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    live.wait(lambda: len(smsc.snapshot()) == 5)
    assert len(live.zns.state.sent) == 3
    with live.db.read_session() as session:
        day = session.scalars(select(ChannelDay).where(ChannelDay.channel == "zns")).one()
        assert day.stopped_at is not None
        assert day.stop_reason == "quota"
        assert day.remaining_quota == 0
        assert day.daily_quota == 500
    assert set(support.statuses(live.db, seeded.message_ids).values()) <= {"sent", "delivered"}
    calls = live.zns.state.calls
    more = live.seed(contacts=2, policy="zns_then_sms", first=100)
    drain(live)
    assert live.zns.state.calls == calls  # stopped: not even asked
    live.wait(lambda: len(smsc.snapshot()) == 7)
    assert set(support.statuses(live.db, more.message_ids).values()) <= {"sent", "delivered"}


def support_policy(**changes: object):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from tests.messaging.gateways.conftest import TEST_POLICY

    return replace(TEST_POLICY, **changes)  # type: ignore[arg-type]


def _start_sender(live: Live, tmp_path: Path, options: dict[str, object]) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[3]
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.messaging.gateways.sender_proc", json.dumps(options)],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=(tmp_path / f"sender-{time.monotonic_ns()}.log").open("w"),
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def test_kill_9_mid_batch_then_restart_delivers_each_exactly_once(
    live: Live, tmp_path: Path
) -> None:
    seeded = live.seed(contacts=200)
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    options = {
        "data_dir": str(tmp_path),
        "database_url": live.settings.database_url,
        "app_port": int(live.app_url.rsplit(":", 1)[1]),
        "sendsms_url": live.rig.sendsms_url,
        "admin_url": live.rig.admin_url,
        "throughput": 40.0,  # slow enough to be killed mid-batch
        "batch_size": 50,
        "lease_seconds": 3,
        "grace_seconds": 1,
    }
    process = _start_sender(live, tmp_path, options)
    try:
        live.wait(lambda: len(smsc.snapshot()) >= 30, timeout=60)
    finally:  # killed either way: a failed wait must not leave a sender running
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    killed_at = len(smsc.snapshot())
    assert killed_at < 200, "the sender finished before it could be killed"
    with live.db.read_session() as session:  # some were in flight when it died
        in_flight = session.scalars(
            select(Message.id).where(Message.rank == 0, Message.submitted_at.is_not(None))
        ).all()
    restarted = _start_sender(live, tmp_path, {**options, "throughput": 200.0})
    try:
        live.wait(lambda: len(smsc.snapshot()) >= 200, timeout=120)
        live.wait(
            lambda: set(support.statuses(live.db, seeded.message_ids).values()) == {"delivered"},
            timeout=60,
        )
        time.sleep(1.5)  # anything duplicated would show up by now
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.kill()
        restarted.wait(10)
    counts = smsc.counts()
    assert len(counts) == 200
    assert set(counts.values()) == {1}
    assert in_flight or killed_at % 50 == 0  # normally the kill lands inside a batch
