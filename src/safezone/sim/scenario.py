"""Scenarios: the same seeds with and without the app, summarised per district and commune.

One *seed* builds one population and runs the engine once without the app (manual tracing
only) and once per adoption table with the GAEN layer on top: common random numbers, so the
difference is the app's effect, not noise between two different epidemics. Figures are scaled
back to the full population (divided by ``scale``) and summarised over seeds by their mean
and a 95 % interval (2.5th-97.5th percentile of the seeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from safezone.sim import engine
from safezone.sim.gaen import GaenLayer, GaenParams, assign_app, transmissions_between_app_users
from safezone.sim.population import (
    CommuneSpec,
    Population,
    PopulationParams,
    build_population,
)

Adoption = Mapping[str, float]  # unit code (commune or district) -> share 0..1


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything that determines a run (stored with the results for reproduction)."""

    communes: tuple[CommuneSpec, ...]
    days: int = 60
    scale: float = 0.05
    epi: engine.EpiParams = field(default_factory=engine.EpiParams)
    gaen: GaenParams = field(default_factory=GaenParams)

    def to_json(self) -> dict[str, Any]:
        """Parameters as JSON (communes by code and figures)."""
        return {
            "days": self.days,
            "scale": self.scale,
            "epi": asdict(self.epi),
            "gaen": asdict(self.gaen),
            "communes": [asdict(c) for c in self.communes],
        }


def adoption_vector(communes: Sequence[CommuneSpec], adoption: Adoption) -> npt.NDArray[np.float64]:
    """Per commune share: its own figure, else its district's, else 0."""
    return np.array(
        [float(adoption.get(c.code, adoption.get(c.district_code, 0.0))) for c in communes],
        dtype=np.float64,
    )


@dataclass(slots=True)
class ArmResult:
    """One engine run summarised per commune (agents, not scaled)."""

    infections: list[int]
    notified: list[int]
    quarantined: list[int]
    curve: list[float]
    app_users: list[int]
    app_app_share: float
    uploads: int


@dataclass(slots=True)
class SeedResult:
    """A seed's run without the app and its runs with each adoption table."""

    seed: int
    engine: str
    agents: list[int]
    baseline: ArmResult
    arms: list[ArmResult]


def _summarise(
    population: Population,
    run: engine.RunResult,
    app: npt.NDArray[np.bool_],
    layer: GaenLayer | None,
) -> ArmResult:
    n = len(population.communes)
    idx = population.commune_index

    def count(mask: npt.NDArray[np.bool_]) -> list[int]:
        return [int(x) for x in np.bincount(idx[mask], minlength=n)]

    zero = np.zeros(population.size, bool)
    return ArmResult(
        infections=count(run.ever_infected),
        notified=count(layer.notified if layer else zero),
        quarantined=count(layer.app_quarantined if layer else zero),
        curve=[float(x) for x in run.new_infections],
        app_users=count(app),
        app_app_share=transmissions_between_app_users(run.log_source, run.log_target, app),
        uploads=layer.uploads if layer else 0,
    )


def build(scenario: Scenario, seed: int) -> Population:
    """The population of ``scenario`` for ``seed``."""
    return build_population(
        scenario.communes,
        engine.vietnam_age_brackets(),
        seed,
        PopulationParams(scale=scenario.scale),
    )


def run_seed(scenario: Scenario, seed: int, adoptions: Sequence[Adoption]) -> SeedResult:
    """Run ``seed`` without the app and once per adoption table (same population, same seed)."""
    population = build(scenario, seed)
    epi = engine.EpiParams(**{**asdict(scenario.epi), "n_days": scenario.days})
    none = np.zeros(population.size, bool)
    base = engine.run(population, seed, epi)
    # For the a^2 check, the baseline's app users are those of the first table.
    first = (
        assign_app(population, adoption_vector(population.communes, adoptions[0]), seed)
        if adoptions
        else none
    )
    baseline = _summarise(population, base, first, None)
    arms: list[ArmResult] = []
    for adoption in adoptions:
        app = assign_app(population, adoption_vector(population.communes, adoption), seed)
        layer = GaenLayer(population, app, seed, scenario.gaen)
        result = engine.run(population, seed, epi, [layer])
        arms.append(_summarise(population, result, app, result.hooks[0]))
    return SeedResult(
        seed,
        base.engine,
        [int(x) for x in np.bincount(population.commune_index, minlength=len(population.communes))],
        baseline,
        arms,
    )


# --- running many seeds ----------------------------------------------------------------------


