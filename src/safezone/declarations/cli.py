"""``safezone declarations``: verify a QR pass offline, show the pass keys, run the purge."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

from safezone.config import ConfigError, Settings, load_settings

app = typer.Typer(
    name="declarations",
    help="Health declarations: pass verification and retention.",
    no_args_is_help=True,
)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    try:
        return load_settings(data_dir=data_dir) if data_dir else load_settings()
    except ConfigError as error:
        typer.echo(f"error: configuration: {error}", err=True)
        raise typer.Exit(2) from None


@app.command("verify-pass")
def verify_pass(
    token: Annotated[str, typer.Argument(help="The pass code from the QR code")],
    today: Annotated[
        str | None, typer.Option(help="Check as of this date (YYYY-MM-DD; default today)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Check a pass offline (signature, version, dates): exit 0 when valid, 1 when not."""
    from safezone.declarations.base import Policy, local_today
    from safezone.declarations.intake import verify_pass

    settings = _settings(data_dir)
    try:
        day = dt.date.fromisoformat(today) if today else local_today()
    except ValueError:
        typer.echo("error: --today must be YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    result = verify_pass(Policy.from_settings(settings), token, today=day)
    typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    raise typer.Exit(0 if result.valid else 1)


@app.command("pass-keys")
def pass_keys(data_dir: DataDir = None) -> None:
    """The Ed25519 public keys that verify passes (for offline checkpoint devices)."""
    from safezone.declarations.crypto import keys_for

    for key in keys_for(_settings(data_dir)).passes.public_keys:
        typer.echo(base64.urlsafe_b64encode(key).decode())


@app.command("purge")
def purge(data_dir: DataDir = None) -> None:
    """Delete declarations past the retention period now (the worker does it hourly)."""
    from safezone.db.engine import Database
    from safezone.declarations.base import Policy
    from safezone.declarations.retention import purge_expired

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.session() as session:
            result = purge_expired(session, Policy.from_settings(settings))
    finally:
        database.dispose()
    typer.echo(
        f"purged {result.declarations} declarations, {result.daily_updates} daily updates, "
        f"{result.persons} persons"
    )


@app.command("rekey")
def rekey(data_dir: DataDir = None) -> None:
    """Re-encrypt personal data sealed with a previous secret key (after a key rotation or an
    upgrade that encrypts more fields)."""
    from safezone.db.engine import Database
    from safezone.declarations.retention import rekey as run_rekey

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.session() as session:
            changed = run_rekey(session, settings)
    finally:
        database.dispose()
    typer.echo(f"re-encrypted {changed} rows")
