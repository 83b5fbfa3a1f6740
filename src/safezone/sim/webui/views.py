"""The ``/sim`` pages: start a run or a plan, follow its progress, read its results.

Routes stay thin: :mod:`safezone.sim.tasks` checks and enqueues, :mod:`safezone.sim.service`
reads; the charts are built here from the stored outputs (plotly, drawn by ``charts.js``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import require_role
from safezone.errors import FieldError, InvalidInput, SafezoneError
from safezone.sim import service, tasks
from safezone.sim.models import SimRun
from safezone.sim.webui.common import READERS, STARTERS, root_in_scope, visible_run
from safezone.units.models import COMMUNE, Unit
from safezone.units.names import display_name
from safezone.web import charts, i18n
from safezone.web.deps import CsrfProtected, CurrentUser, RowId, SessionDep
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
MAX_UPLOAD_BYTES = 1_000_000


def _page_user(*roles: Role) -> Any:
    def dependency(user: CurrentUser) -> User:
        require_role(user, *roles)
        return user

    return dependency


PageReader = Annotated[User, Depends(_page_user(*READERS))]
PageStarter = Annotated[User, Depends(_page_user(*STARTERS))]


def _units(session: Session, user: User) -> list[tuple[str, str]]:
    """The user's unit and the units above communes inside it (what a run can cover)."""
    rows = session.scalars(
        select(Unit)
        .where(Unit.path.startswith(user.unit.path, autoescape=True), Unit.level != COMMUNE)
        .order_by(Unit.path)
    )
    found = [(u.code, display_name(u)) for u in rows]
    return found or [(user.unit_code, display_name(user.unit))]


def _can_start(user: User) -> bool:
    return user.role is Role.ADMIN or user.role in STARTERS


