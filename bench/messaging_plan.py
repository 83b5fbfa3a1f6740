"""Planning reminders (schedule -> outbox rows) on PostgreSQL vs. a COPY of the same rows.

Loads ``--contacts`` contacts with consent into the communes of Phú Yên (COPY, not timed),
then one approved campaign with ``--steps`` daily reminders is planned by the real planner
(``safezone.messaging.planner.plan``: one INSERT ... SELECT ... ON CONFLICT DO NOTHING per
step). The rows it wrote are copied out, the outbox emptied, and the same rows loaded with
``COPY ... FROM STDIN`` into the same table with the same indexes: the baseline. Prints one
JSON line with both times and their ratio (target: planning at most 3x the COPY).

    SAFEZONE_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/sz_msg_bench \
        python bench/messaging_plan.py [--contacts 200000] [--steps 5]

The database is emptied first: its name must contain "bench".
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import secrets
import sys
import time

from sqlalchemy import text

from safezone.config import MessagingConfig, Settings
from safezone.db.engine import Database
from safezone.db.migrate import upgrade
from safezone.messaging import planner
from safezone.messaging.base import Policy
from safezone.messaging.models import SendCampaign, Template
from safezone.units.service import load_bundled

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/sz_msg_bench"
TARGET_RATIO = 3.0


def prepare(database: Database, url: str) -> None:
    """Empty the bench database, migrate it and load the units."""
    if "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit(f"refusing to empty {url!r}: the database name must contain 'bench'")
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database.engine)
    with database.session() as session:
        load_bundled(session)


def load_contacts(database: Database, count: int) -> None:
    """``count`` consenting contacts spread over the communes (random sealed bytes stand in
    for the ciphertext: the planner never decrypts)."""
    with database.engine.connect() as connection:
        communes = [
            row[0]
            for row in connection.execute(text("SELECT code FROM units WHERE level = 'commune'"))
        ]
    consent = "2026-11-01 02:00:00+00"
    buffer = io.StringIO()
    for n in range(count):
        buffer.write(
            f"\\\\x{secrets.token_hex(40)}\t{secrets.token_hex(32)}\t{communes[n % len(communes)]}"
            f"\tviettel\tvi\tvisit\tactive\t{consent}\tdoor_to_door\tvolunteer\t{consent}\t{consent}\n"
        )
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        columns = (
            "phone_enc, phone_index, unit_code, carrier, language, source, status, consent_at, "
            "consent_method, consent_by, created_at, updated_at"
        )
        with cursor.copy(f"COPY msg_contacts ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("SAFEZONE_BENCH_DATABASE_URL", DEFAULT_URL)
    settings = Settings(
        database_url=url,
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        messaging=MessagingConfig(plan_days_ahead=max(7, args.steps)),
    )
    database = Database(settings.sqlalchemy_url)
    prepare(database, url)
    load_contacts(database, args.contacts)
    policy = Policy.from_settings(settings)
    now = dt.datetime.now(dt.UTC)
    with database.session() as session:
        template = Template(
            name="bench",
            body_vi="Hãy cài {{ app }}: {{ link }}",
            unit_code="54",
            created_by="bench",
        )
        session.add(template)
        session.flush()
        campaign = SendCampaign(
            name="bench",
            template_id=template.id,
            unit_code="54",
            app_code="bluezone",
            starts_on=policy.local_day(now),
            send_time="09:00",
            interval_days=1,
            max_sends=args.steps,
            status="approved",
            created_by="bench",
        )
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    with database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))

    started = time.perf_counter()
    with database.session() as session:
        written = planner.plan(session, session.get_one(SendCampaign, campaign_id), policy, now=now)
    plan_seconds = time.perf_counter() - started

    # The baseline: the very same rows, COPY'd into the same (emptied) table.
    raw = database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        dump = io.BytesIO()
        with cursor.copy("COPY msg_outbox TO STDOUT") as copy:  # type: ignore[attr-defined]
            for chunk in copy:
                dump.write(chunk)
        cursor.execute("TRUNCATE msg_outbox CASCADE")
        raw.commit()
        started = time.perf_counter()
        with cursor.copy("COPY msg_outbox FROM STDIN") as copy:  # type: ignore[attr-defined]
            copy.write(dump.getvalue())
        raw.commit()
        copy_seconds = time.perf_counter() - started
        cursor.execute("SELECT count(*) FROM msg_outbox")
        copied = cursor.fetchone()[0]  # type: ignore[index]
    finally:
        raw.close()
    database.dispose()
    print(
        json.dumps(
            {
                "bench": "messaging_plan",
                "contacts": args.contacts,
                "steps": args.steps,
                "rows_planned": written,
                "rows_copied": copied,
                "plan_seconds": round(plan_seconds, 3),
                "copy_seconds": round(copy_seconds, 3),
                "ratio": round(plan_seconds / copy_seconds, 3),
                "target_ratio_at_most": TARGET_RATIO,
                "rows_per_second": round(written / plan_seconds),
            }
        )
    )


if __name__ == "__main__":
    main()
