"""The ``safezone`` command: one Typer app, a thin subcommand per role."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.progress import Progress
from rich.table import Table

from safezone.campaign.cli import app as campaign_app
from safezone.campaign.materials.cli import app as materials_app
from safezone.campaign.materials.cli import dhis2_app
from safezone.config import ConfigError, Settings, load_settings
from safezone.declarations.cli import app as declarations_app
from safezone.device.cli import app as device_app
from safezone.en.cli import app as en_app
from safezone.errors import SafezoneError
from safezone.exposure.cli import app as exposure_app
from safezone.messaging.cli import app as messaging_app
from safezone.secrets_cli import app as secrets_app
from safezone.sim.cli import app as sim_app

console = Console()

_display_type_rich = typer.core.TyperOption.display_type_rich


def _flag_display_type(self: typer.core.TyperOption, ctx: Any) -> str | None:
    # Typer prints "<bool>" after every flag (--help, --setup-only), as if it took a value;
    # a flag takes none, so its type column stays empty. Options with a value keep theirs.
    if self.is_flag and self.metavar is None:
        return None
    return _display_type_rich(self, ctx)


typer.core.TyperOption.display_type_rich = _flag_display_type  # type: ignore[method-assign]
err_console = Console(stderr=True, soft_wrap=True)  # one error = one line, never wrapped

app = typer.Typer(
    name="safezone",
    help="safezone: khai báo y tế, cảnh báo tiếp xúc, chiến dịch / health declarations, "
    "exposure notification, rollout campaign.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
units_app = typer.Typer(help="Administrative units.", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(units_app, name="units")
app.add_typer(users_app, name="users")

app.add_typer(en_app, name="en", help="Exposure-notification protocol tools.")
app.add_typer(exposure_app, name="exposure", help="Exposure-notification server tools.")
app.add_typer(declarations_app, name="declarations", help="Health declarations tools.")
app.add_typer(secrets_app, name="secrets", help="Secret key rotation.")
app.add_typer(device_app, name="device", help="Reference exposure-notification device (bumble).")
app.add_typer(messaging_app, name="messaging", help="Messaging: contacts, reminders, test sends.")
app.add_typer(campaign_app, name="campaign", help="Rollout campaign tools.")
app.add_typer(sim_app, name="sim", help="Population simulator and adoption planner.")
campaign_app.add_typer(materials_app)  # posters, broadcast audio, reports
app.add_typer(dhis2_app, name="dhis2", help="DHIS2 aggregate reporting.")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line and exit."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def settings_for(data_dir: Path | None) -> Settings:
    """Settings for a command, with ``--data-dir`` winning over the environment."""
    try:
        if data_dir is not None:
            return load_settings(data_dir=data_dir)
        return load_settings()
    except ConfigError as error:
        fail(f"configuration: {error}")


def print_domain_error(error: SafezoneError) -> NoReturn:
    """Every field error, in both languages, then exit 1."""
    for item in error.errors:
        err_console.print(
            f"[red]{escape(item.field or '-')}[/] {escape(f'[{item.code}]')} "
            f"{escape(item.message_vi)} / {escape(item.message_en)}",
            highlight=False,
        )
    raise typer.Exit(1)


def print_table(table: Table) -> None:
    """Print ``table`` whole: as wide as its widest row, never cut to the terminal's width."""
    needed = Measurement.get(console, console.options.update(width=10_000), table).maximum
    if needed <= console.width:
        console.print(table)
        return
    # Rich never prints wider than its console, so a wider one prints this table.
    wide = Console(width=needed)
    wide.print(table, crop=False)


def _count(value: int) -> str:
    # Vietnamese grouping (872.964), as the web pages show it.
    from babel.numbers import format_decimal

    return format_decimal(value, locale="vi")


def _local_time(value: dt.datetime | None) -> str:
    """A stored UTC time as dd/mm/yyyy HH:MM in Vietnam."""
    if value is None:
        return ""
    from safezone.web.i18n import LOCAL_ZONE

    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(LOCAL_ZONE).strftime("%d/%m/%Y %H:%M")