def _index(
    request: Request,
    session: Session,
    user: User,
    *,
    errors: list[FieldError] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    runs = service.list_runs(session, 50, scope_path=user.unit.path)
    names = service.unit_names(session, [r.root_code or "" for r in runs])
    vi = i18n.get_locale() == "vi"
    return render(
        request,
        "sim/index.html",
        {
            "runs": runs,
            "names": names,
            "installed": tasks.engine_available(),
            "can_start": _can_start(user),
            "units": _units(session, user),
            "apps": service.campaign_apps(session),
            "errors": [(e.field, e.message_vi if vi else e.message_en) for e in errors or []],
            "error_fields": {(e.field or "").split(".")[0] for e in errors or []},
            "form": form or {},
            "limits": tasks,
        },
        status_code=status_code,
    )


@router.get("/sim", response_class=HTMLResponse)
def index(request: Request, session: SessionDep, user: PageReader) -> HTMLResponse:
    """The forms and the stored runs with their progress."""
    return _index(request, session, user)


async def _start(
    request: Request, session: Session, user: User, kind: str, file: UploadFile | None
) -> HTMLResponse | RedirectResponse:
    form = await request.form()
    data: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    data.pop("csrf_token", None)
    try:
        if data.get("adoption") == "csv" and file is not None and file.filename:
            raw = await file.read(MAX_UPLOAD_BYTES + 1)
            if len(raw) > MAX_UPLOAD_BYTES:
                raise InvalidInput.single(
                    "adoption_csv",
                    "too_large",
                    "Tệp độ phủ: quá lớn (tối đa 1 MB).",
                    "Adoption file: too large (at most 1 MB).",
                )
            try:
                data["adoption_csv"] = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise InvalidInput.single(
                    "adoption_csv",
                    "encoding",
                    "Tệp độ phủ: phải là CSV mã hoá UTF-8.",
                    "Adoption file: must be a UTF-8 CSV.",
                ) from exc
        root = root_in_scope(session, user, data.pop("unit_code", None) or None)
        run = tasks.start(session, kind, data, root_code=root, created_by=user.username)
    except SafezoneError as error:
        session.rollback()
        data.pop("adoption_csv", None)
        return _index(
            request, session, user, errors=error.errors, form=data, status_code=error.status_hint
        )
    return RedirectResponse(f"/sim/runs/{run.id}", status_code=303)


@router.post("/sim/runs", dependencies=[CsrfProtected], response_model=None)
async def start_run(
    request: Request,
    session: SessionDep,
    user: PageStarter,
    adoption_file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | RedirectResponse:
    """Queue a scenario sweep; on bad input the form again with every error."""
    return await _start(request, session, user, "run", adoption_file)


@router.post("/sim/plans", dependencies=[CsrfProtected], response_model=None)
async def start_plan(
    request: Request,
    session: SessionDep,
    user: PageStarter,
    adoption_file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse | RedirectResponse:
    """Queue a plan; on bad input the form again with every error."""
    return await _start(request, session, user, "plan", adoption_file)


# --- one run ----------------------------------------------------------------------------------


def _scaled(values: list[float], scale: float) -> list[float]:
    return [round(v / scale, 1) for v in values]


def _district_bars(rows: list[tuple[str, list[dict[str, Any]], str]], chart_id: str) -> Markup:
    """Horizontal bars of infections averted per district, one trace per series, with the
    95 % interval as error bars."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, districts, colour in rows:
        means = [round(d["infections_averted"]["mean"], 1) for d in districts]
        figure.add_trace(
            go.Bar(
                y=[d["name"] for d in districts],
                x=means,
                orientation="h",
                name=label,
                marker_color=colour,
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        max(0.0, d["infections_averted"]["high"] - m)
                        for d, m in zip(districts, means, strict=True)
                    ],
                    "arrayminus": [
                        max(0.0, m - d["infections_averted"]["low"])
                        for d, m in zip(districts, means, strict=True)
                    ],
                },
            )
        )
    count = len(rows[0][1]) if rows else 0
    figure.update_layout(
        showlegend=True,  # also for one series: the legend says what the colour is
        barmode="group",
        height=max(260, 60 + 28 * count * max(1, len(rows))),
        xaxis={"title": i18n.gettext("Infections averted")},
        yaxis={"autorange": "reversed", "automargin": True},
        margin={"l": 10, "r": 10, "b": 50},
    )
    return charts.chart(figure, chart_id=chart_id)


def _curves(series: list[tuple[str, list[float], str]], chart_id: str) -> Markup:
    """Daily new infections, one line per arm."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for label, values, colour in series:
        figure.add_trace(
            go.Scatter(
                x=list(range(len(values))),
                y=values,
                mode="lines",
                name=label,
                line={"color": colour},
            )
        )
    figure.update_layout(
        showlegend=True,
        height=320,
        xaxis={"title": i18n.gettext("Day")},
        yaxis={"title": i18n.gettext("New infections per day"), "automargin": True},
        margin={"l": 10, "r": 10, "b": 50},
    )
    return charts.chart(figure, chart_id=chart_id)


WITHOUT, WITH, NAIVE = "#6b7280", "#0b6e4f", "#1f3a93"


def _results(run: SimRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    outputs = run.outputs or {}
    if run.status != "done" or not outputs:
        return out
    if run.kind == "run":
        scale = float(outputs.get("scale") or 1.0)
        out["districts"] = outputs.get("districts", [])
        out["overall"] = outputs.get("overall")
        out["bars"] = _district_bars(
            [(i18n.gettext("With the app"), out["districts"], WITH)], "sim-districts"
        )
        curves = outputs.get("curves", {})
        out["curves"] = _curves(
            [
                (i18n.gettext("Without the app"), _scaled(curves.get("without_app", []), scale),
                 WITHOUT),
                (i18n.gettext("With the app"), _scaled(curves.get("with_app", []), scale), WITH),
            ],
            "sim-curves",
        )  # fmt: skip
        return out
    confirmation = outputs.get("confirmation", {})
    greedy = confirmation.get("greedy_summary") or {}
    naive = confirmation.get("proportional_summary") or {}
    scale = float(confirmation.get("scale") or 1.0)
    out["rows"] = outputs.get("rows", [])
    out["sources"] = outputs.get("yield_sources", {})
    out["confirmation"] = confirmation
    if greedy and naive:
        order = {d["code"]: i for i, d in enumerate(greedy.get("districts", []))}
        out["bars"] = _district_bars(
            [
                (i18n.gettext("Greedy plan"), greedy.get("districts", []), WITH),
                (
                    i18n.gettext("Proportional plan"),
                    sorted(naive.get("districts", []), key=lambda d: order.get(d["code"], 0)),
                    NAIVE,
                ),
            ],
            "sim-districts",
        )
        out["curves"] = _curves(
            [
                (i18n.gettext("Without the app"),
                 _scaled(greedy.get("curves", {}).get("without_app", []), scale), WITHOUT),
                (i18n.gettext("Greedy plan"),
                 _scaled(greedy.get("curves", {}).get("with_app", []), scale), WITH),
                (i18n.gettext("Proportional plan"),
                 _scaled(naive.get("curves", {}).get("with_app", []), scale), NAIVE),
            ],
            "sim-curves",
        )  # fmt: skip
    return out


SOURCE_LABELS = {
    "district": "this district's field data",
    "province": "province-wide field data",
    "default": "default",
    "file": "file",
}


def _source_label(source: str) -> str:
    """Where a yield came from, in the reader's language."""
    return i18n.gettext(SOURCE_LABELS.get(source, source))


@router.get("/sim/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, session: SessionDep, user: PageReader, run_id: RowId
) -> HTMLResponse:
    """A run: its progress while it runs (the page polls the API), its results once done."""
    run = visible_run(session, user, run_id)
    names = service.unit_names(session, [run.root_code or ""])
    return render(
        request,
        "sim/run.html",
        {
            "run": run,
            "root_name": names.get(run.root_code or "", run.root_code or ""),
            "params": run.params or {},
            "source_label": _source_label,
            **_results(run),
        },
    )


@router.get("/sim/static/sim.js")
def script() -> FileResponse:
    """The progress poller of a running run's page."""
    return FileResponse(STATIC / "sim.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip


@router.get("/sim/static/sim.css")
def style() -> FileResponse:
    """The simulator pages' styles."""
    return FileResponse(STATIC / "sim.css", media_type="text/css",
                        headers={"Cache-Control": "no-cache"})  # fmt: skip
