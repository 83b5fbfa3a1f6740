"""The planner driven by simulations: search on a scaled population, confirm at full size."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from safezone.errors import FieldError, InvalidInput
from safezone.sim import engine
from safezone.sim.planner import Planner, Yield
from safezone.sim.population import CommuneSpec
from safezone.sim.scenario import Progress, Scenario, interval, run_seeds, summarise


def read_yields_csv(text: str) -> dict[str, Yield]:
    """Parse ``unit_code,installs_per_volunteer_day,installs_per_reminder`` (district codes)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    need = ("unit_code", "installs_per_volunteer_day", "installs_per_reminder")
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            *(
                FieldError(c, "missing_column", f"thiếu cột {c!r}", f"missing column {c!r}")
                for c in missing
            )
        )
    out: dict[str, Yield] = {}
    errors: list[FieldError] = []
    for i, row in enumerate(reader, start=2):
        try:
            vd = float(row["installs_per_volunteer_day"])
            rem = float(row["installs_per_reminder"])
        except (TypeError, ValueError):
            vd = rem = -1.0
        if not (0 <= vd <= 10_000 and 0 <= rem <= 1):
            errors.append(
                FieldError(
                    f"row[{i}].installs_per_volunteer_day",
                    "out_of_range",
                    f"dòng {i}: năng suất phải là số không âm (tối đa 10000 / 1)",
                    f"row {i}: yields must be non-negative numbers (at most 10000 / 1)",
                )
            )
            continue
        out[(row["unit_code"] or "").strip()] = Yield(vd, rem)
    if errors:
        raise InvalidInput(*errors)
    return out


def yields_from_json(table: Mapping[str, Mapping[str, Any]]) -> dict[str, Yield]:
    """Stored yields (``{district: {installs_per_volunteer_day, installs_per_reminder}}``)."""
    default = Yield()
    return {
        str(code): Yield(
            float(y.get("installs_per_volunteer_day", default.installs_per_volunteer_day)),
            float(y.get("installs_per_reminder", default.installs_per_reminder)),
        )
        for code, y in table.items()
    }


def _averted(results: Sequence[Any], arm: int) -> list[float]:
    return [sum(r.baseline.infections) - sum(r.arms[arm].infections) for r in results]


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without the per-commune rows (the plan works per district)."""
    return {k: v for k, v in summary.items() if k != "communes"}


def run_plan(
    communes: Sequence[CommuneSpec],
    current: Mapping[str, float],
    yields: Mapping[str, Yield],
    volunteer_days: float,
    reminders: float,
    *,
    days: int = 60,
    seeds: int = 4,
    scale: float = 0.02,
    confirm_scale: float = 1.0,
    confirm_seeds: int | None = None,
    steps: int = 6,
    workers: int = 1,
    dask_scheduler: str | None = None,
    progress: Progress | None = None,
    epi: engine.EpiParams | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Plan on ``scale``, then score the greedy and proportional plans at ``confirm_scale``.

    The confirmation also holds, per district, both plans' figures with intervals over seeds
    and the epidemic curves with and without the app (``greedy_summary``,
    ``proportional_summary``); ``names`` labels units in them and in the ranked rows.
    """
    started = time.perf_counter()
    epi = epi or engine.EpiParams()
    search = Scenario(tuple(communes), days=days, scale=scale, epi=epi)
    seed_list = list(range(1, seeds + 1))
    planner = Planner(communes, current, yields)
    n_evals = steps * (int(volunteer_days > 0) + int(reminders > 0))

    def evaluate(tables: Sequence[Mapping[str, float]]) -> list[float]:
        results = run_seeds(
            search, seed_list, tables, workers=workers, dask_scheduler=dask_scheduler
        )
        return [sum(_averted(results, arm)) / len(results) / scale for arm in range(len(tables))]

    plan = planner.plan(
        volunteer_days,
        reminders,
        evaluate,
        steps=steps,
        on_step=(lambda done, _total: progress(done, n_evals + 1)) if progress else None,
    )
    searched = time.perf_counter() - started
    confirm = Scenario(tuple(communes), days=days, scale=confirm_scale, epi=epi)
    confirm_list = list(range(1, (confirm_seeds or seeds) + 1))
    confirmed = run_seeds(
        confirm,
        confirm_list,
        [plan.adoption_greedy, plan.adoption_proportional],
        workers=workers,
        dask_scheduler=dask_scheduler,
    )
    if progress:
        progress(n_evals + 1, n_evals + 1)
    rows = [asdict(r) for r in plan.rows]
    for row in rows:
        row["name"] = (names or {}).get(row["district_code"], row["district_code"])
    return {
        "engine": confirmed[0].engine if confirmed else engine.ENGINE_NAME,
        "params": {
            **search.to_json(),
            "current": dict(current),
            "yields": {k: asdict(v) for k, v in yields.items()},
            "volunteer_days": volunteer_days,
            "reminders": reminders,
            "steps": steps,
            "confirm_scale": confirm_scale,
        },
        "seeds": seed_list,
        "rows": rows,
        "search": {
            "scale": scale,
            "averted_greedy": plan.averted_greedy,
            "averted_proportional": plan.averted_proportional,
            "steps": [list(s) for s in plan.steps],
            "seconds": round(searched, 1),
        },
        "confirmation": {
            "scale": confirm_scale,
            "seeds": confirm_list,
            "greedy": interval(a / confirm_scale for a in _averted(confirmed, 0)),
            "proportional": interval(a / confirm_scale for a in _averted(confirmed, 1)),
            "greedy_summary": _brief(summarise(confirm, confirmed, 0, names)),
            "proportional_summary": _brief(summarise(confirm, confirmed, 1, names)),
        },
        "adoption_greedy": plan.adoption_greedy,
        "adoption_proportional": plan.adoption_proportional,
        "seconds": round(time.perf_counter() - started, 1),
    }
