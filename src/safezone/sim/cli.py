"""``safezone sim``: scenario sweeps and the adoption planner, from the command line."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from safezone.config import ConfigError, Settings, load_settings
from safezone.errors import SafezoneError

if TYPE_CHECKING:
    from safezone.db.engine import Database
    from safezone.sim.population import CommuneSpec

app = typer.Typer(
    help="Mô phỏng dân số và lập kế hoạch độ phủ / population simulator and adoption planner.",
    no_args_is_help=True,
)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]


class OutputFormat(StrEnum):
    """How results are printed."""

    table = "table"
    json = "json"


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def print_domain_error(error: SafezoneError) -> NoReturn:
    """Every field error in both languages, then exit 1."""
    for item in error.errors:
        typer.echo(
            f"{item.field or '-'} [{item.code}] {item.message_vi} / {item.message_en}", err=True
        )
    raise typer.Exit(1)


def _settings(data_dir: Path | None) -> Settings:
    try:
        return load_settings(data_dir=data_dir) if data_dir else load_settings()
    except ConfigError as error:
        fail(f"configuration: {error}")


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


def _progress_bar(label: str) -> tuple[Any, Any]:
    """A rich progress bar on stderr and its update callback."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


def _inputs(
    database: Database, adoption: str, app_code: str, root: str | None
) -> tuple[list[CommuneSpec], dict[str, float], dict[str, str]]:
    from safezone.sim import service

    with database.session() as session:
        communes = service.communes_from_tree(session, root)
        codes = [c.code for c in communes] + sorted({c.district_code for c in communes})
        if adoption == "campaign":
            table = service.adoption_from_campaign(session, app_code)
        else:
            path = Path(adoption)
            if not path.is_file():
                fail(f"--adoption: no such file {adoption!r} (or use 'campaign')")
            table = service.read_adoption_csv(path.read_text(encoding="utf-8-sig"), codes)
        names = service.unit_names(session, codes)
    return communes, table, names


def _fmt(figure: dict[str, float]) -> str:
    return f"{figure['mean']:,.0f} ({figure['low']:,.0f}-{figure['high']:,.0f})"


