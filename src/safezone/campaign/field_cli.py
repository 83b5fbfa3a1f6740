"""``safezone campaign households`` and ``safezone campaign teams``: the door-to-door drive's
commands (household imports, teams and their areas and members, round-robin distribution)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from safezone import tabular
from safezone.config import ConfigError, Settings, load_settings
from safezone.errors import SafezoneError

households_app = typer.Typer(help="Households of the door-to-door drive.", no_args_is_help=True)
teams_app = typer.Typer(help="Volunteer teams of the door-to-door drive.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)

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
        err_console.print(f"[bold red]error:[/] configuration: {escape(str(error))}")
        raise typer.Exit(2) from None


def _errors(error: SafezoneError) -> None:
    for item in error.errors:
        err_console.print(
            f"[red]{escape(item.field or '-')}[/] {escape(f'[{item.code}]')} "
            f"{escape(item.message_vi)} / {escape(item.message_en)}",
            highlight=False,
        )
    raise typer.Exit(1)


@households_app.command("import")
def households_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8) or XLSX file, one household a row")],
    unit: Annotated[str, typer.Option("--unit", help="The commune's code")],
    skip_bad_rows: Annotated[
        bool,
        typer.Option(
            "--skip-bad-rows", help="Store the good rows; write the bad ones to --skipped-file"
        ),
    ] = False,
    skipped_file: Annotated[
        Path | None,
        typer.Option(help="Where skipped rows go (default: FILE.skipped.csv)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import a commune's households: the whole file is checked first, nothing is stored from a
    file with errors (unless --skip-bad-rows), and importing it again changes nothing."""
    from safezone.campaign import households
    from safezone.campaign.privacy import vault_for
    from safezone.campaign.visits import local_day
    from safezone.db.base import utcnow
    from safezone.db.engine import Database

    if not file.is_file():
        err_console.print(f"[bold red]error:[/] FILE: {escape(str(file))} does not exist")
        raise typer.Exit(2)
    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with (
            database.session() as session,
            tabular.rich_progress("importing", console=console) as hook,
        ):
            report = households.import_households(
                session,
                vault_for(settings),
                file.read_bytes(),
                file.name,
                unit_code=unit,
                actor="cli",
                skip_bad_rows=skip_bad_rows,
                today=local_day(utcnow()),
                progress=hook,
            )
    except SafezoneError as error:
        _errors(error)
    finally:
        database.dispose()
    console.print(
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"villages created {report.villages_created}, skipped {len(report.skipped)}"
    )
    if report.skipped:
        target = skipped_file or tabular.skipped_path_for(file)
        households.write_skipped(report, target)  # 0600: the rows hold names and phones
        console.print(f"skipped rows written to {target}")


@teams_app.command("save")
def teams_save(
    name: Annotated[str, typer.Option(help="Team name, e.g. 'Chi đoàn Phường 1'")],
    unit: Annotated[str, typer.Option("--unit", help="The team's unit code")],
    area: Annotated[list[str], typer.Option("--area", help="An area (commune or village code)")],
    member: Annotated[list[str], typer.Option("--member", help="A volunteer's username")],
    team_id: Annotated[int | None, typer.Option("--id", help="Replace this team")] = None,
    distribute: Annotated[
        bool, typer.Option("--distribute", help="Then deal unassigned households")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create (or replace) a team with its areas and members."""
    from safezone.accounts.service import Scope
    from safezone.campaign import teams
    from safezone.db.engine import Database
    from safezone.units.models import Unit

    settings = _settings(data_dir)
    database = Database(settings.sqlalchemy_url)
    try:
        with database.session() as session:
            root = session.query(Unit).filter(Unit.parent_code.is_(None)).first()
            if root is None:
                err_console.print("[bold red]error:[/] no units loaded")
                raise typer.Exit(2)
            scope = Scope(root.code, root.path)  # the CLI is the operator: the whole tree
            team = teams.save_team(
                session,
                scope,
                name=name,
                unit_code=unit,
                areas=area,
                members=member,
                actor="cli",
                team_id=team_id,
            )
            assigned = teams.distribute(session, team, actor="cli") if distribute else 0
            console.print(f"team {team.id} saved; {assigned} households assigned")
    except SafezoneError as error:
        _errors(error)
    finally:
        database.dispose()
