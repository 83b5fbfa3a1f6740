"""Data at rest (issue 8 item 7): every free-text and health answer is stored sealed.

The scan reads what an attacker with a copy of the disk would read: the SQLite file and its
WAL/journal byte for byte, or every PostgreSQL row of the declaration tables as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from safezone import declarations
from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations import intake, retention, review
from safezone.declarations.base import Policy, local_today
from safezone.declarations.models import DailyUpdate, Declaration
from safezone.declarations.schemas import DailyUpdateIn, FollowUpIn
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE, declare

Body = Callable[..., dict[str, Any]]
#: What must never be readable at rest, and where each one was typed.
SECRETS = {
    "0912345678": "a phone number typed into a travel place",
    "Bệnh viện Chợ Rẫy": "a travel place",
    "immunosuppression": "an underlying condition (a code, still health data)",
    "shortness_of_breath": "a daily health status",
    "ghi chú riêng": "a follow-up note",
}
DECLARATION_TABLES = (
    "decl_persons",
    "declarations",
    "decl_daily_updates",
    "decl_followups",
    "decl_idempotency",
    "audit_log",
)


def _raw_text(settings: Settings, db: Database) -> str:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        db.dispose()  # close connections but keep the WAL: read what the disk holds
        path = Path(url.split("///", 1)[1])
        blobs = b"".join(
            candidate.read_bytes()
            for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal"))
            if candidate.exists()
        )
        return blobs.decode("utf-8", errors="replace")
    rows: list[str] = []
    with db.engine.connect() as connection:
        for table in DECLARATION_TABLES:
            rows += connection.execute(text(f"SELECT CAST(t AS text) FROM {table} t")).scalars()
    return "\n".join(rows)


def _write_everything(
    db: Database, policy: Policy, body: Body, make_user: MakeUser
) -> dict[str, Any]:
    today = local_today()
    raw = body(symptoms=[], conditions=["immunosuppression"])
    raw["travel"] = [
        {
            "place": "Bệnh viện Chợ Rẫy, gọi 0912345678",
            "from": (today - dt.timedelta(days=4)).isoformat(),
            "to": (today - dt.timedelta(days=2)).isoformat(),
        }
    ]
    created = declare(db, policy, raw, idempotency_key="k-at-rest", fingerprint="f")
    officer = make_user("yte.rest", "health_officer", COMMUNE)
    with db.session() as session:
        intake.add_daily_update(
            session,
            policy,
            created.id,
            created.update_token,
            DailyUpdateIn(statuses=["shortness_of_breath"]),
        )
        user = session.get_one(User, officer.id)
        review.add_followup(
            session,
            policy,
            user,
            Scope.of(user),
            created.id,
            FollowUpIn(status="seen_well", note="ghi chú riêng"),
        )
    return {"id": created.id, "user": officer.id}


def test_health_answers_are_not_readable_at_rest(
    settings: Settings, db: Database, policy: Policy, body: Body, make_user: MakeUser
) -> None:
    ids = _write_everything(db, policy, body, make_user)
    stored = _raw_text(settings, db)
    assert COMMUNE in stored  # the scan does read the rows (unit codes are stored plain)
    leaked = {what: where for what, where in SECRETS.items() if what in stored}
    assert not leaked, leaked
    # ... and staff still read every answer back.
    with db.session() as session:
        user = session.get_one(User, ids["user"])
        detail = review.read_declaration(session, policy, user, Scope.of(user), ids["id"])
    assert detail.travel[0]["place"] == "Bệnh viện Chợ Rẫy, gọi 0912345678"
    assert detail.conditions == ["immunosuppression"]
    assert detail.daily_updates[0].statuses == ["shortness_of_breath"]
    assert detail.followups[0].note == "ghi chú riêng"


def test_queue_filters_still_work_on_the_plain_codes(
    db: Database, policy: Policy, body: Body, make_user: MakeUser
) -> None:
    raw = body(symptoms=["cough"])
    raw["exposure"]["suspected_case"] = True
    match = declare(db, policy, raw)
    declare(db, policy, body(id_number="054085000002", symptoms=["fever"]))
    officer = make_user("yte.filter", "health_officer", COMMUNE)
    with db.session() as session:
        user = session.get_one(User, officer.id)
        page = review.list_declarations(
            session,
            policy,
            Scope.of(user),
            review.Filters(symptom="cough", exposure="suspected_case"),
        )
    assert [row.id for row in page.items] == [match.id]


def test_rows_from_before_the_upgrade_are_read_then_sealed_by_rekey(
    settings: Settings, db: Database, policy: Policy, body: Body, make_user: MakeUser
) -> None:
    created = declare(db, policy, body(symptoms=[]))
    with db.session() as session:
        intake.add_daily_update(
            session, policy, created.id, created.update_token, DailyUpdateIn(statuses=["cough"])
        )
        # What revision 0003 stored: plaintext columns, no ciphertext.
        session.execute(
            update(Declaration).values(
                travel=[{"place": "Chợ cũ", "from": "2020-01-01", "to": "2020-01-02"}],
                travel_enc=None,
                conditions=",diabetes,",
                conditions_enc=None,
            )
        )
        session.execute(update(DailyUpdate).values(statuses=",cough,", statuses_enc=None))
    officer = make_user("yte.legacy", "health_officer", COMMUNE)
    with db.session() as session:
        user = session.get_one(User, officer.id)
        before = review.read_declaration(session, policy, user, Scope.of(user), created.id)
        assert before.travel[0]["place"] == "Chợ cũ"
        assert before.conditions == ["diabetes"]
        assert before.daily_updates[0].statuses == ["cough"]
        assert retention.rekey(session, settings) == 2  # the declaration and the update
    with db.session() as session:
        row = session.get_one(Declaration, created.id)
        assert row.travel == []
        assert row.conditions == ""
        assert row.travel_enc is not None
        assert session.scalars(text("SELECT statuses FROM decl_daily_updates")).one() == ""
        user = session.get_one(User, officer.id)
        after = review.read_declaration(session, policy, user, Scope.of(user), created.id)
        assert after.travel == before.travel
        assert after.conditions == before.conditions
        assert after.daily_updates == before.daily_updates
        # Nothing left to do; the package-level entry point is what `secrets rotate` calls.
        assert declarations.rekey(session, settings) == 0
