"""``safezone declarations`` commands."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from safezone.cli import app
from safezone.config import Settings
from safezone.declarations.base import Policy

runner = CliRunner()


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    return settings


def test_verify_pass_exit_codes(env: Settings) -> None:
    issued = dt.datetime(2026, 11, 28, 1, 0, tzinfo=dt.UTC)
    token = Policy.from_settings(env).keys.passes.issue(
        bytes(16), issued, dt.timedelta(hours=24), "high", initials="NVA", birth_year=1985
    )
    at = ["--at", "2026-11-28T09:00"]  # Vietnam time: 02:00 UTC
    valid = runner.invoke(app, ["declarations", "verify-pass", token, *at])
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.output) == {
        "valid": True,
        "reason": None,
        "serial": "00" * 16,
        "issued": "2026-11-28T01:00:00Z",
        "expires": "2026-11-29T01:00:00Z",
        "risk": "high",
        "initials": "NVA",
        "birth_year": 1985,
    }
    expired = runner.invoke(
        app, ["declarations", "verify-pass", token, "--at", "2026-11-29T01:00:00+00:00"]
    )
    assert expired.exit_code == 1
    assert json.loads(expired.output)["reason"] == "expired"
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    assert runner.invoke(app, ["declarations", "verify-pass", tampered, *at]).exit_code == 1
    assert runner.invoke(app, ["declarations", "verify-pass", "junk"]).exit_code == 1
    assert runner.invoke(app, ["declarations", "verify-pass", token, "--at", "soon"]).exit_code == 2


def test_pass_keys_and_purge(env: Settings) -> None:
    keys = runner.invoke(app, ["declarations", "pass-keys"])
    assert keys.exit_code == 0
    assert len(keys.output.split()) == 1
    purged = runner.invoke(app, ["declarations", "purge"])
    assert purged.exit_code == 0, purged.output
    assert "purged 0 declarations" in purged.output


def test_key_rotation_then_rekey(env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from safezone.app import create_app
    from safezone.db.engine import Database
    from safezone.declarations.models import Person
    from tests.declarations.conftest import make_body

    database = Database(env.sqlalchemy_url)
    with TestClient(create_app(env, database)) as client:
        created = client.post("/api/v1/declarations", json=make_body()).json()
    old_secret = env.secret().decode()
    new_secret = "a-brand-new-secret-key-for-the-rotation-0123456789"
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", new_secret)
    monkeypatch.setenv("SAFEZONE_PREVIOUS_SECRET_KEYS", json.dumps([old_secret]))
    from safezone.config import load_settings

    rotated = load_settings()
    policy = Policy.from_settings(rotated)
    with database.session() as session:
        before = session.get_one(Person, 1).full_name_enc
        assert not policy.keys.cipher.is_current(before)
    result = runner.invoke(app, ["declarations", "rekey"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 rows" in result.output  # the person and the declaration
    only_new = Policy.from_settings(rotated.model_copy(update={"previous_secret_keys": []}))
    with database.session() as session:
        person = session.get_one(Person, 1)
        assert only_new.keys.cipher.decrypt(person.full_name_enc, field="full_name") == (
            "Nguyễn Văn An"
        )
        assert person.id_index == only_new.keys.index.digest("id_number", "054085001234")
    # Passes signed before the rotation still verify while the old key is in the ring.
    checked = runner.invoke(app, ["declarations", "verify-pass", created["pass_token"]])
    assert checked.exit_code == 0, checked.output
    database.dispose()
