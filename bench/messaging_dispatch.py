"""20,000 messages through a real Kannel with the fake SMSC's throughput fixed.

Kannel (bearerbox + smsbox, Debian's packages) runs with ``throughput = R`` on its fake SMSC
link; our fake SMSC (tests/messaging/rig.py) counts every message it receives. The outbox holds
N queued messages (one per contact, unique texts); ``--senders`` sender processes (the
production Sender, shared token bucket at R) drain it while the app (another process) takes
Kannel's DLRs. Figures, measured in the same run:

- ``achieved_per_s``: messages received at the SMSC per second, first to last (target >= 90%
  of R); the senders' shared bucket is set to ``--bucket-factor`` x R (default 1.2: Kannel
  queues the small surplus and paces it at R);
- ``kannel_alone_per_s``: the same rig fed by a bare sendsms loop with no database (what Kannel
  itself achieves at R on this machine: the baseline);
- ``lost`` / ``duplicated``: outbox messages never received / received more than once at the
  SMSC (target 0 / 0); ``delivered``: rows marked delivered by DLRs.

    python bench/messaging_dispatch.py [--messages 20000] [--throughput 100] [--senders 2]
    SAFEZONE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sz_msg_bench python ...

Without SAFEZONE_BENCH_DATABASE_URL the database is a SQLite file in a temporary directory. A
PostgreSQL database is emptied first: its name must contain "bench". Prints one JSON line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402
from tests.messaging.gateways.conftest import gateway_settings  # noqa: E402
from tests.messaging.gateways.support import COMMUNE, phone_of, text_for  # noqa: E402
from tests.messaging.rig import (  # noqa: E402
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    KannelRig,
    free_port,
    kannel_available,
)

from safezone.db.base import utcnow  # noqa: E402
from safezone.db.engine import Database  # noqa: E402
from safezone.db.migrate import upgrade  # noqa: E402
from safezone.messaging.base import vault_for  # noqa: E402
from safezone.messaging.models import Contact, Message, SendCampaign, Template  # noqa: E402
from safezone.units.service import load_bundled  # noqa: E402


def seed(db: Database, settings: object, count: int) -> list[int]:
    """One template, one campaign, ``count`` contacts with one queued message each."""
    vault = vault_for(settings)  # type: ignore[arg-type]
    now = utcnow()
    with db.session() as session:
        template = Template(
            name="bench", body_vi="Hãy cài đặt Bluezone", unit_code=COMMUNE, created_by="bench"
        )
        session.add(template)
        session.flush()
        campaign = SendCampaign(
            name="bench",
            template_id=template.id,
            unit_code=COMMUNE,
            starts_on=now.date(),
            created_by="bench",
            status="approved",
        )
        session.add(campaign)
        session.flush()
        contacts = []
        for index in range(count):
            contact = Contact(unit_code=COMMUNE, source="import", language="vi", status="active")
            vault.seal(contact, contact_phone=phone_of(index))
            contacts.append(contact)
        session.add_all(contacts)
        session.flush()
        messages = [
            Message(
                campaign_id=campaign.id,
                step=0,
                contact_id=contact.id,
                day=now.date(),
                unit_code=COMMUNE,
                template_id=template.id,
                due_at=now,
                next_attempt_at=now,
                not_after=now + dt.timedelta(days=1),
            )
            for contact in contacts
        ]
        session.add_all(messages)
        session.flush()
        return [message.id for message in messages]


def serve_app(options: dict[str, object]) -> None:
    """(Child process) the app, for Kannel's DLR callbacks."""
    import uvicorn

    from safezone.app import create_app

    settings = gateway_settings(
        Path(str(options["data_dir"])),
        str(options["database_url"]),
        app_port=int(str(options["app_port"])),
    )
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=int(str(options["app_port"])),
        log_level="warning",
        access_log=False,
        backlog=1024,
    )


def kannel_alone(rig: KannelRig, count: int) -> float:
    """Messages per second at the SMSC for a bare sendsms loop (no database, no DLR URL)."""
    assert rig.smsc is not None
    start_index = len(rig.smsc.snapshot())
    client = httpx.Client(timeout=10)

    def one(index: int) -> None:
        params = {
            "username": SENDSMS_USER,
            "password": SENDSMS_PASSWORD,
            "to": phone_of(900_000 + index),
            "text": f"baseline {index}",
            "charset": "UTF-8",
        }
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        client.get(f"{rig.sendsms_url}?{query}")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(count)))
    deadline = time.monotonic() + 120
    while len(rig.smsc.snapshot()) - start_index < count and time.monotonic() < deadline:
        time.sleep(0.05)
    received = rig.smsc.snapshot()[start_index:]
    client.close()
    return (len(received) - 1) / (received[-1].at - received[0].at)


