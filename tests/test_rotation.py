"""Secret rotation end to end: data made under the old secret survives ``safezone secrets rotate``.

Before: following the rotation steps made exposure's stored signing keys undecryptable, and
nothing re-encrypted every domain in one step.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from safezone.app import create_app
from safezone.cli import app as cli_app
from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.en.export import read_export
from safezone.exposure import codes, export, signing
from safezone.exposure.publish import PublishPolicy, publish
from safezone.exposure.storage import LocalStorage
from safezone.exposure.wire import PublishIn
from tests.conftest import PASSWORD, MakeUser, login
from tests.declarations.conftest import make_body
from tests.exposure.conftest import make_keys, publish_body

OLD = "the-old-secret-key-of-this-installation-0123456789"
NEW = "the-new-secret-key-of-this-installation-9876543210"
runner = CliRunner()


def _settings(tmp_path: Path, url: str, current: str, previous: list[str]) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=url,
        secret_key=current,
        previous_secret_keys=previous,
        log_json=True,
        exposure=ExposureConfig(health_authorities={"safezone-demo": "VN"}),
    )


def _cli(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> str:
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    previous = [key.get_secret_value() for key in settings.previous_secret_keys]
    monkeypatch.setenv("SAFEZONE_PREVIOUS_SECRET_KEYS", json.dumps(previous))
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEZONE_DATA_DIR", str(settings.data_dir))
    result = runner.invoke(cli_app, ["secrets", *args])
    return f"{result.exit_code}\n{result.output}"


def test_rotation_end_to_end(
    tmp_path: Path,
    database_url: str,
    db: Database,
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old = _settings(tmp_path, database_url, OLD, [])
    during = _settings(tmp_path, database_url, NEW, [OLD])
    after = _settings(tmp_path, database_url, NEW, [])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    storage = LocalStorage(tmp_path / "exposure")
    make_user("rot.admin", "admin", "54")

    # --- made under the old secret ----------------------------------------------------------
    with TestClient(create_app(old, db)) as client:
        created = client.post("/api/v1/declarations", json=make_body()).json()
        login(client, "rot.admin")
        cookies = dict(client.cookies)
    old_codes = codes.CodePolicy.from_settings(old)
    with db.session() as session:
        signing.generate(session, old, now=now - dt.timedelta(days=30))
        publish(
            session,
            PublishPolicy.from_settings(old, old_codes),
            PublishIn.model_validate(publish_body(old_codes, make_keys(now, days=3), now=now)),
            now=now,
        )
        issued = codes.issue_code(
            session,
            old_codes,
            unit_code="555",
            test_type="confirmed",
            test_date=now.date(),
            symptom_date=None,
            actor="rot.admin",
            now=now,
        )
    with db.session() as session:
        old_export = export.run_export(session, old, storage, now=now + dt.timedelta(hours=3))
    assert old_export.files
    old_file = storage.get(old_export.files[0])

    # --- the new secret, the old one listed as previous: rotate ------------------------------
    status = _cli(monkeypatch, during, "status")
    assert status.startswith("1\n"), status
    stale = dict(re.findall(r"^(\w+): (\d+) rows under a previous secret$", status, re.MULTILINE))
    assert int(stale["declarations"]) >= 1  # the person (and the declaration's own fields)
    assert stale["exposure_signing_keys"] == "1"
    rotated = _cli(monkeypatch, during, "rotate")
    assert rotated.startswith("0\n"), rotated
    assert dict(re.findall(r"^(\w+): re-encrypted (\d+) rows$", rotated, re.MULTILINE)) == stale
    assert _cli(monkeypatch, during, "status").startswith("0\n")

    # While the old secret is still listed, what people hold keeps working.
    with TestClient(create_app(during, db)) as client:
        client.cookies.update(cookies)
        assert client.get("/api/v1/me").json()["username"] == "rot.admin"  # the session
        checked = client.post("/api/v1/passes/verify", json={"token": created["pass_token"]})
        assert checked.status_code == 200, checked.text
        assert checked.json()["valid"] is True
    with db.session() as session:
        codes.verify_code(
            session, codes.CodePolicy.from_settings(during), issued.long_code, now=now
        )

    # --- ONLY the new secret -----------------------------------------------------------------
    assert _cli(monkeypatch, after, "status").startswith("0\n")
    with TestClient(create_app(after, db)) as client:
        login(client, "rot.admin", PASSWORD)
        detail = client.get(f"/api/v1/declarations/{created['id']}")
        assert detail.status_code == 200, detail.text
        assert "Nguyễn Văn An" in detail.text  # personal data reads back
        published = client.get("/exposure/v1/signing-keys").json()
    # The old export still verifies with the published public key.
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = {
        (k["keyId"], k["keyVersion"]): load_pem_public_key(k["publicKeyPem"].encode())
        for k in published
    }
    assert read_export(old_file, public).keys  # type: ignore[arg-type]
    # Exposure signing still works under the new secret alone.
    new_codes = codes.CodePolicy.from_settings(after)
    later = now + dt.timedelta(days=1)
    with db.session() as session:
        publish(
            session,
            PublishPolicy.from_settings(after, new_codes),
            PublishIn.model_validate(publish_body(new_codes, make_keys(later, days=1), now=later)),
            now=later,
        )
    with db.session() as session:
        new_export = export.run_export(session, after, storage, now=later + dt.timedelta(hours=3))
    assert new_export.files
    assert read_export(storage.get(new_export.files[-1]), public).keys  # type: ignore[arg-type]


def test_short_lived_tokens_of_the_old_secret_verify_only_while_it_is_listed(
    tmp_path: Path, database_url: str
) -> None:
    import os

    from safezone.exposure.publish import PublishRejected, verify_certificate
    from tests.exposure.conftest import certificate_for

    old = _settings(tmp_path, database_url, OLD, [])
    during = _settings(tmp_path, database_url, NEW, [OLD])
    after = _settings(tmp_path, database_url, NEW, [])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old_codes = codes.CodePolicy.from_settings(old)
    certificate = certificate_for(old_codes, make_keys(now, days=2), os.urandom(32), now=now)
    revision = PublishPolicy.from_settings(old, old_codes).revision_token([b"k" * 16])
    accepting = PublishPolicy.from_settings(during)
    assert verify_certificate(accepting, certificate, now=now).tekmac
    assert accepting.open_revision_token(revision) == {b"k" * 16}
    assert old_codes.digest("short", "12345678") in codes.CodePolicy.from_settings(during).digests(
        "short", "12345678"
    )
    refusing = PublishPolicy.from_settings(after)
    with pytest.raises(PublishRejected):
        verify_certificate(refusing, certificate, now=now)
    with pytest.raises(PublishRejected):
        refusing.open_revision_token(revision)
