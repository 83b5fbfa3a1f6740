"""``safezone declarations``: verify a QR pass offline, show the pass keys, run the purge."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safezone.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from safezone.declarations.crypto import PassVerifier

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


KeysFile = Annotated[
    Path | None,
    typer.Option(
        "--keys",
        help="File of pass public keys, one per line (from 'pass-keys'): check without the "
        "installation's secret, as a checkpoint device does",
    ),
]


def _when(at: str | None) -> dt.datetime:
    if not at:
        return dt.datetime.now(dt.UTC)
    try:
        moment = dt.datetime.fromisoformat(at)
    except ValueError:
        typer.echo(
            "error: --at must be an ISO date and time, e.g. 2026-11-30T08:00+07:00", err=True
        )
        raise typer.Exit(2) from None
    # A time without zone is Vietnam's wall clock (what a checkpoint officer reads).
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=7)))


def _verifier(keys: Path | None, data_dir: Path | None) -> PassVerifier:
    from safezone.declarations.crypto import PassVerifier, keys_for

    if keys is None:
        return keys_for(_settings(data_dir)).passes
    try:
        lines = keys.read_text().split()
        return PassVerifier(
            [base64.urlsafe_b64decode(line + "=" * (-len(line) % 4)) for line in lines]
        )
    except (OSError, ValueError) as error:
        typer.echo(f"error: --keys: {error}", err=True)
        raise typer.Exit(2) from None


def _read_json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        typer.echo(f"error: {option}: {error}", err=True)
        raise typer.Exit(2) from None


@app.command("verify-pass")
def verify_pass(
    token: Annotated[str, typer.Argument(help="The pass code from the QR code")],
    at: Annotated[
        str | None,
        typer.Option(help="Check as of this time (ISO 8601; no zone = Vietnam time; default now)"),
    ] = None,
    keys: KeysFile = None,
    revocations: Annotated[
        Path | None,
        typer.Option(help="Local revocation list written by 'sync-revocations'"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Check a pass offline (signature, version, lifetime, synced revocations): exit 0 when
    valid, 1 when not."""
    from safezone.declarations.passes import check_offline

    verifier = _verifier(keys, data_dir)
    revoked: dict[str, int] = {}
    if revocations is not None:
        revoked = dict(_read_json(revocations, "--revocations").get("revoked", {}))
    result = check_offline(verifier, token, now=_when(at), revoked=revoked)
    typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    raise typer.Exit(0 if result.valid else 1)


def _fetch(url: str) -> Any:
    import httpx

    response = httpx.get(url, timeout=30.0, follow_redirects=True)
    response.raise_for_status()
    return response.json()


@app.command("sync-revocations")
def sync_revocations(
    out: Annotated[Path, typer.Option(help="The local revocation list (created or updated)")],
    url: Annotated[
        str | None,
        typer.Option(help="The server's address, e.g. https://yte.example.vn (fetches the list)"),
    ] = None,
    document: Annotated[
        Path | None,
        typer.Option(help="A list saved from /api/v1/passes/revocations (e.g. carried on USB)"),
    ] = None,
    keys: KeysFile = None,
    data_dir: DataDir = None,
) -> None:
    """Fetch the signed list of revoked passes, verify its signature and merge it into OUT
    (incremental after the first sync; expired entries are dropped)."""
    from safezone.declarations.crypto import InvalidPass
    from safezone.declarations.passes import merge_revocations

    if (url is None) == (document is None):
        typer.echo("error: give exactly one of --url and --document", err=True)
        raise typer.Exit(2)
    verifier = _verifier(keys, data_dir)
    state = _read_json(out, "--out") if out.exists() else None
    if url is not None:
        since = f"?since={int(state['next_since'])}" if state else ""
        try:
            fetched = _fetch(f"{url.rstrip('/')}/api/v1/passes/revocations{since}")
        except Exception as error:  # noqa: BLE001 - any network failure: report, keep the old list
            typer.echo(f"error: fetch failed, local list unchanged: {error}", err=True)
            raise typer.Exit(1) from None
    else:
        assert document is not None
        fetched = _read_json(document, "--document")
    try:
        merged = merge_revocations(verifier, state, fetched, now=dt.datetime.now(dt.UTC))
    except InvalidPass as error:
        typer.echo(
            f"error: the list does not verify ({error.reason}); local list unchanged", err=True
        )
        raise typer.Exit(1) from None
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(json.dumps(merged, indent=1))
    partial.replace(out)  # atomic: a crash never leaves a half-written list
    typer.echo(f"{len(merged['revoked'])} revoked passes in {out}")


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
