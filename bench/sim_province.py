"""Phú Yên at full size: person-days/s with and without the GAEN layer, and a 9-district plan.

Builds the 872,964-agent population from the bundled 2019 census units, runs 60 days without
the app (testing + manual tracing only) and with the GAEN layer at ~30 % uniform adoption, on
the same seed (common random numbers). Both wall time and this process's CPU time are
reported: on a shared machine the CPU figures are the comparable ones. With ``--plan`` it also
times a full 9-district plan (greedy search on a scaled population, confirmation of the greedy
and proportional plans at full size). Prints one JSON line.

    python bench/sim_province.py [--adoption 0.3] [--days 60] [--plan] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import time

import numpy as np

from safezone.sim import engine, service
from safezone.sim.gaen import GaenLayer, assign_app
from safezone.sim.plan_run import run_plan
from safezone.sim.population import PopulationParams, build_population


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--adoption", type=float, default=0.3)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plan", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    load_start = round(os.getloadavg()[0], 2)

    communes = service.bundled_communes()
    epi = engine.EpiParams(n_days=args.days)
    ages = engine.vietnam_age_brackets()
    population, build_wall, build_cpu = _timed(
        lambda: build_population(communes, ages, args.seed, PopulationParams(scale=1.0))
    )
    n = population.size
    person_days = n * args.days
    base, base_wall, base_cpu = _timed(lambda: engine.run(population, args.seed, epi))
    app = assign_app(population, np.full(len(communes), args.adoption), args.seed)
    layer = GaenLayer(population, app, args.seed)
    gaen, gaen_wall, gaen_cpu = _timed(lambda: engine.run(population, args.seed, epi, [layer]))
    hook = gaen.hooks[0]
    out = {
        "bench": "sim_province",
        "started_utc": started,
        "load_avg_1min_start": load_start,
        "engine": base.engine,
        "common_random_numbers": epi.common_random_numbers,
        "agents": n,
        "days": args.days,
        "edges": int(sum(len(x) for x in population.layers.values())),
        "adoption": args.adoption,
        "population_build_s": round(build_wall, 1),
        "population_build_cpu_s": round(build_cpu, 1),
        "person_days_per_s_without_gaen": round(person_days / base_wall),
        "person_days_per_s_with_gaen": round(person_days / gaen_wall),
        "person_days_per_cpu_s_without_gaen": round(person_days / base_cpu),
        "person_days_per_cpu_s_with_gaen": round(person_days / gaen_cpu),
        "gaen_cost_ratio_wall": round(gaen_wall / base_wall, 3),
        "gaen_cost_ratio_cpu": round(gaen_cpu / base_cpu, 3),
        "infections_without_app": int(base.ever_infected.sum()),
        "infections_with_app": int(gaen.ever_infected.sum()),
        "uploads": hook.uploads,
        "notified": int(hook.notified.sum()),
        "windows_scored": hook.windows_scored,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }
    if args.plan:
        current = {c.code: 0.1 for c in communes}
        result, plan_wall, plan_cpu = _timed(
            lambda: run_plan(
                communes,
                current,
                {},
                2000,
                200_000,
                days=args.days,
                seeds=3,
                scale=0.02,
                confirm_scale=1.0,
                confirm_seeds=1,
                steps=4,
                workers=args.workers,
                epi=epi,
            )
        )
        out["plan_9_districts_s"] = round(plan_wall, 1)
        out["plan_search_s"] = result["search"]["seconds"]
        out["plan_cpu_s_main_process"] = round(plan_cpu, 1)
        out["plan_greedy_averted"] = round(result["confirmation"]["greedy"]["mean"])
        out["plan_proportional_averted"] = round(result["confirmation"]["proportional"]["mean"])
    out["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
