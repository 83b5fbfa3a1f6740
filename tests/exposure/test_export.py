"""Export batches, signing keys, storage backends (local and a real S3 server), retention."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from safezone.cli import app as cli_app
from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.en.export import read_export
from safezone.en.keys import ReportType
from safezone.exposure import codes, export, retention, signing
from safezone.exposure.models import ExportFile, ExposureKey, VerificationCode
from safezone.exposure.publish import PublishPolicy, publish
from safezone.exposure.storage import InvalidPath, LocalStorage, S3Storage
from safezone.exposure.wire import PublishIn
from tests.conftest import free_port
from tests.exposure.conftest import NOW, make_keys, publish_body


def _upload(
    db: Database,
    policy: PublishPolicy,
    code_policy: codes.CodePolicy,
    keys: Any,
    now: dt.datetime = NOW,
    **extra: Any,
) -> Any:
    with db.session() as session:
        return publish(
            session,
            policy,
            PublishIn.model_validate(publish_body(code_policy, keys, now=now, **extra)),
            now=now,
        )


def _export(
    db: Database, settings: Settings, storage: Any, now: dt.datetime
) -> export.ExportReport:
    with db.session() as session:
        return export.run_export(session, settings, storage, now=now)


def test_export_pads_sorts_signs_and_indexes(
    db: Database,
    settings: Settings,
    storage: LocalStorage,
    publish_policy: PublishPolicy,
    code_policy: codes.CodePolicy,
    signing_key: signing.PublicSigningKey,
) -> None:
    keys = make_keys(NOW, days=14)
    _upload(db, publish_policy, code_policy, keys)
    # Too early: the window holding the keys is younger than two hours.
    assert _export(db, settings, storage, NOW + dt.timedelta(minutes=30)).keys == 0
    report = _export(db, settings, storage, NOW + dt.timedelta(hours=3))
    assert report.keys == 14
    index = storage.get("VN/index.txt").decode().splitlines()
    assert index == sorted(set(index), key=index.index)
    mine = [p for p in index if p.startswith("VN/1773147600-1773151200-")]
    assert mine == ["VN/1773147600-1773151200-00001.zip"]
    parsed = read_export(
        storage.get(mine[0]),
        {(signing_key.key_id, signing_key.key_version): signing_key.public_key},
    )
    assert parsed.region == "VN"
    assert (parsed.start_timestamp, parsed.end_timestamp) == (1773147600, 1773151200)
    assert (parsed.batch_num, parsed.batch_size) == (1, 1)
    assert 1000 <= len(parsed.keys) <= 1200  # padded to 1000 plus jitter
    assert [k.key_data for k in parsed.keys] == sorted(k.key_data for k in parsed.keys)
    published = {k.key_data: k for k in parsed.keys}
    for key in keys:
        assert published[key.key_data].report_type == ReportType.CONFIRMED_TEST
        assert published[key.key_data].transmission_risk_level == 2
    # Running again exports nothing new and keeps the same files.
    again = _export(db, settings, storage, NOW + dt.timedelta(hours=3))
    assert again.batches == 0
    assert storage.get("VN/index.txt").decode().splitlines() == index


def test_embargoed_key_appears_after_it_expired_and_revisions_are_exported(
    db: Database,
    settings: Settings,
    storage: LocalStorage,
    publish_policy: PublishPolicy,
    code_policy: codes.CodePolicy,
    signing_key: signing.PublicSigningKey,
) -> None:
    from safezone.en.keys import TemporaryExposureKey

    today = TemporaryExposureKey(os.urandom(16), int(NOW.timestamp()) // 600 // 144 * 144, 144)
    old = make_keys(NOW, days=2)
    first = _upload(db, publish_policy, code_policy, [*old, today], test_type="likely")
    keys_by_file = {}
    report = _export(db, settings, storage, NOW + dt.timedelta(hours=3))
    for path in report.files:
        keys_by_file[path] = {k.key_data for k in read_export(storage.get(path)).keys}
    seen = set().union(*keys_by_file.values())
    assert {k.key_data for k in old} <= seen
    assert today.key_data not in seen
    later = NOW + dt.timedelta(hours=14)  # the next day: today's key expired at midnight
    _upload(db, publish_policy, code_policy, old, now=later, revisionToken=first.revision_token)
    report = _export(db, settings, storage, later + dt.timedelta(hours=3))
    parsed = [read_export(storage.get(p)) for p in report.files]
    assert today.key_data in {k.key_data for p in parsed for k in p.keys}
    revised = {k.key_data: k for p in parsed for k in p.revised_keys}
    assert set(revised) == {k.key_data for k in old}
    assert {k.report_type for k in revised.values()} == {ReportType.CONFIRMED_TEST}


def test_served_files_have_etag_cache_headers_and_signing_keys_endpoint(
    db: Database,
    client: TestClient,
    settings: Settings,
    storage: LocalStorage,
    signing_key: signing.PublicSigningKey,
) -> None:
    _export(db, settings, storage, NOW)
    index = client.get("/exposure/v1/VN/index.txt")
    assert index.status_code == 200
    assert index.headers["cache-control"] == "public, max-age=300"
    path = index.text.splitlines()[0]
    file = client.get(f"/exposure/v1/{path}")
    assert file.headers["content-type"] == "application/zip"
    assert file.headers["cache-control"] == "public, max-age=86400"
    again = client.get(f"/exposure/v1/{path}", headers={"If-None-Match": file.headers["etag"]})
    assert again.status_code == 304
    for bad in ("../secrets.json", "VN/../../x.zip", "VN/nothing.zip", "VN%2F..%2Fsafezone.db"):
        assert client.get(f"/exposure/v1/{bad}").status_code == 404
    published = client.get("/exposure/v1/signing-keys").json()
    assert published[0]["keyId"] == "452"
    assert published[0]["keyVersion"] == "v1"
    assert published[0]["algorithm"] == "1.2.840.10045.4.3.2"
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(published[0]["publicKeyPem"].encode())
    read_export(file.content, {("452", "v1"): public})  # type: ignore[dict-item]
    # The protocol tools verify the server's file with the published key.
    pem = settings.data_dir / "key.pem"
    pem.write_text(published[0]["publicKeyPem"])
    zipped = settings.data_dir / "file.zip"
    zipped.write_bytes(file.content)
    inspect = ["en", "inspect", str(zipped), "--public-key", str(pem), "--key-id", "452"]
    checked = CliRunner().invoke(cli_app, [*inspect, "--key-version", "v1"])
    assert checked.exit_code == 0, checked.output
    assert CliRunner().invoke(cli_app, [*inspect, "--key-version", "v9"]).exit_code != 0


def test_rotation_signs_with_both_keys_during_the_overlap(
    db: Database, settings: Settings, storage: LocalStorage, signing_key: signing.PublicSigningKey
) -> None:
    with db.session() as session:
        new = signing.rotate(session, settings, now=NOW)
    assert new.key_version == "v2"
    report = _export(db, settings, storage, NOW)
    parsed = read_export(storage.get(report.files[0]))
    assert {s.signature_info.verification_key_version for s in parsed.signatures} == {"v1", "v2"}
    with db.session() as session:
        later = signing.signers(session, settings, now=NOW + dt.timedelta(days=8))
    assert [s.key_version for s in later] == ["v2"]


def test_retention_deletes_old_keys_files_and_codes(
    db: Database,
    settings: Settings,
    storage: LocalStorage,
    publish_policy: PublishPolicy,
    code_policy: codes.CodePolicy,
    signing_key: signing.PublicSigningKey,
) -> None:
    _upload(db, publish_policy, code_policy, make_keys(NOW, days=3))
    with db.session() as session:
        codes.issue_code(
            session,
            code_policy,
            unit_code="555",
            test_type="confirmed",
            test_date=NOW.date(),
            symptom_date=None,
            actor="t",
            now=NOW,
        )
    report = _export(db, settings, storage, NOW + dt.timedelta(hours=3))
    assert report.files
    with db.session() as session:
        kept = retention.purge(session, settings, storage, now=NOW + dt.timedelta(days=13))
    assert (kept.keys, kept.files, kept.codes) == (0, 0, 0)
    with db.session() as session:
        gone = retention.purge(session, settings, storage, now=NOW + dt.timedelta(days=15))
    assert gone.keys == 3
    assert gone.codes == 1
    assert gone.files == len(report.files)
    with db.session() as session:
        for table in (ExposureKey, ExportFile, VerificationCode):
            assert session.scalar(select(func.count()).select_from(table)) == 0
    assert storage.list() == ["VN/index.txt"]
    assert storage.get("VN/index.txt") == b""


def test_local_storage_refuses_paths_outside_its_root(storage: LocalStorage) -> None:
    for bad in ("../x.zip", "/etc/passwd", "VN/a/b.zip", "VN/index.txt/../../x"):
        with pytest.raises(InvalidPath):
            storage.put(bad, b"x")


# --- S3 against a real S3-compatible server (moto in server mode) ----------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (a separate HTTP server, not a mock)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_s3_backend_against_a_real_server(
    db: Database,
    database_url: str,
    tmp_path: Any,
    moto_endpoint: str,
) -> None:
    config = ExposureConfig(
        health_authorities={"safezone-demo": "VN"},
        storage="s3",
        s3_bucket="exposure-files",
        s3_prefix="pub/v1",
        s3_endpoint_url=moto_endpoint,
        s3_access_key_id="testing",  # type: ignore[arg-type]
        s3_secret_access_key="testing",  # type: ignore[arg-type]
    )
    settings = Settings(
        data_dir=tmp_path, database_url=database_url, secret_key="s" * 40, exposure=config
    )
    boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="exposure-files")
    storage = S3Storage.from_settings(settings)
    with db.session() as session:
        signing.generate(session, settings, now=NOW)  # this secret's own key
        keys = signing.public_keys(session)
    report = _export(db, settings, storage, NOW)
    assert storage.list("VN/") == sorted([*report.files, "VN/index.txt"])
    raw = storage.client.get_object(Bucket="exposure-files", Key="pub/v1/" + report.files[0])
    assert raw["ContentType"] == "application/zip"
    assert raw["CacheControl"] == "public, max-age=86400"
    assert read_export(raw["Body"].read(), keys).region == "VN"
    assert storage.get("VN/index.txt").decode().splitlines() == report.files
    storage.delete(report.files[0])
    with pytest.raises(FileNotFoundError):
        storage.get(report.files[0])


# --- CLI --------------------------------------------------------------------------------------


def test_cli_keys_codes_and_export_at(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SAFEZONE_SECRET_KEY", settings.secret().decode())
    monkeypatch.setenv("SAFEZONE_EXPOSURE__HEALTH_AUTHORITIES", '{"safezone-demo": "VN"}')
    runner = CliRunner()
    data_dir = ["--data-dir", str(settings.data_dir)]
    generated = runner.invoke(cli_app, ["exposure", "keys", "generate", *data_dir])
    assert generated.exit_code == 0, generated.output
    assert json.loads(generated.stdout)["keyVersion"] == "v1"
    assert runner.invoke(cli_app, ["exposure", "keys", "generate", *data_dir]).exit_code == 1
    rotated = runner.invoke(cli_app, ["exposure", "keys", "rotate", *data_dir])
    assert json.loads(rotated.stdout)["keyVersion"] == "v2"
    listed = runner.invoke(cli_app, ["exposure", "keys", "list", *data_dir])
    assert len(listed.stdout.splitlines()) == 2
    issued = runner.invoke(
        cli_app,
        [
            "exposure",
            "codes",
            "issue",
            "--type",
            "likely",
            "--unit",
            "555",
            "--onset-date",
            dt.datetime.now(dt.UTC).date().isoformat(),
            *data_dir,
        ],
    )
    assert issued.exit_code == 0, issued.output
    printed = json.loads(issued.stdout)
    assert len(printed["shortCode"]) == 8
    assert len(printed["longCode"]) == 16
    bad = runner.invoke(
        cli_app, ["exposure", "codes", "issue", "--type", "positive", "--unit", "555", *data_dir]
    )
    assert bad.exit_code == 1
    exported = runner.invoke(
        cli_app, ["exposure", "export", "--at", "2026-03-10T15:00:00Z", *data_dir]
    )
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.stdout)
    assert summary["files"] == ["VN/1773144000-1773147600-00001.zip"]
    replay = runner.invoke(cli_app, ["exposure", "export", "--at", "1773158400", *data_dir])
    assert replay.exit_code == 0, (replay.output, replay.exception)
    assert json.loads(replay.stdout)["files"] == ["VN/1773147600-1773151200-00001.zip"]
    assert (
        runner.invoke(cli_app, ["exposure", "export", "--at", "yesterday", *data_dir]).exit_code
        == 2
    )
