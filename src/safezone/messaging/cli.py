"""``safezone messaging``: import contacts, plan reminders now, send a test message."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

from safezone.config import ConfigError, Settings, load_settings
from safezone.errors import SafezoneError

app = typer.Typer(
    name="messaging",
    help="Messaging: contacts, reminders, test sends.",
    no_args_is_help=True,
)
contacts_app = typer.Typer(name="contacts", help="Contacts and consent.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")

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


def _fail(error: SafezoneError) -> typer.Exit:
    for item in error.errors:
        typer.echo(f"error: {item.field or '-'}: {item.message_en} / {item.message_vi}", err=True)
    return typer.Exit(1)


@contacts_app.command("import")
def import_contacts(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX: phone, unit_code, ...")],
    data_dir: DataDir = None,
) -> None:
    """Import contacts: every row is checked first; one bad row and nothing is imported.
    Importing the same file again changes nothing."""
    from safezone.db.engine import Database
    from safezone.messaging import contacts
    from safezone.messaging.base import vault_for
    from safezone.messaging.tables import read_table

    if not file.is_file():
        typer.echo(f"error: no such file: {file}", err=True)
        raise typer.Exit(2)
    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.session() as session:
            result = contacts.import_contacts(
                session,
                read_table(file.read_bytes(), file.name),
                vault=vault_for(settings),
                source_name=file.name[:40],
                actor="cli",
            )
    except SafezoneError as error:
        raise _fail(error) from None
    finally:
        database.dispose()
    typer.echo(
        f"{result.rows} rows: {result.created} new, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.installs} installs recorded"
    )


@app.command("plan")
def plan_now(data_dir: DataDir = None) -> None:
    """Expand every approved send into outbox rows now (the worker does it periodically)."""
    from safezone.db.engine import Database
    from safezone.messaging import planner
    from safezone.messaging.base import Policy

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.session() as session:
            written = planner.plan_all(session, Policy.from_settings(settings))
    finally:
        database.dispose()
    typer.echo(f"{written} messages planned")


@app.command("sender")
def sender(data_dir: DataDir = None) -> None:
    """Send queued messages through the configured gateways until stopped (Ctrl-C).

    Run several for more throughput; they share one token bucket per channel.
    Quiet hours, caps and opt-outs are checked at each claim."""
    import threading

    from safezone.logs import configure_logging
    from safezone.messaging.sender import run_sender

    settings = _settings(data_dir)
    configure_logging(settings.log_level, json=settings.log_json)
    stop = threading.Event()
    try:
        run_sender(settings, stop)
    except KeyboardInterrupt:
        stop.set()
    typer.echo("sender stopped")


@app.command("send-test")
def send_test(
    to: Annotated[str, typer.Option("--to", help="Phone number (Vietnamese form or E.164).")],
    template: Annotated[str, typer.Option("--template", help="Template name.")],
    language: Annotated[str, typer.Option("--language", help="vi or en.")] = "vi",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the text, encoding and parts; send nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Send one message from a template to a number, through the configured gateway, with the
    sample values of the preview (outside any campaign, caps and quiet hours)."""
    from safezone.db.engine import Database
    from safezone.messaging.phones import InvalidPhone, normalise
    from safezone.messaging.sms import segments
    from safezone.messaging.templating import VARIABLES, by_name, render

    try:
        e164 = normalise(to, field="--to")
    except InvalidPhone as error:
        typer.echo(f"error: --to: {error.error.message_en}", err=True)
        raise typer.Exit(2) from None
    if language not in ("vi", "en"):
        typer.echo("error: --language must be vi or en", err=True)
        raise typer.Exit(2)
    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.read_session() as session:
            found = by_name(session, template)
            text = render(found, language, VARIABLES)
            zns_id = found.zns_template_id
    except SafezoneError as error:
        raise _fail(error) from None
    finally:
        database.dispose()
    seg = segments(text)
    typer.echo(f"{seg.encoding}, {seg.parts} part(s): {text}")
    if dry_run:
        return
    try:
        channels = importlib.import_module("safezone.messaging.channels")
        sender = channels.send_test
    except (ImportError, AttributeError):
        typer.echo("error: no gateway channel in this installation", err=True)
        raise typer.Exit(1) from None
    outcome = sender(
        settings, to=e164, text=text, zns_template_id=zns_id, template_data=dict(VARIABLES)
    )
    typer.echo(str(outcome))
