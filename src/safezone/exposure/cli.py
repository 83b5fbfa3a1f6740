"""``safezone exposure``: verification codes, signing keys, export and retention."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from safezone.config import ConfigError, Settings, load_settings
from safezone.errors import SafezoneError

if TYPE_CHECKING:
    from safezone.db.engine import Database

app = typer.Typer(
    help="Exposure-notification server: codes, signing keys, export.", no_args_is_help=True
)
codes_app = typer.Typer(help="Verification codes.", no_args_is_help=True)
keys_app = typer.Typer(help="Export signing keys (ECDSA P-256).", no_args_is_help=True)
apps_app = typer.Typer(
    help="App API keys for /api/verify and /api/certificate (X-API-Key).", no_args_is_help=True
)
app.add_typer(codes_app, name="codes")
app.add_typer(keys_app, name="keys")
app.add_typer(apps_app, name="apps")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_for(data_dir: Path | None) -> Settings:
    """Settings with ``--data-dir`` winning over the environment."""
    try:
        return load_settings(data_dir=data_dir) if data_dir else load_settings()
    except ConfigError as error:
        fail(f"configuration: {error}")


def print_domain_error(error: SafezoneError) -> NoReturn:
    """Every field error in both languages, then exit 1."""
    for item in error.errors:
        typer.echo(
            f"{item.field or '-'} [{item.code}] {item.message_vi} / {item.message_en}", err=True
        )
    raise typer.Exit(1)


def _database(settings: Settings) -> Database:
    """The migrated database (exit 2 when unreachable or not up to date)."""
    from safezone.db.engine import Database, DatabaseUnavailable
    from safezone.db.migrate import pending

    database = Database(settings.sqlalchemy_url)
    try:
        database.ping()
    except DatabaseUnavailable as error:
        fail(f"SAFEZONE_DATABASE_URL: cannot connect to the database: {error}")
    if pending(database.engine):
        fail("the database schema is not up to date: run `safezone db upgrade` first")
    return database


def _parse_time(value: str) -> dt.datetime:
    """ISO 8601 or unix seconds; a naive time is taken as UTC."""

    try:
        if value.isdigit():
            return dt.datetime.fromtimestamp(int(value), dt.UTC)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at: {value!r} is not an ISO 8601 time or unix seconds")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@codes_app.command("issue")
def codes_issue(
    unit: Annotated[str, typer.Option(help="Unit code the test result belongs to")],
    test_type: Annotated[
        str, typer.Option("--type", help="confirmed, likely or negative")
    ] = "confirmed",
    test_date: Annotated[str | None, typer.Option(help="Test date YYYY-MM-DD")] = None,
    onset_date: Annotated[str | None, typer.Option(help="Symptom onset YYYY-MM-DD")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Issue a code pair and print it as JSON (the codes are not stored in clear)."""
    from safezone.db.base import utcnow
    from safezone.exposure import codes

    try:
        test_day = dt.date.fromisoformat(test_date) if test_date else None
        onset_day = dt.date.fromisoformat(onset_date) if onset_date else None
    except ValueError:
        fail("--test-date/--onset-date: use YYYY-MM-DD")
    settings = settings_for(data_dir)
    database = _database(settings)
    try:
        with database.session() as session:
            issued = codes.issue_code(
                session,
                codes.CodePolicy.from_settings(settings),
                unit_code=unit,
                test_type=test_type,
                test_date=test_day,
                symptom_date=onset_day,
                actor="cli",
                now=utcnow(),
            )
    except SafezoneError as error:
        print_domain_error(error)
    sys.stdout.write(
        json.dumps(
            {
                "id": issued.id,
                "unit": issued.unit_code,
                "testType": issued.test_type,
                "testDate": issued.test_date,
                "symptomDate": issued.symptom_date,
                "shortCode": issued.short_code,
                "shortExpiresAt": issued.short_expires_at.isoformat(),
                "longCode": issued.long_code,
                "longExpiresAt": issued.long_expires_at.isoformat(),
            },
            default=str,
        )
        + "\n"
    )


def _print_key(key: object) -> None:
    from safezone.exposure.signing import PublicSigningKey

    assert isinstance(key, PublicSigningKey)
    sys.stdout.write(json.dumps(key.as_json(), default=str) + "\n")