Progress = Callable[[int, int], None]


def run_seeds(
    scenario: Scenario,
    seeds: Sequence[int],
    adoptions: Sequence[Adoption],
    *,
    workers: int = 1,
    dask_scheduler: str | None = None,
    progress: Progress | None = None,
) -> list[SeedResult]:
    """Run every seed, in this process, on local processes, or on an existing Dask cluster."""
    total = len(seeds)
    done = 0
    results: list[SeedResult] = []

    def tick() -> None:
        if progress:
            progress(done, total)

    tick()
    if dask_scheduler:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:
            raise RuntimeError(
                "--dask-scheduler needs the 'distributed' package: pip install distributed / "
                "cần gói 'distributed' để dùng --dask-scheduler"
            ) from exc
        with Client(dask_scheduler) as client:
            futures = [
                client.submit(run_seed, scenario, s, list(adoptions), pure=False) for s in seeds
            ]
            for fut in as_completed(futures):
                results.append(fut.result())
                done += 1
                tick()
    elif workers > 1 and total > 1:
        with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
            pending: list[Future[SeedResult]] = [
                pool.submit(run_seed, scenario, s, list(adoptions)) for s in seeds
            ]
            for fut in pending:
                results.append(fut.result())
                done += 1
                tick()
    else:
        for s in seeds:
            results.append(run_seed(scenario, s, adoptions))
            done += 1
            tick()
    return sorted(results, key=lambda r: r.seed)


# --- summaries -------------------------------------------------------------------------------


def interval(values: Iterable[float]) -> dict[str, float]:
    """Mean and 95 % interval over seeds."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        return {"mean": 0.0, "low": 0.0, "high": 0.0}
    low, high = np.percentile(arr, [2.5, 97.5])
    return {"mean": float(arr.mean()), "low": float(low), "high": float(high)}


def _figures(
    results: Sequence[SeedResult], arm: int, pick: npt.NDArray[np.bool_], scale: float
) -> dict[str, Any]:
    without = [sum(np.asarray(r.baseline.infections)[pick]) / scale for r in results]
    with_app = [sum(np.asarray(r.arms[arm].infections)[pick]) / scale for r in results]
    averted = [a - b for a, b in zip(without, with_app, strict=True)]
    share = [x / w if w else 0.0 for x, w in zip(averted, without, strict=True)]
    return {
        "population": int(sum(np.asarray(results[0].agents)[pick]) / scale) if results else 0,
        "app_users": interval(
            sum(np.asarray(r.arms[arm].app_users)[pick]) / scale for r in results
        ),
        "infections_without_app": interval(without),
        "infections_with_app": interval(with_app),
        "infections_averted": interval(averted),
        "averted_share": interval(share),
        "notifications": interval(
            sum(np.asarray(r.arms[arm].notified)[pick]) / scale for r in results
        ),
        "quarantines": interval(
            sum(np.asarray(r.arms[arm].quarantined)[pick]) / scale for r in results
        ),
    }


def summarise(
    scenario: Scenario,
    results: Sequence[SeedResult],
    arm: int = 0,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Overall, per district and per commune figures of adoption table ``arm``."""
    names = names or {}
    communes = scenario.communes
    everything = np.ones(len(communes), bool)
    district_codes = list(dict.fromkeys(c.district_code for c in communes))
    out: dict[str, Any] = {
        "engine": results[0].engine if results else engine.ENGINE_NAME,
        "days": scenario.days,
        "scale": scenario.scale,
        "seeds": [r.seed for r in results],
        "overall": _figures(results, arm, everything, scenario.scale),
        "app_app_transmission_share": interval(r.arms[arm].app_app_share for r in results),
        "districts": [],
        "communes": [],
        "curves": {
            "without_app": np.mean([r.baseline.curve for r in results], axis=0).tolist()
            if results
            else [],
            "with_app": np.mean([r.arms[arm].curve for r in results], axis=0).tolist()
            if results
            else [],
        },
    }
    for code in district_codes:
        pick = np.array([c.district_code == code for c in communes])
        out["districts"].append(
            {
                "code": code,
                "name": names.get(code, code),
                **_figures(results, arm, pick, scenario.scale),
            }
        )
    for i, commune in enumerate(communes):
        pick = np.zeros(len(communes), bool)
        pick[i] = True
        out["communes"].append(
            {
                "code": commune.code,
                "district_code": commune.district_code,
                "name": names.get(commune.code, commune.code),
                **_figures(results, arm, pick, scenario.scale),
            }
        )
    return out