def _database(settings: Settings, *, migrated: bool = True):  # type: ignore[no-untyped-def]
    from safezone.db.engine import Database, DatabaseUnavailable
    from safezone.db.migrate import pending

    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.sqlalchemy_url)
    try:
        database.ping()
    except DatabaseUnavailable as error:
        fail(f"SAFEZONE_DATABASE_URL: cannot connect to the database: {error}")
    if migrated and pending(database.engine):
        fail("the database schema is not up to date: run `safezone db upgrade` first")
    return database


@app.callback()
def _root() -> None:
    """safezone."""


# --- db ---------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Apply every pending migration."""
    from safezone.db.migrate import current_revisions, upgrade

    database = _database(settings_for(data_dir), migrated=False)
    upgrade(database.engine)
    console.print(f"database at {', '.join(sorted(current_revisions(database.engine)))}")


@db_app.command("current")
def db_current(data_dir: DataDirOption = None) -> None:
    """Show the migration the database is at."""
    from safezone.db.migrate import current_revisions

    database = _database(settings_for(data_dir), migrated=False)
    console.print(", ".join(sorted(current_revisions(database.engine))) or "(empty database)")


# --- units ------------------------------------------------------------------------------------


@units_app.command("import")
def units_import(
    file: Annotated[
        Path | None, typer.Argument(help="CSV file with the bundled file's columns")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="'bundled' (Phú Yên 2019) or 'vietnam-provinces' (optional package)"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import units: every row is stored, or none is."""
    from safezone.units import service

    if (file is None) == (source is None):
        fail("give a FILE or --source, not both and not neither")
    settings = settings_for(data_dir)
    if source == "vietnam-provinces":
        from safezone.units.sources import vietnam_provinces_rows

        try:
            rows = vietnam_provinces_rows()
        except ImportError:
            fail("--source vietnam-provinces needs the package: pip install vietnam-provinces")
    elif source == "bundled":
        rows = service.read_csv(service.bundled_csv())
    elif source is not None:
        fail(f"--source: unknown source {source!r} (bundled, vietnam-provinces)")
    else:
        assert file is not None
        if not file.is_file():
            fail(f"FILE: {file} does not exist")
        try:
            rows = service.read_csv(file.read_text(encoding="utf-8-sig"))
        except SafezoneError as error:
            print_domain_error(error)
    database = _database(settings)
    try:
        with database.session() as session, Progress(console=console, transient=True) as bar:
            task = bar.add_task("importing", total=len(rows))
            result = service.import_units(
                session, rows, progress=lambda done: bar.update(task, completed=done)
            )
    except SafezoneError as error:
        print_domain_error(error)
    console.print(f"units: {result.created} created, {result.updated} updated")


units_boundaries_app = typer.Typer(help="Unit boundaries (GeoJSON) for maps.", no_args_is_help=True)
units_app.add_typer(units_boundaries_app, name="boundaries")


@units_boundaries_app.command("import")
def units_boundaries_import(
    file: Annotated[Path, typer.Argument(help="A GeoJSON FeatureCollection; property code.")],
    data_dir: DataDirOption = None,
) -> None:
    """Attach boundaries to units (coverage pages then draw a map); same file twice: no change."""
    from safezone.units.boundaries import import_geojson

    if not file.is_file():
        fail(f"FILE: {file} does not exist")
    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            result = import_geojson(session, file.read_bytes())
    except SafezoneError as error:
        print_domain_error(error)
    console.print(
        f"boundaries: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )


@units_app.command("show")
def units_show(code: str, data_dir: DataDirOption = None) -> None:
    """A unit, its totals and its children."""
    from safezone.units import service
    from safezone.units.names import display_name

    database = _database(settings_for(data_dir))
    with database.session() as session:
        try:
            unit = service.get_unit(session, code)
            rows = service.children_with_totals(session, code)
            totals = service.totals(session, code)
        except SafezoneError as error:
            print_domain_error(error)
        console.print(
            f"[bold]{escape(display_name(unit))}[/] (mã / code {escape(unit.code)}): "
            f"dân số / population {_count(totals.population)} · "
            f"hộ / households {_count(totals.households)}",
            highlight=False,
        )
        if not rows:
            return
        table = Table(title="đơn vị trực thuộc / units below")
        table.add_column("mã / code", no_wrap=True)
        table.add_column("tên / name", no_wrap=True)
        table.add_column("dân số / population", justify="right", no_wrap=True)
        table.add_column("hộ / households", justify="right", no_wrap=True)
        for child, child_totals in rows:
            table.add_row(
                child.code,
                display_name(child),
                _count(child_totals.population),
                _count(child_totals.households),
            )
        print_table(table)


# --- users ------------------------------------------------------------------------------------


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option(help="Login name")],
    role: Annotated[
        str, typer.Option(help="admin, health_officer, campaign_officer, verifier, volunteer")
    ],
    unit: Annotated[str, typer.Option(help="Unit code the user is bound to")],
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted")] = None,
    full_name: Annotated[str, typer.Option(help="Display name")] = "",
    data_dir: DataDirOption = None,
) -> None:
    """Create a staff user bound to a unit."""
    from safezone.accounts import service

    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            user = service.create_user(
                session,
                username=username,
                password=password,
                role=role,
                unit_code=unit,
                full_name=full_name,
                actor="cli",
            )
            summary = f"created {user.username} ({user.role.value}) at {user.unit_code}"
    except SafezoneError as error:
        print_domain_error(error)
    console.print(summary)


@users_app.command("token")
def users_token(username: str, data_dir: DataDirOption = None) -> None:
    """Print a new API token for USERNAME (send it as 'Authorization: Bearer TOKEN')."""
    from safezone.accounts import service

    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            token = service.issue_token(session, service.get_user(session, username), actor="cli")
    except SafezoneError as error:
        print_domain_error(error)
    sys.stdout.write(token + "\n")


@users_app.command("password")
def users_password(
    username: str,
    password: Annotated[str | None, typer.Option(help="Prompted for when omitted")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set USERNAME's password; every session of the user ends (API tokens stay)."""
    from safezone.accounts import service

    if password is None:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            user = service.get_user(session, username)
            service.set_password(session, user, password, actor="cli")
    except SafezoneError as error:
        print_domain_error(error)
    console.print(f"password changed for {username}; every session of the user has ended")


@users_app.command("logout")
def users_logout(username: str, data_dir: DataDirOption = None) -> None:
    """End every session of USERNAME now (e.g. after a cookie may have been copied)."""
    from safezone.accounts import service, sessions

    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            user = service.get_user(session, username)
            ended = sessions.end_all(session, user.id)
            service.record(
                session,
                actor="cli",
                action="user.logout_all",
                object_type="user",
                object_id=user.id,
                detail={"sessions_ended": ended},
            )
    except SafezoneError as error:
        print_domain_error(error)
    console.print(f"ended {ended} sessions of {username}")


@users_app.command("list")
def users_list(data_dir: DataDirOption = None) -> None:
    """List staff users."""
    from sqlalchemy import select

    from safezone.accounts.models import User
    from safezone.units.names import display_name

    database = _database(settings_for(data_dir))
    table = Table()
    for column in ("username", "full name", "role", "unit", "active", "last login"):
        table.add_column(column, no_wrap=True)
    with database.session() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            table.add_row(
                user.username,
                user.full_name,
                user.role.value,
                f"{user.unit_code} {display_name(user.unit)}",
                "yes" if user.is_active else "no",
                _local_time(user.last_login_at),
            )
    print_table(table)


# --- processes --------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """The production web process (refuses to start without a real secret key)."""
    import uvicorn

    settings = settings_for(data_dir)
    try:
        settings.check_production_safe()
    except ConfigError as error:
        fail(str(error))
    _database(settings).dispose()
    if data_dir is not None:
        os.environ["SAFEZONE_DATA_DIR"] = str(data_dir)  # the worker processes re-read settings
    uvicorn.run(
        "safezone.asgi:app_factory",
        factory=True,
        host=host or settings.web.host,
        port=port or settings.web.port,
        workers=workers or settings.web.workers,
        access_log=False,
        # Client addresses (login throttling, /metrics) come from X-Forwarded-For only when
        # the request comes through a proxy listed in SAFEZONE_WEB__TRUSTED_PROXIES.
        proxy_headers=bool(settings.web.trusted_proxies),
        forwarded_allow_ips=",".join(settings.web.trusted_proxies) or None,
        server_header=False,
    )


@app.command()
def worker(data_dir: DataDirOption = None) -> None:
    """The background process: claims and runs jobs until stopped (Ctrl-C)."""
    from safezone.jobs.service import run_worker
    from safezone.logs import configure_logging
    from safezone.runtime import build_registry

    settings = settings_for(data_dir)
    configure_logging(settings.log_level, json=settings.log_json)
    database = _database(settings)
    stop = threading.Event()
    try:
        run_worker(
            database,
            build_registry(settings),
            stop=stop,
            poll_seconds=settings.worker.poll_seconds,
            max_attempts=settings.worker.max_attempts,
        )
    except KeyboardInterrupt:
        stop.set()
    console.print("worker stopped")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    data_dir: DataDirOption = None,
    admin_password: Annotated[
        str | None, typer.Option(help="Password for 'admin' (default: generated and printed)")
    ] = None,
    setup_only: Annotated[
        bool, typer.Option("--setup-only", help="Prepare the data, do not start the server")
    ] = False,
    reset_admin_password: Annotated[
        bool,
        typer.Option(
            "--reset-admin-password",
            help="Give 'admin' a new generated password and print it (on a rerun, when the "
            "first one is lost)",
        ),
    ] = False,
) -> None:
    """Create (or reuse) a demo in the data directory and serve it with the worker."""
    import uvicorn

    from safezone.app import create_app
    from safezone.config import write_demo_secrets
    from safezone.jobs.service import run_worker
    from safezone.logs import configure_logging
    from safezone.runtime import build_registry, prepare_demo

    directory = data_dir or Path(os.environ.get("SAFEZONE_DATA_DIR", "safezone-data"))
    write_demo_secrets(directory)
    settings = settings_for(directory)
    configure_logging("WARNING", json=False)
    database = _database(settings, migrated=False)
    if reset_admin_password and admin_password is None:
        admin_password = secrets.token_urlsafe(12)
    try:
        setup = prepare_demo(settings, database, admin_password=admin_password)
    except SafezoneError as error:
        print_domain_error(error)
    url = f"http://{host}:{port}/"
    console.print(f"[bold green]safezone demo[/] data: {directory.resolve()}")
    if setup.units_loaded:
        console.print(f"loaded {setup.units_loaded} units of Phú Yên (2019 census)")
    if setup.admin_password:
        console.print(f"admin password / mật khẩu admin: [bold]{setup.admin_password}[/]")
    else:
        console.print(
            "admin password unchanged / mật khẩu admin không đổi "
            "(--reset-admin-password prints a new one, --admin-password sets one)"
        )
    table = Table("username", "password", title="demo staff / cán bộ demo")
    for username, password in setup.staff_passwords.items():
        table.add_row(username, password)
    console.print(table)
    if setup_only:
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(database, build_registry(settings)),
        kwargs={"stop": stop, "poll_seconds": settings.worker.poll_seconds},
        daemon=True,
    )
    thread.start()
    console.print(f"open [bold]{url}[/]  (Ctrl-C to stop)")
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, database),
            host=host,
            port=port,
            access_log=False,
            log_level="warning",
            server_header=False,
        )
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is the normal way out
    finally:
        stop.set()
        thread.join(timeout=10)
        database.dispose()
        console.print("demo stopped")


def main() -> None:
    """Entry point of the ``safezone`` script."""
    app()
