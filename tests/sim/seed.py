"""Finished simulations for page tests: a scenario run and a plan of the whole province, small
(1 % of the population, one seed, 30 days: enough for an epidemic to draw; ~20 s), started by
``username`` and run through the worker's own function, as a deployment would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from safezone.accounts.models import User
from safezone.db.engine import Database
from safezone.sim import tasks
from safezone.sim.models import SimRun

TINY: dict[str, Any] = {
    "adoption": "csv",
    "adoption_csv": "unit_code,adoption\n555,0.5\n557,0.2\n",
    "days": 30,
    "seeds": 1,
    "scale": 0.01,
}


def seed_sim(db: Database, *, username: str, root: str = "54") -> dict[str, int]:
    """Path values ``sim_run_id`` (a finished scenario run), ``sim_plan_id`` (a finished plan)
    and ``sim_queued_id`` (a run waiting for the worker, whose page polls the API)."""
    ids: dict[str, int] = {}
    with db.session() as session:
        ids["sim_queued_id"] = tasks.start(
            session, "run", TINY, root_code=root, created_by=username
        ).id
    for key, kind, extra in (
        ("sim_run_id", "run", {}),
        ("sim_plan_id", "plan", {"volunteer_days": 200, "steps": 1, "yields": "default"}),
    ):
        with db.session() as session:
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None
            run = tasks.start(
                session, kind, {**TINY, **extra}, root_code=root, created_by=user.username
            )
            ids[key] = run.id
        with db.session() as session:
            tasks.execute(session, ids[key], workers=1)
        with db.session() as session:
            stored = session.get_one(SimRun, ids[key])
            assert stored.status == "done", stored.error
    return ids