def main() -> None:  # noqa: PLR0912, PLR0915 - one scenario, read top to bottom
    """Run the scenario, print the JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--throughput", type=float, default=100.0)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=12, help="sends in flight per sender")
    parser.add_argument("--baseline-messages", type=int, default=2000)
    # The senders' shared bucket runs a little above the SMSC link's rate: Kannel queues the
    # surplus and paces it at the link's throughput, so a hiccup of ours does not leave the
    # link idle (as in production: the bucket bounds Kannel's queue, the link sets the pace).
    parser.add_argument("--bucket-factor", type=float, default=1.2)
    parser.add_argument("--serve-app", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_app:
        serve_app(json.loads(args.serve_app))
        return
    if not kannel_available():
        sys.exit("Kannel is not installed (apt-get install kannel kannel-extras)")
    work = Path(tempfile.mkdtemp(prefix="sz-msg-bench-"))
    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", f"sqlite:///{work / 'bench.db'}")
    if url.startswith("postgres") and "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("the benchmark database's name must contain 'bench' (it is emptied)")
    app_port = free_port()
    rig = KannelRig(work / "kannel", throughput=args.throughput).start()
    settings = gateway_settings(
        work,
        url,
        app_port=app_port,
        sendsms_url=rig.sendsms_url,
        admin_url=rig.admin_url,
        throughput=args.throughput,
    )
    db = Database(settings.sqlalchemy_url)
    if url.startswith("postgres"):
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade(db.engine)
    with db.session() as session:
        load_bundled(session)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        baseline = kannel_alone(rig, args.baseline_messages)
        assert rig.smsc is not None
        offset = len(rig.smsc.snapshot())
        ids = seed(db, settings, args.messages)
        options = {"data_dir": str(work), "database_url": url, "app_port": app_port}
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        processes.append(
            subprocess.Popen(
                [sys.executable, __file__, "--serve-app", json.dumps(options)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / "app.log").open("wb"),
            )
        )
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{app_port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        sender_options = {
            **options,
            "sendsms_url": rig.sendsms_url,
            "admin_url": rig.admin_url,
            "throughput": args.throughput * args.bucket_factor,
            "batch_size": 100,
            "lease_seconds": 120,
            "grace_seconds": 60,
            "concurrency": args.concurrency,
        }
        for index in range(args.senders):
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "tests.messaging.gateways.sender_proc",
                        json.dumps(sender_options),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(work / f"sender-{index}.log").open("wb"),
                )
            )
        started = time.monotonic()
        budget = 3 * args.messages / args.throughput + 60
        while time.monotonic() - started < budget:
            if len(rig.smsc.snapshot()) - offset >= args.messages:
                break
            time.sleep(0.2)
        time.sleep(2)  # late duplicates would show up now
        received = rig.smsc.snapshot()[offset:]
        with db.read_session() as session:
            delivered = session.scalar(
                select(func.count()).select_from(Message).where(Message.status == "delivered")
            )
        expected = {text_for(message_id) for message_id in ids}
        counts: dict[str, int] = {}
        for item in received:
            counts[item.text] = counts.get(item.text, 0) + 1
        lost = len(expected - set(counts))
        duplicated = sum(count - 1 for count in counts.values() if count > 1)
        span = received[-1].at - received[0].at if len(received) > 1 else float("nan")
        achieved = (len(received) - 1) / span
        print(
            json.dumps(
                {
                    "bench": "messaging_dispatch",
                    "database": "postgresql" if url.startswith("postgres") else "sqlite",
                    "messages": args.messages,
                    "senders": args.senders,
                    "throughput_configured": args.throughput,
                    "sender_bucket_per_s": args.throughput * args.bucket_factor,
                    "achieved_per_s": round(achieved, 1),
                    "ratio_to_configured": round(achieved / args.throughput, 3),
                    "kannel_alone_per_s": round(baseline, 1),
                    "ratio_to_kannel_alone": round(achieved / baseline, 3),
                    "received": len(received),
                    "lost": lost,
                    "duplicated": duplicated,
                    "delivered": delivered,
                    "seconds": round(span, 1),
                }
            )
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        rig.stop()
        db.dispose()
        threading.Event().wait(0.1)


if __name__ == "__main__":
    main()