@keys_app.command("generate")
def keys_generate(data_dir: DataDirOption = None) -> None:
    """Create the first signing key (use 'rotate' afterwards)."""
    from safezone.db.base import utcnow
    from safezone.exposure import signing

    settings = settings_for(data_dir)
    try:
        with _database(settings).session() as session:
            key = signing.generate(session, settings, now=utcnow(), actor="cli")
    except SafezoneError as error:
        print_domain_error(error)
    _print_key(key)


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDirOption = None) -> None:
    """Add a new key version; the old one keeps signing for the overlap period."""
    from safezone.db.base import utcnow
    from safezone.exposure import signing

    settings = settings_for(data_dir)
    with _database(settings).session() as session:
        key = signing.rotate(session, settings, now=utcnow(), actor="cli")
    _print_key(key)


@keys_app.command("list")
def keys_list(data_dir: DataDirOption = None) -> None:
    """Every signing key's public part, one JSON object per line."""
    from safezone.exposure import signing

    settings = settings_for(data_dir)
    with _database(settings).session() as session:
        keys = signing.list_keys(session)
    for key in keys:
        _print_key(key)


@app.command("export")
def export_now(
    at: Annotated[
        str | None, typer.Option(help="Run as if at this time (ISO 8601 or unix seconds)")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Export every due window now (or as if at --at) and print a JSON summary."""
    from safezone.db.base import utcnow
    from safezone.exposure import export
    from safezone.exposure.storage import storage_from_settings

    now = _parse_time(at) if at else utcnow()
    settings = settings_for(data_dir)
    try:
        with _database(settings).session() as session:
            report = export.run_export(session, settings, storage_from_settings(settings), now=now)
    except SafezoneError as error:
        print_domain_error(error)
    sys.stdout.write(
        json.dumps(
            {
                "at": now.isoformat(),
                "batches": report.batches,
                "files": report.files,
                "keys": report.keys,
                "paddingKeys": report.padding_keys,
                "bytes": report.bytes,
            }
        )
        + "\n"
    )


@app.command("retention")
def retention_now(
    at: Annotated[str | None, typer.Option(help="Run as if at this time")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete keys, exports and codes older than the retention period now."""
    from dataclasses import asdict

    from safezone.db.base import utcnow
    from safezone.exposure import retention
    from safezone.exposure.storage import storage_from_settings

    now = _parse_time(at) if at else utcnow()
    settings = settings_for(data_dir)
    with _database(settings).session() as session:
        result = retention.purge(session, settings, storage_from_settings(settings), now=now)
    sys.stdout.write(json.dumps(asdict(result)) + "\n")


@apps_app.command("create")
def apps_create(
    name: Annotated[str, typer.Option(help="The app's name (unique, 1-64 characters)")],
    data_dir: DataDirOption = None,
) -> None:
    """Create an app and print its API key as JSON, once (only its hash is stored)."""
    from safezone.db.base import utcnow
    from safezone.exposure import apps

    settings = settings_for(data_dir)
    try:
        with _database(settings).session() as session:
            created = apps.create_app(session, name, actor="cli", now=utcnow())
    except SafezoneError as error:
        print_domain_error(error)
    sys.stdout.write(
        json.dumps(
            {
                "id": created.id,
                "name": created.name,
                "apiKey": created.key,
                "header": "X-API-Key",
                "createdAt": created.created_at.isoformat(),
            }
        )
        + "\n"
    )
    typer.echo("The key is shown only this once: store it in the app now.", err=True)


@apps_app.command("list")
def apps_list(data_dir: DataDirOption = None) -> None:
    """Every app, one JSON object per line (key hint only, never the key)."""
    from safezone.exposure import apps

    settings = settings_for(data_dir)
    with _database(settings).session() as session:
        rows = [
            {
                "id": row.id,
                "name": row.name,
                "keyHint": row.key_hint + "...",
                "createdAt": row.created_at.isoformat(),
                "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
            }
            for row in apps.list_apps(session)
        ]
    for row in rows:
        sys.stdout.write(json.dumps(row) + "\n")


@apps_app.command("revoke")
def apps_revoke(
    name: Annotated[str, typer.Option(help="The app's name")],
    data_dir: DataDirOption = None,
) -> None:
    """Revoke an app's key: its requests answer 401 from now on."""
    from safezone.db.base import utcnow
    from safezone.exposure import apps

    settings = settings_for(data_dir)
    try:
        with _database(settings).session() as session:
            row = apps.revoke_app(session, name, actor="cli", now=utcnow())
            revoked = {
                "id": row.id,
                "name": row.name,
                "revokedAt": row.revoked_at.isoformat() if row.revoked_at else None,
            }
    except SafezoneError as error:
        print_domain_error(error)
    sys.stdout.write(json.dumps(revoked) + "\n")
