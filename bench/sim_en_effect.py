"""EN effect at uniform adoption (docs/sim.md, "EN effect"): infections averted over seeds.

Bundled Phú Yên tree at ``--scale`` (default 5 %), 60 days, the same seeds without the app and
with it at each ``--levels`` share (common random numbers). Figures are scaled to the full
province. Prints one JSON line: per level the mean and 2.5th-97.5th percentile over seeds of
infections without the app, averted and the averted share, notifications, the share of
transmissions between two app users, and the per-seed averted counts (agents at this scale).

    python bench/sim_en_effect.py [--seeds 12] [--scale 0.05] [--levels 0.15 0.3 0.6]
"""

from __future__ import annotations

import argparse
import json
import time

from safezone.sim import service
from safezone.sim.scenario import Scenario, run_seeds, summarise


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--levels", type=float, nargs="+", default=[0.15, 0.3, 0.6])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    communes = service.bundled_communes()
    scenario = Scenario(communes, days=args.days, scale=args.scale)
    tables = [{c.code: level for c in communes} for level in args.levels]
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    wall, cpu = time.perf_counter(), time.process_time()
    results = run_seeds(scenario, seeds, tables, workers=args.workers)
    out: dict[str, object] = {
        "bench": "sim_en_effect",
        "engine": results[0].engine,
        "agents": sum(results[0].agents),
        "scale": args.scale,
        "days": args.days,
        "seeds": len(seeds),
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s_main_process": round(time.process_time() - cpu, 1),
        "levels": [],
    }
    for arm, level in enumerate(args.levels):
        summary = summarise(scenario, results, arm)
        overall = summary["overall"]

        def rounded(figure: dict[str, float], digits: int = 0) -> dict[str, float]:
            return {k: round(v, digits) for k, v in figure.items()}

        out["levels"].append(  # type: ignore[attr-defined]
            {
                "adoption": level,
                "app_app_share": rounded(summary["app_app_transmission_share"], 4),
                "notified": rounded(overall["notifications"]),
                "quarantined_by_app": rounded(overall["quarantines"]),
                "infections_without_app": rounded(overall["infections_without_app"]),
                "infections_averted": rounded(overall["infections_averted"]),
                "averted_share": rounded(overall["averted_share"], 4),
                "averted_per_seed_agents": [
                    sum(r.baseline.infections) - sum(r.arms[arm].infections) for r in results
                ],
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
