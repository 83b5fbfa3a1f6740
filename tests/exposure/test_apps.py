"""App API keys: the service, the CLI, and what a stranger without a key gets over HTTP; the
``accept`` hierarchy as a property."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from safezone.accounts.models import AuditEvent
from safezone.cli import app as cli_app
from safezone.config import load_settings
from safezone.db.engine import Database
from safezone.errors import Conflict, InvalidInput, NotFound
from safezone.exposure import apps, wire
from safezone.exposure.models import ExposureApp, VerificationCode, VerificationToken
from tests.exposure.conftest import NOW, IssueCode

runner = CliRunner()


def test_a_key_is_shown_once_and_only_its_hash_is_stored(db: Database) -> None:
    with db.session() as session:
        created = apps.create_app(session, "Bluezone", actor="admin", now=NOW)
    assert created.key.startswith(apps.KEY_PREFIX)
    assert len(created.key) >= len(apps.KEY_PREFIX) + 43  # 256 random bits
    with db.session() as session:
        row = session.scalars(select(ExposureApp)).one()
        stored = [str(value) for value in vars(row).values()]
        assert created.key not in stored
        assert row.key_hash == apps.key_hash(created.key)
        assert apps.authenticate(session, created.key) == row.id
        assert apps.authenticate(session, f"  {created.key}\n") == row.id
        actions = session.scalars(select(AuditEvent.action)).all()
    assert "exposure.app.create" in actions


def test_names_are_checked_and_unique(db: Database) -> None:
    with db.session() as session:
        apps.create_app(session, "Bluezone", actor=None, now=NOW)
    for bad in ("", "   ", "x" * 65, "tab\tname"):
        with db.session() as session, pytest.raises(InvalidInput) as error:
            apps.create_app(session, bad, actor=None, now=NOW)
        assert error.value.errors[0].field == "name"
    with db.session() as session, pytest.raises(Conflict):
        apps.create_app(session, " Bluezone ", actor=None, now=NOW)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(ExposureApp)) == 1


def test_revoked_unknown_and_missing_keys_are_refused_alike(db: Database) -> None:
    with db.session() as session:
        created = apps.create_app(session, "old app", actor=None, now=NOW)
        apps.revoke_app(session, "old app", actor="admin", now=NOW)
        apps.revoke_app(session, "old app", actor="admin", now=NOW)  # idempotent
    refusals = []
    for key in (created.key, "szapp_" + "A" * 43, "", None, "x" * 300, created.key[:-1]):
        with db.session() as session, pytest.raises(apps.AppKeyRejected) as error:
            apps.authenticate(session, key)
        refusals.append(error.value.errors)
    assert all(refusal == refusals[0] for refusal in refusals)
    with db.session() as session, pytest.raises(NotFound):
        apps.revoke_app(session, "never existed", actor=None, now=NOW)


def test_a_stranger_without_a_key_learns_nothing_and_changes_nothing(
    app: FastAPI, db: Database, issue_code: IssueCode, settings: Any
) -> None:
    issued = issue_code()
    with db.session() as session:
        apps.create_app(session, "revoked", actor=None, now=NOW)
        apps.revoke_app(session, "revoked", actor=None, now=NOW)
    with TestClient(app) as stranger:
        answers = [
            stranger.post(path, json=body, headers=headers)
            for path, body in (
                (wire.VERIFY_PATH, {"code": issued.short_code}),
                (wire.LEGACY_VERIFY_PATH, {"code": issued.long_code}),
                (wire.CERTIFICATE_PATH, {"token": "t", "ekeyhmac": "h"}),
                (wire.VERIFY_PATH, {"not": "even parsed"}),
            )
            for headers in ({}, {wire.API_KEY_HEADER: "guess"}, {"X-Chaff": "1"})
        ]
    for answer in answers:
        # One answer for every request: status, body shape and size; nothing about the code.
        assert answer.status_code == 401
        assert set(answer.json()) == {"error", "errorCode", "padding"}
        assert answer.json()["errorCode"] == "unauthorized"
        assert len(answer.content) == settings.exposure.response_size_bytes
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(VerificationToken)) == 0
        claimed = session.scalar(select(VerificationCode.claimed_at))
    assert claimed is None


def test_revoking_a_key_stops_its_app_at_once(
    app: FastAPI, db: Database, issue_code: IssueCode
) -> None:
    with db.session() as session:
        created = apps.create_app(session, "soon revoked", actor=None, now=NOW)
    with TestClient(app, headers={wire.API_KEY_HEADER: created.key}) as phone:
        assert phone.post(wire.VERIFY_PATH, json={"code": issue_code().short_code}).is_success
        with db.session() as session:
            apps.revoke_app(session, "soon revoked", actor=None, now=NOW)
        refused = phone.post(wire.VERIFY_PATH, json={"code": issue_code().short_code})
    assert refused.status_code == 401


def test_cli_creates_lists_and_revokes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SAFEZONE_DATABASE_URL", "SAFEZONE_SECRET_KEY", "SAFEZONE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    data_dir = str(tmp_path / "data")
    setup = runner.invoke(cli_app, ["demo", "--data-dir", data_dir, "--setup-only"])
    assert setup.exit_code == 0, setup.output
    created = runner.invoke(
        cli_app, ["exposure", "apps", "create", "--name", "Bluezone", "--data-dir", data_dir]
    )
    assert created.exit_code == 0, created.output
    shown = json.loads(created.stdout.splitlines()[0])
    assert shown["name"] == "Bluezone"
    assert shown["header"] == "X-API-Key"
    key = shown["apiKey"]
    again = runner.invoke(
        cli_app, ["exposure", "apps", "create", "--name", "Bluezone", "--data-dir", data_dir]
    )
    assert again.exit_code == 1
    assert "app_name_taken" in again.output
    listed = runner.invoke(cli_app, ["exposure", "apps", "list", "--data-dir", data_dir])
    assert listed.exit_code == 0, listed.output
    assert key not in listed.output  # the key is never shown again
    row = json.loads(listed.stdout.splitlines()[0])
    assert row["name"] == "Bluezone"
    assert row["revokedAt"] is None
    assert key.startswith(row["keyHint"].removesuffix("..."))
    revoked = runner.invoke(
        cli_app, ["exposure", "apps", "revoke", "--name", "Bluezone", "--data-dir", data_dir]
    )
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["revokedAt"]
    missing = runner.invoke(
        cli_app, ["exposure", "apps", "revoke", "--name", "nope", "--data-dir", data_dir]
    )
    assert missing.exit_code == 1
    database = Database(load_settings(data_dir=Path(data_dir)).sqlalchemy_url)
    with database.session() as session, pytest.raises(apps.AppKeyRejected):
        apps.authenticate(session, key)
    database.dispose()


LEVELS = ["confirmed", "likely", "negative"]
VALUES = [*LEVELS, wire.TEST_TYPE_USER_REPORT]


@given(st.lists(st.sampled_from(VALUES + [v.upper() for v in VALUES]), max_size=6))
def test_accept_is_a_union_of_levels_each_including_the_ones_below(accept: list[str]) -> None:
    accepted = wire.accepted_test_types(accept)
    if not accept:
        assert accepted == wire.ALL_TEST_TYPES
        return
    # The set is the union of what each value implies, whatever the order or case.
    expected = set().union(*(wire.ACCEPT_IMPLIES[value.lower()] for value in accept))
    assert accepted == expected
    assert wire.accepted_test_types(list(reversed(accept))) == accepted
    # Hierarchy: accepting a level accepts every level below it.
    for position, level in enumerate(LEVELS):
        if level in accepted:
            assert set(LEVELS[:position]) <= accepted
    assert wire.TEST_TYPE_CONFIRMED in accepted


@given(st.text(min_size=1, max_size=12).filter(lambda value: value.lower() not in VALUES))
def test_accept_refuses_an_unknown_type(unknown: str) -> None:
    with pytest.raises(wire.InvalidAcceptList):
        wire.accepted_test_types(["confirmed", unknown])


def test_wire_shapes_serialise_with_googles_names() -> None:
    answer = wire.VerifyCodeResponse.model_validate(
        {"testtype": "likely", "testDate": "2026-03-10", "token": "t"}
    )
    assert answer.model_dump(by_alias=True, exclude_none=True) == {
        "testtype": "likely",
        "testDate": "2026-03-10",
        "token": "t",
        "padding": "",
    }
    refused = wire.VerificationCertificateResponse(error="x", error_code="token_invalid")
    assert refused.model_dump(by_alias=True, exclude_none=True)["errorCode"] == "token_invalid"
    with pytest.raises(ValueError, match="extra"):
        wire.VerifyCodeRequest.model_validate({"code": "1", "testType": "confirmed"})
    assert dt.date.fromisoformat(answer.test_date or "") == dt.date(2026, 3, 10)
