"""JSON API of the simulator under ``/api/v1/sim``: start a run or a plan, read runs.

Starting only enqueues a worker job (``202 Accepted``); the run's ``progress`` (0-1) moves as
seeds and candidate plans finish, and ``outputs`` appear once ``status`` is ``done``. Runs are
visible inside the caller's unit subtree only; others answer 404. Without the ``sim`` extra,
starting answers 503 with a bilingual message; stored runs stay readable.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from safezone.accounts.models import User
from safezone.sim import service, tasks
from safezone.sim.webui.common import READERS, STARTERS, root_in_scope, run_detail, run_summary
from safezone.sim.webui.common import visible_run as _visible
from safezone.web.deps import RowId, SessionDep, requires

router = APIRouter(prefix="/api/v1/sim", tags=["sim"])

Reader = Annotated[User, Depends(requires(*READERS))]
Starter = Annotated[User, Depends(requires(*STARTERS))]


class RunIn(BaseModel):
    """A scenario sweep: infections with and without the app over seeds."""

    unit_code: str | None = Field(
        None, max_length=16, description="Unit to simulate (default: your own unit)"
    )
    adoption: Literal["campaign", "csv"] = Field(
        "campaign", description="campaign: today's coverage of app_code; csv: adoption_csv"
    )
    app_code: str = Field("", max_length=16, description="The campaign's app (with campaign)")
    adoption_csv: str = Field(
        "", max_length=1_000_000, description="CSV with columns unit_code,adoption (with csv)"
    )
    days: int = Field(60, description=f"Days simulated, 1-{tasks.MAX_DAYS}")
    seeds: int = Field(4, description=f"Seeds (runs per arm), 1-{tasks.MAX_SEEDS}")
    scale: float = Field(0.02, description=f"Share of the population, {tasks.MIN_SCALE}-1")


class PlanIn(RunIn):
    """The planner: where the budget averts the most infections."""

    volunteer_days: float = Field(0, description="Budget of volunteer-days")
    reminders: float = Field(0, description="Reminder messages to send")
    steps: int = Field(4, description=f"Chunks per resource, 1-{tasks.MAX_STEPS}")
    confirm_scale: float | None = Field(
        None, description="Scale of the confirmation run (default: scale)"
    )
    yields: Literal["campaign", "default"] = Field(
        "campaign", description="Installs per unit of effort: campaign field data or defaults"
    )


class RunOut(BaseModel):
    """A stored run; ``progress`` is 0-1."""

    id: int
    kind: str
    status: Literal["queued", "running", "done", "failed"]
    label: str
    progress: float
    root_code: str | None
    created_by: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    engine_version: str
    error: str | None


class RunDetailOut(RunOut):
    """A stored run with what went in and, once done, what came out."""

    params: dict[str, Any]
    seeds: list[int]
    outputs: dict[str, Any] | None


class StatusOut(BaseModel):
    """Whether runs can be started here."""

    simulator_installed: bool


def _start(session: Any, user: User, kind: str, body: RunIn) -> dict[str, Any]:
    data = body.model_dump()
    root = root_in_scope(session, user, data.pop("unit_code"))
    if kind == "plan" and data.get("confirm_scale") is None:
        data.pop("confirm_scale", None)
    run = tasks.start(session, kind, data, root_code=root, created_by=user.username)
    return run_detail(run)


@router.get("/status", response_model=StatusOut)
def status(user: Reader) -> dict[str, Any]:
    """Whether the simulator (Covasim) is installed on the server."""
    del user
    return {"simulator_installed": tasks.engine_available()}


@router.get("/runs", response_model=list[RunOut])
def list_runs(
    session: SessionDep,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many")] = 50,
) -> list[dict[str, Any]]:
    """Runs and plans in your scope, newest first."""
    return [run_summary(r) for r in service.list_runs(session, limit, scope_path=user.unit.path)]


@router.post("/runs", response_model=RunDetailOut, status_code=202)
def start_run(session: SessionDep, user: Starter, body: RunIn) -> dict[str, Any]:
    """Queue a scenario sweep (503 when the simulator is not installed)."""
    return _start(session, user, "run", body)


@router.post("/plans", response_model=RunDetailOut, status_code=202)
def start_plan(session: SessionDep, user: Starter, body: PlanIn) -> dict[str, Any]:
    """Queue a plan (503 when the simulator is not installed)."""
    return _start(session, user, "plan", body)


@router.get("/runs/{run_id}", response_model=RunDetailOut)
def get_run(session: SessionDep, user: Reader, run_id: RowId) -> dict[str, Any]:
    """One run with its progress, parameters and (once done) outputs."""
    return run_detail(_visible(session, user, run_id))
