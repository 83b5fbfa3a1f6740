"""``safezone campaign ...``: coverage, official counts and organisation imports, refresh."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from safezone.campaign.field_cli import households_app, teams_app
from safezone.config import ConfigError, Settings, load_settings
from safezone.errors import SafezoneError

if TYPE_CHECKING:
    from safezone import tabular
    from safezone.db.engine import Database

app = typer.Typer(help="Rollout campaign: coverage, imports, organisations.", no_args_is_help=True)
orgs_app = typer.Typer(
    help="Organisations: registry import, reporter accounts.", no_args_is_help=True
)
app.add_typer(orgs_app, name="orgs")
app.add_typer(households_app, name="households")  # the door-to-door drive (field_cli)
app.add_typer(teams_app, name="teams")

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]
SkipOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows",
        help="Store the good rows and write the bad ones to FILE.skipped.csv (or --skipped-to).",
    ),
]
SkippedToOption = Annotated[
    Path | None, typer.Option("--skipped-to", help="Where to write skipped rows.")
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


def _read(file: Path) -> bytes:
    if not file.is_file():
        fail(f"FILE: {file} does not exist")
    return file.read_bytes()


def _summary(kind: str, report: tabular.Report) -> None:
    line = (
        f"{kind}: {report.created} created / tạo mới, {report.updated} updated / cập nhật, "
        f"{report.unchanged} unchanged / không đổi"
    )
    if report.skipped:
        line += f", {report.skipped} skipped / bỏ qua -> {report.skipped_file}"
    typer.echo(line)


@app.command("coverage")
def coverage_command(
    unit: Annotated[str, typer.Option("--unit", help="Unit code.")],
    app_code: Annotated[str, typer.Option("--app", help="App code.")] = "ncovi",
    output: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """A unit's coverage and its children's, with the source of each figure."""
    from rich.console import Console
    from rich.table import Table

    from safezone.campaign import coverage, exports

    if output not in ("table", "json", "csv"):
        fail("--format: table, json or csv")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail("--as-of: a date YYYY-MM-DD")
    settings = settings_for(data_dir)
    database = _database(settings)
    ratio = settings.campaign.smartphone_ratio
    with database.read_session() as session:
        try:
            own, kids = coverage.coverage_tree(
                session, unit, app_code, as_of=day, default_ratio=ratio
            )
        except SafezoneError as error:
            print_domain_error(error)
    rows = [own, *kids]
    if output == "csv":
        typer.echo(
            exports.to_csv(exports.COVERAGE_HEADER, exports.coverage_rows(rows)).decode(
                "utf-8-sig"
            ),
            nl=False,
        )
        return
    if output == "json":
        data = [
            dict(zip(exports.COVERAGE_HEADER, r, strict=True)) for r in exports.coverage_rows(rows)
        ]
        typer.echo(json.dumps(data, ensure_ascii=False, default=str, indent=1))
        return
    table = Table(title=f"{own.unit_name} · {app_code} · {own.as_of.strftime('%d/%m/%Y')}")
    for name in (
        "Đơn vị / Unit",
        "Cài đặt / Installs",
        "Dân số / Population",
        "% dân số",
        "% smartphone",
        "Mục tiêu / Target",
        "Nguồn / Source",
    ):
        table.add_column(name)
    for c in rows:
        table.add_row(
            c.unit_name,
            f"{c.installs:,}",
            f"{c.population:,}",
            "–" if c.share_population is None else f"{c.share_population:.1%}",
            "–" if c.share_smartphones is None else f"{c.share_smartphones:.1%}",
            "–" if c.target_share is None else f"{c.target_share:.0%}" + (" ⚠" if c.behind else ""),
            c.source,
        )
    Console().print(table)


@app.command("import-counts")
def import_counts(
    file: Annotated[
        Path,
        typer.Argument(help="CSV or XLSX: unit_code, app, installs, as_of[, smartphone_users]."),
    ],
    skip_bad_rows: SkipOption = False,
    skipped_to: SkippedToOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import official install counts; nothing is stored from a file with errors."""
    from safezone import tabular
    from safezone.campaign import service

    data = _read(file)
    database = _database(settings_for(data_dir))
    try:
        with database.session() as session, tabular.rich_progress("import") as hook:
            report = service.import_counts(
                session,
                data,
                skip_bad_rows=skip_bad_rows,
                name=file.name,
                skipped_to=skipped_to or tabular.skipped_path_for(file),
                progress=hook,
            )
    except SafezoneError as error:
        print_domain_error(error)
    _summary("counts", report)


@orgs_app.command("import")
def orgs_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV or XLSX: code, name, kind, unit_code, "
            "headcount[, contact_name, contact_phone, "
            "target_share, report_every_days]."
        ),
    ],
    skip_bad_rows: SkipOption = False,
    skipped_to: SkippedToOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import the organisation registry (created or updated by code)."""
    from safezone import tabular
    from safezone.campaign import service

    data = _read(file)
    database = _database(settings_for(data_dir))
    try:
        with database.session() as session, tabular.rich_progress("import") as hook:
            report = service.import_organisations(
                session,
                data,
                skip_bad_rows=skip_bad_rows,
                name=file.name,
                skipped_to=skipped_to or tabular.skipped_path_for(file),
                progress=hook,
            )
    except SafezoneError as error:
        print_domain_error(error)
    _summary("organisations", report)


@orgs_app.command("bind-reporter")
def orgs_bind(
    username: Annotated[str, typer.Argument(help="An org_reporter account.")],
    organisation: Annotated[str, typer.Argument(help="The organisation's code.")],
    data_dir: DataDirOption = None,
) -> None:
    """Bind an org_reporter account to the organisation it reports for."""
    from safezone.campaign import service

    database = _database(settings_for(data_dir))
    try:
        with database.session() as session:
            service.bind_reporter(
                session, username=username, organisation_code=organisation, actor="cli"
            )
    except SafezoneError as error:
        print_domain_error(error)
    typer.echo(f"{username} -> {organisation}")


@app.command("refresh")
def refresh(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD (default: today).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Recompute the door-to-door and safezone-usage figures (run daily and after visits)."""
    from safezone.campaign import figures

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        fail("--as-of: a date YYYY-MM-DD")
    database = _database(settings_for(data_dir))
    with database.session() as session:
        result = figures.refresh(session, as_of=day)
    typer.echo(f"figures written: field {result.field}, safezone {result.safezone}")
