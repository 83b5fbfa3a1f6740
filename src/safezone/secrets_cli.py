"""``safezone secrets``: key rotation (see docs/security.md, "Rotating the secret key")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safezone.config import ConfigError, Settings, load_settings

app = typer.Typer(help="Secret key rotation.", no_args_is_help=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    try:
        settings = load_settings(data_dir=data_dir) if data_dir else load_settings()
        settings.keyring  # noqa: B018 - fails early, naming SAFEZONE_SECRET_KEY, when unset
    except ConfigError as error:
        typer.echo(f"error: configuration: {error}", err=True)
        raise typer.Exit(2) from None
    return settings


@app.command("rotate")
def rotate(data_dir: DataDirOption = None) -> None:
    """Re-encrypt everything stored under SAFEZONE_PREVIOUS_SECRET_KEYS with the current key."""
    from safezone.db.engine import Database
    from safezone.rotation import rotate as run_rotate

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        changed = run_rotate(database, settings)
    except Exception as error:  # noqa: BLE001 - one clear line, no traceback with data
        typer.echo(f"error: rotation stopped: {type(error).__name__}: {error}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    for name, count in changed.items():
        typer.echo(f"{name}: re-encrypted {count} rows")
    if settings.keyring.has_previous:
        typer.echo(
            "Keep SAFEZONE_PREVIOUS_SECRET_KEYS until passes, codes and tokens issued under it "
            "have expired (see docs/security.md), then remove it."
        )


@app.command("status")
def status(data_dir: DataDirOption = None) -> None:
    """How many rows are still under a previous secret (exit 1 if any, or if unreadable)."""
    from safezone.db.engine import Database
    from safezone.rotation import status as run_status

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        parts = run_status(database, settings)
    finally:
        database.dispose()
    previous = len(settings.keyring.secrets) - 1
    typer.echo(f"secrets: 1 current, {previous} previous")
    pending = False
    for part in parts:
        if part.error is not None:
            typer.echo(f"{part.name}: unreadable ({part.error})")
            pending = True
        else:
            typer.echo(f"{part.name}: {part.stale} rows under a previous secret")
            pending = pending or bool(part.stale)
    if pending:
        raise typer.Exit(1)
