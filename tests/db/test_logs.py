"""Database errors reach logs and tracebacks without bound values or PostgreSQL's DETAIL lines.

A unique violation on ``jobs.dedupe_key`` stands in for the leak that was found: the failing
INSERT's parameters (blind-index digests among them) printed in the error log, and PostgreSQL
quoting the duplicate value (``Key (dedupe_key)=(...) already exists``).
"""

from __future__ import annotations

import logging
import traceback

import pytest
import structlog
from sqlalchemy.exc import IntegrityError

from safezone.db.engine import Database
from safezone.jobs.models import Job
from safezone.jobs.service import enqueue
from safezone.logs import configure_logging

CANARY = "canary-4f1c9e7a-digest"


def _duplicate(db: Database) -> IntegrityError:
    with db.session() as session:
        enqueue(session, "probe", {"note": "first"}, dedupe_key=CANARY)

    def insert_again() -> None:
        with db.session() as session:
            # Bypasses enqueue's own duplicate check, so the database itself refuses the row.
            session.add(Job(kind="probe", payload={"secret": CANARY}, dedupe_key=CANARY))

    with pytest.raises(IntegrityError) as caught:
        insert_again()
    return caught.value


@pytest.mark.parametrize("json", [True, False])
def test_database_error_logs_name_the_statement_but_not_its_values(
    db: Database, json: bool, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    error = _duplicate(db)
    configure_logging("INFO", json=json)
    try:
        raise error
    except IntegrityError:
        structlog.get_logger("safezone.http").exception("request.failed")
        # uvicorn logs an unhandled exception this way ("Exception in ASGI application").
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    structured = capsys.readouterr().err
    rendered = "".join(traceback.format_exception(error))
    for text in (structured, caplog.text, rendered, str(error)):
        assert "INSERT INTO jobs" in text  # the statement is still there to debug with
        assert CANARY not in text
    assert "request.failed" in structured
