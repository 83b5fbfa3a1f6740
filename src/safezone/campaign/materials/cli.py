"""``safezone campaign posters|report|broadcast-audio`` and ``safezone dhis2 push``.

The campaign commands are a Typer app merged into ``safezone campaign``; files go to the
current directory unless ``--out`` says otherwise, and their path is printed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from safezone.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(help="Campaign materials: posters, reports, broadcast audio.")
dhis2_app = typer.Typer(help="DHIS2: push aggregate figures.", no_args_is_help=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $SAFEZONE_DATA_DIR or ./safezone-data)."
    ),
]
UnitOption = Annotated[str, typer.Option("--unit", help="Unit code, e.g. 22015 (Phường 1)")]


def _settings(data_dir: Path | None) -> Settings:
    try:
        return load_settings(data_dir=data_dir) if data_dir else load_settings()
    except ConfigError as error:
        typer.echo(f"error: configuration: {error}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One read-write transaction; domain errors print in both languages and exit 1."""
    from safezone.db.engine import Database
    from safezone.db.migrate import pending
    from safezone.errors import SafezoneError

    database = Database(settings.sqlalchemy_url)
    try:
        if pending(database.engine):
            typer.echo("error: run `safezone db upgrade` first", err=True)
            raise typer.Exit(2)
        with database.session() as session:
            yield session
    except SafezoneError as error:
        for item in error.errors:
            typer.echo(f"{item.field}: {item.message_vi} / {item.message_en}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()


def _target(out: Path | None, default_name: str) -> Path:
    """``--out`` (a file, or a folder to put ``default_name`` in), else the current folder."""
    if out is None:
        return Path.cwd() / default_name
    if out.is_dir():
        return out / default_name
    return out


@app.command("posters")
def posters(
    unit: UnitOption,
    out: Annotated[Path | None, typer.Option("--out", help="The zip file to write")] = None,
    all_communes: Annotated[
        bool, typer.Option("--all-communes", help="A poster for every commune under --unit")
    ] = False,
    paper: Annotated[str, typer.Option("--paper", help="A4 or A3")] = "A4",
    lang: Annotated[str, typer.Option("--lang", help="vi or en")] = "vi",
    data_dir: DataDir = None,
) -> None:
    """Posters with QR codes (app stores, declaration form) as one zip."""
    from rich.progress import Progress
    from sqlalchemy import select

    from safezone.campaign.coverage import local_today
    from safezone.campaign.materials import figures, printed
    from safezone.campaign.materials.pdf import check_paper
    from safezone.units.models import COMMUNE, Unit
    from safezone.units.names import display_name
    from safezone.units.service import subtree_of

    settings = _settings(data_dir)
    with _session(settings) as session:
        paper = check_paper(paper)
        printed.translator(lang)
        root = figures.get_unit(session, unit)
        if all_communes:
            query = (
                select(Unit)
                .where(subtree_of(Unit.path, root.path), Unit.level == COMMUNE)
                .order_by(Unit.code)
            )
            units = [(item.code, display_name(item)) for item in session.scalars(query)]
        else:
            units = [(root.code, display_name(root))]
        apps = figures.active_apps(session)
    target = _target(out, f"posters-{unit}-{paper}.zip")
    with Progress(transient=True) as progress:
        task = progress.add_task("posters", total=len(units))
        content = printed.posters_zip(
            units,
            apps=apps,
            public_url=settings.materials.public_url,
            as_of=local_today(),
            paper=paper,
            lang=lang,
            progress=lambda step: progress.advance(task, step),
        )
    target.write_bytes(content)
    typer.echo(f"{target} ({len(units)} posters)")


@app.command("report")
def report(
    unit: UnitOption,
    period: Annotated[str, typer.Option("--period", help="day or week")] = "week",
    fmt: Annotated[str, typer.Option("--format", help="xlsx or pdf")] = "xlsx",
    email: Annotated[
        bool, typer.Option("--email", help="E-mail it to the unit's recipients")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="File to write")] = None,
    end: Annotated[
        str | None, typer.Option("--end", help="Last day, yyyy-mm-dd (default: today)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """A daily or weekly report of a unit (stored with the history, written to a file)."""
    from safezone.campaign.coverage import local_today
    from safezone.campaign.materials import mailer, reports
    from safezone.campaign.materials.figures import get_unit
    from safezone.campaign.materials.models import ReportFormat
    from safezone.declarations.base import Policy
    from safezone.units.names import display_name

    try:
        chosen = ReportFormat(fmt)
        last = dt.date.fromisoformat(end) if end else local_today()
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    settings = _settings(data_dir)
    with _session(settings) as session:
        stored = reports.generate(
            session, unit, period, last, policy=Policy.from_settings(settings), formats=[chosen]
        )
        target = _target(out, reports.file_name(stored[0]))
        target.write_bytes(stored[0].content)
        typer.echo(str(target))
        if email:
            try:
                sender = mailer.Mailer.from_config(settings.materials)
            except mailer.MailNotConfigured as error:
                typer.echo(f"error: {error}", err=True)
                raise typer.Exit(2) from None
            name = display_name(get_unit(session, unit))
            sent = mailer.email_reports(session, sender, stored, unit_name=name)
            typer.echo(f"e-mailed to {', '.join(sent)}" if sent else "no recipients configured")


@app.command("broadcast-audio")
def broadcast_audio(
    unit: UnitOption,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write into")] = None,
    data_dir: DataDir = None,
) -> None:
    """The unit's current broadcast script (regenerated if the figures moved) and its MP3."""
    from safezone.campaign.materials import broadcasts
    from safezone.campaign.materials.figures import unit_sheet

    settings = _settings(data_dir)
    folder = out or Path.cwd()
    folder.mkdir(parents=True, exist_ok=True)
    with _session(settings) as session:
        script, new = broadcasts.refresh_script(session, unit_sheet(session, unit))
        stem = f"loa-{unit}-{script.created_at:%Y%m%d}-{script.id}"
        (folder / f"{stem}.txt").write_text(script.text + "\n", encoding="utf-8")
        extension = "wav" if script.audio_mime == "audio/wav" else "mp3"
        if script.audio is not None:
            (folder / f"{stem}.{extension}").write_bytes(script.audio)
        typer.echo(script.text)
        typer.echo(f"{folder / stem}.{extension} ({'new' if new else 'unchanged'})")


@dhis2_app.command("push")
def dhis2_push(
    period: Annotated[str, typer.Option("--period", help="20261130, 2026W48 or 202611")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the payload, send nothing")
    ] = False,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Mapping file (default: from settings)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Push installs per app and declarations per risk for the period to DHIS2."""
    import json

    from safezone.campaign.materials import dhis2
    from safezone.declarations.base import Policy

    settings = _settings(data_dir)
    config = settings.materials
    source = mapping or config.dhis2_mapping
    if source is None:
        typer.echo("error: --mapping or SAFEZONE_MATERIALS__DHIS2_MAPPING is needed", err=True)
        raise typer.Exit(2)
    with _session(settings) as session:
        built = dhis2.build_payload(
            session, dhis2.load_mapping(source), period, policy=Policy.from_settings(settings)
        )
    if built.unmapped_units:
        typer.echo(
            f"not mapped (not sent): {len(built.unmapped_units)} communes: "
            + ", ".join(built.unmapped_units[:20])
            + (" …" if len(built.unmapped_units) > 20 else ""),
            err=True,
        )
    if dry_run:
        typer.echo(json.dumps(built.body, ensure_ascii=False, indent=2))
        return
    if not config.dhis2_url:
        typer.echo("error: SAFEZONE_MATERIALS__DHIS2_URL is not set", err=True)
        raise typer.Exit(2)
    try:
        summary = dhis2.push(
            built.body,
            url=config.dhis2_url,
            username=config.dhis2_username,
            password=config.dhis2_password.get_secret_value() if config.dhis2_password else "",
            retries=config.dhis2_retries,
        )
    except dhis2.PushFailed as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{summary.status}: imported {summary.imported}, updated {summary.updated}, "
        f"ignored {summary.ignored}, deleted {summary.deleted}"
    )
    for conflict in summary.conflicts:
        typer.echo(f"conflict: {conflict}", err=True)
    if not summary.ok:
        raise typer.Exit(1)