@app.command("run")
def run(
    adoption: Annotated[
        str, typer.Option(help="'campaign' or a CSV file with columns unit_code,adoption.")
    ],
    days: Annotated[int, typer.Option(min=1, max=365)] = 60,
    seeds: Annotated[int, typer.Option(min=1, max=1000, help="Seeds (runs per arm).")] = 10,
    scale: Annotated[
        float, typer.Option(min=0.0001, max=1.0, help="Share of the population simulated.")
    ] = 0.05,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    app_code: Annotated[str, typer.Option(help="Campaign app code (with 'campaign').")] = "",
    root: Annotated[str | None, typer.Option(help="Unit code to simulate (default: all).")] = None,
    workers: Annotated[
        int, typer.Option(min=0, max=256, help="Local processes (0: one per CPU).")
    ] = 0,
    dask_scheduler: Annotated[
        str | None, typer.Option(help="Run the seeds on this existing Dask scheduler.")
    ] = None,
    store: Annotated[bool, typer.Option(help="Store parameters, seeds and outputs.")] = True,
    first_seed: Annotated[int, typer.Option(min=0)] = 1,
    data_dir: DataDirOption = None,
) -> None:
    """Infections with and without the app, per district and commune, over seeds."""
    from safezone.sim import engine, service
    from safezone.sim.scenario import Scenario, run_seeds, summarise

    database = _database(_settings(data_dir))
    try:
        communes, table, names = _inputs(database, adoption, app_code, root)
    except SafezoneError as error:
        print_domain_error(error)
    scenario = Scenario(tuple(communes), days=days, scale=scale)
    seed_list = list(range(first_seed, first_seed + seeds))
    progress, update = _progress_bar("seeds")
    started = time.perf_counter()
    try:
        with progress:
            results = run_seeds(
                scenario,
                seed_list,
                [table],
                workers=workers or (os.cpu_count() or 1),
                dask_scheduler=dask_scheduler,
                progress=update,
            )
    except engine.EngineMissing as error:
        fail(str(error))
    except RuntimeError as error:
        fail(str(error))
    summary = summarise(scenario, results, 0, names)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if store:
        with database.session() as session:
            row = service.create_run(
                session,
                kind="run",
                params={**scenario.to_json(), "adoption": table, "adoption_source": adoption},
                seeds=seed_list,
                label=f"run {adoption}",
                root_code=root or service.single_root(session),
            )
            service.finish_run(session, row, summary, summary["engine"])
            session.commit()
            summary["run_id"] = row.id
    database.dispose()
    if output is OutputFormat.json:
        json.dump(summary, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    _print_table(summary)


def _print_table(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{summary['engine']}, {summary['days']} days, scale {summary['scale']}, "
        f"{len(summary['seeds'])} seeds (mean, 95% interval)"
    )
    for column in ("district", "without app", "with app", "averted", "share", "notified"):
        table.add_column(column)
    for row in [*summary["districts"], {"name": "TOTAL", **summary["overall"]}]:
        table.add_row(
            row["name"],
            _fmt(row["infections_without_app"]),
            _fmt(row["infections_with_app"]),
            _fmt(row["infections_averted"]),
            f"{row['averted_share']['mean']:.1%}",
            _fmt(row["notifications"]),
        )
    Console().print(table)


@app.command("plan")
def plan(
    budget_volunteer_days: Annotated[float, typer.Option(min=0)],
    reminders: Annotated[float, typer.Option(min=0)] = 0,
    adoption: Annotated[
        str, typer.Option(help="Current adoption: 'campaign' or a CSV unit_code,adoption.")
    ] = "campaign",
    yields: Annotated[
        str,
        typer.Option(
            help="'campaign' (the campaign's field data, per district; the province-wide "
            "figure or the default where a district has too little) or a CSV "
            "unit_code,installs_per_volunteer_day,installs_per_reminder."
        ),
    ] = "campaign",
    days: Annotated[int, typer.Option(min=1, max=365)] = 60,
    seeds: Annotated[int, typer.Option(min=1, max=100)] = 4,
    scale: Annotated[float, typer.Option(min=0.0001, max=1.0)] = 0.02,
    confirm_scale: Annotated[float, typer.Option(min=0.0001, max=1.0)] = 1.0,
    steps: Annotated[int, typer.Option(min=1, max=50)] = 6,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    app_code: Annotated[str, typer.Option()] = "",
    root: Annotated[str | None, typer.Option()] = None,
    workers: Annotated[int, typer.Option(min=0, max=256)] = 0,
    dask_scheduler: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Greedy allocation of volunteer-days and reminders, against the proportional plan."""
    from safezone.sim import service
    from safezone.sim.plan_run import read_yields_csv, run_plan, yields_from_json

    database = _database(_settings(data_dir))
    try:
        communes, table, names = _inputs(database, adoption, app_code, root)
        districts = sorted({c.district_code for c in communes})
        if yields == "campaign":
            with database.session() as session:
                found, sources = service.resolve_yields(session, "campaign", districts, app_code)
            yield_table = yields_from_json(found)
        else:
            path = Path(yields)
            if not path.is_file():
                fail(f"--yields: no such file {yields!r} (or use 'campaign')")
            yield_table = read_yields_csv(path.read_text(encoding="utf-8-sig"))
            sources = {
                d: dict.fromkeys(("volunteer_days", "reminders"), "file" if d in yield_table
                                 else "default")
                for d in districts
            }  # fmt: skip
    except SafezoneError as error:
        print_domain_error(error)
    progress, update = _progress_bar("plan")
    with progress:
        result = run_plan(
            communes,
            table,
            yield_table,
            budget_volunteer_days,
            reminders,
            days=days,
            seeds=seeds,
            scale=scale,
            confirm_scale=confirm_scale,
            steps=steps,
            workers=workers or (os.cpu_count() or 1),
            dask_scheduler=dask_scheduler,
            progress=update,
        )
    for row in result["rows"]:
        row["name"] = names.get(row["district_code"], row["district_code"])
    result["yield_sources"] = sources
    with database.session() as session:
        stored = service.create_run(
            session,
            kind="plan",
            params={**result["params"], "yield_sources": sources},
            seeds=result["seeds"],
            label=f"plan {budget_volunteer_days:g} volunteer-days",
            root_code=root or service.single_root(session),
        )
        service.finish_run(session, stored, result, result["engine"])
        session.commit()
        result["run_id"] = stored.id
    database.dispose()
    if output is OutputFormat.json:
        json.dump(result, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title="Greedy plan (one more volunteer-day here averts about ...)")
    for column in (
        "district",
        "volunteer-days",
        "reminders",
        "adoption",
        "averted / vol-day",
        "yield source (vol-day / reminder)",
    ):
        out.add_column(column)
    for row in result["rows"]:
        source = sources.get(row["district_code"], {})
        out.add_row(
            row["name"],
            f"{row['volunteer_days']:,.0f}",
            f"{row['reminders']:,.0f}",
            f"{row['adoption_before']:.0%} -> {row['adoption_after']:.0%}",
            f"{row['averted_per_volunteer_day']:.2f}",
            f"{source.get('volunteer_days', '?')} / {source.get('reminders', '?')}",
        )
    console = Console()
    console.print(out)
    confirm = result["confirmation"]
    console.print(
        f"confirmed at scale {confirm['scale']}: greedy averts "
        f"{_fmt(confirm['greedy'])}, proportional {_fmt(confirm['proportional'])}"
    )
