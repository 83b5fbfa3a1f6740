"""What the page and the API share: who may read and start runs, and a run as JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import ensure_in_scope
from safezone.errors import NotFound
from safezone.sim import service
from safezone.sim.models import SimRun

#: Roles that may see the campaign's pages see the simulations; only campaign officers (and
#: admins) start them, as they set the campaign's plans.
READERS = (Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER)
STARTERS = (Role.CAMPAIGN_OFFICER,)


def visible_run(session: Session, user: User, run_id: int) -> SimRun:
    """Run ``run_id`` if its unit lies in ``user``'s scope; NotFound otherwise (same as
    missing, so ids outside the scope reveal nothing)."""
    run = service.get_run(session, run_id)
    if not service.run_in_scope(session, run, user.unit.path):
        raise service.run_not_found(run_id)
    return run


def root_in_scope(session: Session, user: User, unit_code: str | None) -> str:
    """The unit to simulate: ``unit_code`` (default: the user's own) if in scope."""
    code = unit_code or user.unit_code
    if "\x00" in code:  # names nothing, and PostgreSQL refuses it as a parameter
        raise NotFound.single(
            "unit_code", "unit_not_found", "Không có đơn vị này.", "No such unit."
        )
    return ensure_in_scope(session, user, code).code


def run_summary(run: SimRun) -> dict[str, Any]:
    """A run without its parameters and outputs (lists)."""
    return {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "label": run.label,
        "progress": run.progress,
        "root_code": run.root_code,
        "created_by": run.created_by,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "engine_version": run.engine_version,
        "error": run.error,
    }


def run_detail(run: SimRun) -> dict[str, Any]:
    """A run with its parameters, seeds and outputs (the outputs once done)."""
    params = {k: v for k, v in (run.params or {}).items() if k != "communes"}
    return {**run_summary(run), "params": params, "seeds": list(run.seeds or []),
            "outputs": run.outputs}  # fmt: skip
