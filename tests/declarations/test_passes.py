"""QR passes: short lifetime, revocation (risk raised, link withdrawn, replaced, staff outcome),
the public signed revocation list, and the offline checkpoint check with a synced list."""

from __future__ import annotations

import base64
import datetime as dt
import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from safezone.cli import app as cli_app
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.declarations import base, intake, passes
from safezone.declarations.crypto import PassVerifier
from safezone.declarations.models import Declaration, PassRecord
from tests.conftest import MakeUser
from tests.declarations.conftest import DISTRICT

URL = "/api/v1/declarations"
Body = Callable[..., dict[str, Any]]
runner = CliRunner()


def declare(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(URL, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def check(client: TestClient, token: str) -> dict[str, Any]:
    response = client.post("/api/v1/passes/verify", json={"token": token})
    assert response.status_code == 200
    return dict(response.json())


def serial_of(policy: base.Policy, token: str) -> str:
    return PassVerifier(policy.keys.passes.public_keys).verify(token, now=utcnow()).serial


def revoked_serials(client: TestClient, policy: base.Policy, **params: Any) -> set[str]:
    response = client.get("/api/v1/passes/revocations", params=params)
    assert response.status_code == 200
    listing = PassVerifier(policy.keys.passes.public_keys).verify_revocations(response.json())
    return {entry["serial"] for entry in listing["revoked"]}


def exposed_body(body: Body) -> dict[str, Any]:
    raw = body(symptoms=[])
    raw["exposure"]["confirmed_case"] = True  # medium; a symptom later makes it high
    return raw


def test_a_pass_names_its_holder_by_initials_and_birth_year(client: TestClient, body: Body) -> None:
    created = declare(client, body())  # Nguyễn Văn An, 1985
    result = check(client, created["pass_token"])
    assert result["valid"] is True
    assert (result["initials"], result["birth_year"]) == ("NVA", 1985)
    issued = dt.datetime.fromisoformat(result["issued"])
    expires = dt.datetime.fromisoformat(result["expires"])
    assert expires - issued == dt.timedelta(hours=24)  # the documented default lifetime
    page = client.get("/pass/verify", params={"token": created["pass_token"]})
    assert "NVA · 1985" in page.text


def test_raised_risk_revokes_the_pass_and_the_list_names_it(
    client: TestClient, body: Body, policy: base.Policy
) -> None:
    created = declare(client, exposed_body(body))
    assert created["risk"] == "medium"
    old = created["pass_token"]
    assert check(client, old)["valid"] is True
    assert revoked_serials(client, policy) == set()

    update = client.post(
        f"{URL}/{created['id']}/updates",
        json={"statuses": ["fever"]},
        headers={"X-Update-Token": created["update_token"]},
    )
    assert update.status_code == 201, update.text
    assert update.json()["risk"] == "high"

    assert serial_of(policy, old) in revoked_serials(client, policy)
    assert check(client, old) == {
        "valid": False,
        "reason": "revoked",
        "serial": serial_of(policy, old),
        "issued": None,
        "expires": None,
        "risk": None,
        "initials": None,
        "birth_year": None,
    }
    page = client.get("/pass/verify", params={"token": old, "lang": "en"})
    assert "Invalid pass" in page.text
    assert "was revoked" in page.text
    new = check(client, update.json()["pass_token"])
    assert (new["valid"], new["risk"]) == (True, "high")


def test_withdrawn_link_revokes_the_pass(
    client: TestClient, body: Body, policy: base.Policy
) -> None:
    created = declare(client, body())
    withdrawn = client.delete(
        f"{URL}/{created['id']}/update-token", headers={"X-Update-Token": created["update_token"]}
    )
    assert withdrawn.status_code == 204
    assert check(client, created["pass_token"])["reason"] == "revoked"
    assert serial_of(policy, created["pass_token"]) in revoked_serials(client, policy)


def test_a_newer_pass_replaces_the_old_one(
    client: TestClient, body: Body, db: Database, policy: base.Policy
) -> None:
    created = declare(client, body())
    edited = client.put(
        f"{URL}/{created['id']}",
        json=body(full_name="Trần Thị Bình"),
        headers={"X-Update-Token": created["update_token"]},
    )
    assert edited.status_code == 200, edited.text
    assert check(client, created["pass_token"])["reason"] == "revoked"
    fresh = check(client, edited.json()["pass_token"])
    assert (fresh["valid"], fresh["initials"]) == (True, "TTB")
    with db.session() as session:
        reasons = session.scalars(select(PassRecord.revoked_reason)).all()
    assert sorted(reasons, key=str) == [None, "replaced"]  # the reason stays in the database
    assert "replaced" not in client.get("/api/v1/passes/revocations").text


def test_citizen_page_shows_the_same_pass_until_it_changes(client: TestClient, body: Body) -> None:
    created = declare(client, body())
    page = client.get(f"/declare/u/{created['update_token']}")
    assert created["pass_token"] in page.text  # reloading issues no new pass
    assert client.get(f"/declare/u/{created['update_token']}").text.count(
        created["pass_token"]
    ) == page.text.count(created["pass_token"])


@pytest.mark.parametrize(("outcome", "revoked"), [("became_case", True), ("completed", False)])
def test_staff_outcome_that_ends_the_pass(
    client: TestClient,
    body: Body,
    make_user: MakeUser,
    token_for: Callable[..., dict[str, str]],
    outcome: str,
    revoked: bool,
) -> None:
    created = declare(client, body())
    officer = token_for(make_user("yte", "health_officer", DISTRICT))
    closed = client.put(
        f"{URL}/{created['id']}/outcome", json={"outcome": outcome}, headers=officer
    )
    assert closed.status_code == 200, closed.text
    assert check(client, created["pass_token"])["valid"] is not revoked
    citizen = client.get(f"/declare/u/{created['update_token']}")
    assert ('data-testid="no-pass"' in citizen.text) is revoked
    if revoked:  # and a daily update does not hand out a new one
        update = client.post(
            f"{URL}/{created['id']}/updates",
            json={"statuses": ["healthy"]},
            headers={"X-Update-Token": created["update_token"]},
        )
        assert update.json()["pass_token"] is None


def test_pass_expires_after_its_lifetime(
    db: Database, client: TestClient, body: Body, settings: Settings
) -> None:
    created = declare(client, body())
    policy = base.Policy.from_settings(
        settings.model_copy(
            update={
                "declarations": settings.declarations.model_copy(update={"pass_lifetime_hours": 6})
            }
        )
    )
    with db.session() as session:
        declaration = session.get_one(Declaration, created["id"])
        issued = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
        token = passes.renew(session, policy, declaration, now=issued)
        assert token is not None
        at = intake.verify_pass
        assert at(session, policy, token, now=issued + dt.timedelta(hours=5, minutes=59)).valid
        late = at(session, policy, token, now=issued + dt.timedelta(hours=6))
        assert (late.valid, late.reason) == (False, "expired")
        early = at(session, policy, token, now=issued - dt.timedelta(hours=1))
        assert early.reason == "not_yet_valid"


def test_revocation_list_is_public_cacheable_incremental_and_impersonal(
    client: TestClient, body: Body, db: Database, policy: base.Policy
) -> None:
    first = declare(client, body())
    client.delete(
        f"{URL}/{first['id']}/update-token", headers={"X-Update-Token": first["update_token"]}
    )
    response = client.get("/api/v1/passes/revocations")
    assert response.headers["cache-control"].startswith("public, max-age=")
    document = response.json()
    assert set(document) == {"list", "key_id", "signature"}
    listing = document["list"]
    assert set(listing) == {"format", "generated_at", "since", "next_since", "revoked"}
    assert [set(entry) for entry in listing["revoked"]] == [{"serial", "expires"}]
    # Incremental: nothing revoked since the last generation time.
    assert revoked_serials(client, policy, since=listing["generated_at"] + 1) == set()
    assert revoked_serials(client, policy, since=listing["next_since"]) == {
        serial_of(policy, first["pass_token"])
    }
    # Expired passes leave the list (a checkpoint refuses them anyway); purge forgets them.
    with db.session() as session:
        for record in session.scalars(select(PassRecord)):
            record.expires_at = utcnow() - dt.timedelta(days=2)
    assert revoked_serials(client, policy) == set()
    with db.session() as session:
        passes.purge(session, now=utcnow())
        assert session.scalars(select(PassRecord)).all() == []


@pytest.mark.parametrize("since", [-1, 2**32, 2**63, 2**64])
def test_revocation_list_rejects_out_of_range_since(client: TestClient, since: int) -> None:
    assert client.get("/api/v1/passes/revocations", params={"since": since}).status_code == 422


def test_forged_and_outdated_passes_are_refused(
    client: TestClient, body: Body, policy: base.Policy
) -> None:
    created = declare(client, exposed_body(body))
    raw = base64.urlsafe_b64decode(created["pass_token"] + "==")
    # Lower the risk byte and re-sign with the attacker's own key, keeping our key id.
    payload = bytearray(raw[:34])
    payload[27] = 0
    attacker = Ed25519PrivateKey.generate()
    forged = base64.urlsafe_b64encode(bytes(payload) + attacker.sign(bytes(payload)))
    assert check(client, forged.decode().rstrip("="))["reason"] == "bad_signature"
    # A pass of the retired version 1, correctly signed by this installation's key.
    v1_payload = struct.pack(">B4sQIHB", 1, raw[1:5], created["id"], 20_787, 1, 0)
    assert check(client, base64.urlsafe_b64encode(v1_payload + bytes(64)).decode())["reason"] == (
        "outdated_version"
    )


def _cli(*args: str) -> Any:
    return runner.invoke(cli_app, ["declarations", *args])


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    return settings


def test_offline_checkpoint_with_a_synced_list(
    env: Settings,
    client: TestClient,
    body: Body,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(_cli("pass-keys").output)
    local = tmp_path / "revoked.json"
    created = declare(client, exposed_body(body))
    token = created["pass_token"]

    # The device syncs over the network (here: the test client stands in for the server).
    def fetch(url: str) -> Any:
        path = url.removeprefix("https://yte.example.vn")
        return client.get(path).json()

    monkeypatch.setattr("safezone.declarations.cli._fetch", fetch)
    synced = _cli(
        "sync-revocations",
        "--url",
        "https://yte.example.vn",
        "--keys",
        str(keys),
        "--out",
        str(local),
    )
    assert synced.exit_code == 0, synced.output
    offline = ["verify-pass", token, "--keys", str(keys), "--revocations", str(local)]
    valid = _cli(*offline)
    assert valid.exit_code == 0, valid.output
    assert json.loads(valid.output)["initials"] == "NVA"

    raised = client.post(
        f"{URL}/{created['id']}/updates",
        json={"statuses": ["cough"]},
        headers={"X-Update-Token": created["update_token"]},
    )
    assert raised.json()["risk"] == "high"
    assert _cli(*offline).exit_code == 0  # not synced yet: the device cannot know
    again = _cli(
        "sync-revocations",
        "--url",
        "https://yte.example.vn",
        "--keys",
        str(keys),
        "--out",
        str(local),
    )
    assert again.exit_code == 0, again.output
    refused = _cli(*offline)
    assert refused.exit_code == 1
    assert json.loads(refused.output)["reason"] == "revoked"

    # A list carried on a USB stick works the same; a tampered one is refused and changes nothing.
    saved = tmp_path / "list.json"
    document = client.get("/api/v1/passes/revocations").json()
    document["list"]["revoked"] = []
    saved.write_text(json.dumps(document))
    before = local.read_text()
    bad = _cli(
        "sync-revocations", "--document", str(saved), "--keys", str(keys), "--out", str(local)
    )
    assert bad.exit_code == 1
    assert "does not verify" in bad.output
    assert local.read_text() == before

    # Time is injectable: the pass is expired a day later, whatever the list says.
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)).isoformat()
    fresh = raised.json()["pass_token"]
    late = _cli("verify-pass", fresh, "--keys", str(keys), "--at", tomorrow)
    assert json.loads(late.output)["reason"] == "expired"
    assert _cli("verify-pass", fresh, "--keys", str(keys)).exit_code == 0


def test_a_declaration_from_before_the_register_gets_a_pass_on_its_page(
    client: TestClient, body: Body, db: Database
) -> None:
    created = declare(client, body())
    with db.session() as session:  # as if declared before migration 0007
        for record in session.scalars(select(PassRecord)):
            session.delete(record)
    page = client.get(f"/declare/u/{created['update_token']}")
    assert 'data-testid="qr"' in page.text
    with db.session() as session:
        record = session.scalars(select(PassRecord)).one()
        declaration = session.get_one(Declaration, created["id"])
        assert record.issued_at == declaration.updated_at.replace(microsecond=0)
        assert record.revoked_at is None
