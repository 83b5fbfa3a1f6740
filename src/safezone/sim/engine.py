"""The thin adapter over the epidemic engine (Covasim 3.1.x; see docs/sim.md for the pick).

Everything else in :mod:`safezone.sim` talks to the engine through this module only:

- :func:`vietnam_age_brackets`: the engine's age structure for Vietnam;
- :func:`run`: build the engine's people from a :class:`Population`, add testing, traditional
  contact tracing and optional daily hooks (the GAEN layer), run, and return plain arrays;
- :class:`DayView`: what a hook sees and may do on a day (who is diagnosed, infectious
  periods, quarantine requests), so the GAEN layer never touches engine objects.

Engine facts we guard against: interventions are copied at initialisation (so hooks are read
back from ``sim.interventions``), and Covasim 4.0.1 crashes when ``schedule_quarantine`` gets
an empty list, so :meth:`DayView.quarantine` never passes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from safezone.sim.population import Population

ENGINE_NAME = "covasim"


class EngineMissing(RuntimeError):
    """The simulation extra is not installed."""


def _cv() -> Any:
    try:
        import covasim
    except ImportError as exc:  # pragma: no cover - depends on the installed extra
        raise EngineMissing(
            "Covasim is not installed: pip install 'safezone[sim]' / "
            "chưa cài Covasim: pip install 'safezone[sim]'"
        ) from exc
    return covasim


def engine_version() -> str:
    """``covasim x.y.z`` of the installed engine."""
    return f"{ENGINE_NAME} {_cv().__version__}"


def vietnam_age_brackets() -> npt.NDArray[np.float64]:
    """Rows ``(lo, hi, share)`` of Vietnam's age pyramid as the engine ships it."""
    data = _cv().data.get_age_distribution("Vietnam")
    return np.asarray(data, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class EpiParams:
    """Epidemic and response parameters handed to the engine."""

    n_days: int = 60
    beta: float = 0.03  # per-contact transmissibility; calibrated for R ~ 1.5 under tracing
    seed_infections_per_100k: float = 20.0
    symp_test_prob: float = 0.3  # daily probability a symptomatic person tests
    asymp_test_prob: float = 0.001
    quar_test_prob: float = 0.5  # daily probability someone in quarantine tests
    test_delay: int = 1
    trace_time: int = 2  # days for manual tracing to reach known contacts
    quar_period: int = 14


class DayView:
    """What a hook sees on day ``t``; a facade over the engine's people."""

    def __init__(self, sim: Any) -> None:
        self._sim = sim
        self._people = sim.people

    @property
    def t(self) -> int:
        """Current day, 0-based."""
        return int(self._sim.t)

    def diagnosed_today(self) -> npt.NDArray[np.int64]:
        """Agents whose positive result arrives today."""
        return np.flatnonzero(self._people.date_diagnosed == self._sim.t)

    def date_infectious(self) -> npt.NDArray[np.float64]:
        """Per agent: day infectiousness began (NaN if never)."""
        return np.asarray(self._people.date_infectious)

    def date_symptomatic(self) -> npt.NDArray[np.float64]:
        """Per agent: day symptoms began (NaN if never)."""
        return np.asarray(self._people.date_symptomatic)

    def date_end_infectious(self) -> npt.NDArray[np.float64]:
        """Per agent: day infectiousness ended (recovery or death; NaN if not yet)."""
        rec = np.asarray(self._people.date_recovered)
        dead = np.asarray(self._people.date_dead)
        out: npt.NDArray[np.float64] = np.fmin(rec, dead)
        return out

    def alive(self) -> npt.NDArray[np.bool_]:
        """Per agent: not dead."""
        return ~np.asarray(self._people.dead, dtype=bool)

    def diagnosed(self) -> npt.NDArray[np.bool_]:
        """Per agent: ever diagnosed."""
        return np.asarray(self._people.diagnosed, dtype=bool)

    def quarantine(self, inds: npt.NDArray[np.int64], start: int, period: int) -> None:
        """Ask the engine to quarantine ``inds`` from day ``start`` (empty lists are skipped:
        Covasim 4.0.1 crashes on them)."""
        if len(inds) == 0:
            return
        self._people.schedule_quarantine(np.asarray(inds, dtype=np.int64), start, period)


class DailyHook(Protocol):
    """A layer run by the engine once a day (the GAEN layer is one)."""

    def start(self, view: DayView) -> None:
        """Called once before day 0."""

    def step(self, view: DayView) -> None:
        """Called every day after the engine's own interventions."""


@dataclass(slots=True)
class RunResult:
    """Plain arrays out of one engine run."""

    engine: str
    ever_infected: npt.NDArray[np.bool_]  # per agent, seeds included
    quarantined: npt.NDArray[np.bool_]  # per agent: was ever in quarantine
    diagnosed: npt.NDArray[np.bool_]
    new_infections: npt.NDArray[np.float64]  # per day
    log_source: npt.NDArray[np.int64]  # transmissions (seeds excluded): source agent
    log_target: npt.NDArray[np.int64]
    hooks: list[Any] = field(default_factory=list)


def _hook_class() -> Any:
    cv = _cv()

    class HookIntervention(cv.Intervention):  # type: ignore[misc,name-defined]
        def __init__(self, hook: DailyHook) -> None:
            super().__init__(label="safezone-hook")
            self.hook = hook

        def initialize(self, sim: Any = None) -> None:
            super().initialize(sim)
            self.hook.start(DayView(sim))

        def apply(self, sim: Any) -> None:
            self.hook.step(DayView(sim))

    return HookIntervention


def run(
    population: Population,
    seed: int,
    epi: EpiParams,
    hooks: Sequence[DailyHook] = (),
) -> RunResult:
    """Run the engine on ``population`` with testing and manual tracing, plus ``hooks``.

    The engine's random state is seeded with ``seed`` only; hooks must draw from their own
    generators so a hook that does nothing leaves the run bit-for-bit unchanged.
    """
    cv = _cv()
    specs = population.params.layers
    keys = list(population.layers)
    n = population.size
    seeds = max(1, round(n * epi.seed_infections_per_100k / 100_000))
    pars = {
        "pop_size": n,
        "pop_type": "hybrid",
        "pop_infected": seeds,
        "pop_scale": 1,
        "rescale": False,
        "n_days": epi.n_days,
        "rand_seed": seed,
        "beta": epi.beta,
        "verbose": 0,
        "quar_period": epi.quar_period,
        "beta_layer": {k: specs[k].beta for k in keys},
        "contacts": {k: max(1.0, 2 * len(population.layers[k]) / max(n, 1)) for k in keys},
        "dynam_layer": dict.fromkeys(keys, 0),
        "iso_factor": {k: specs[k].iso_factor for k in keys},
        "quar_factor": {k: specs[k].quar_factor for k in keys},
    }
    contacts = {
        k: {
            "p1": layer.p1.astype(np.int32),
            "p2": layer.p2.astype(np.int32),
            "beta": layer.weight.astype(np.float32),
        }
        for k, layer in population.layers.items()
    }
    popdict = {
        "uid": np.arange(n, dtype=np.int32),
        "age": population.age.astype(np.float64),
        "sex": population.sex.astype(np.float64),
        "contacts": contacts,
    }
    interventions: list[Any] = [
        cv.test_prob(
            symp_prob=epi.symp_test_prob,
            asymp_prob=epi.asymp_test_prob,
            symp_quar_prob=epi.quar_test_prob,
            asymp_quar_prob=epi.quar_test_prob,
            test_delay=epi.test_delay,
        ),
        cv.contact_tracing(
            trace_probs={k: specs[k].trace_prob for k in keys},
            trace_time=dict.fromkeys(keys, epi.trace_time),
        ),
    ]
    hook_class = _hook_class()
    interventions.extend(hook_class(h) for h in hooks)
    sim = cv.Sim(pars=pars, people=popdict, interventions=interventions)
    sim.run()
    people = sim.people
    log = people.infection_log
    src = np.array([e["source"] for e in log if e["source"] is not None], dtype=np.int64)
    tgt = np.array([e["target"] for e in log if e["source"] is not None], dtype=np.int64)
    return RunResult(
        engine=engine_version(),
        ever_infected=~np.isnan(people.date_exposed),
        quarantined=~np.isnan(people.date_quarantined),
        diagnosed=np.asarray(people.diagnosed, dtype=bool),
        new_infections=np.asarray(sim.results["new_infections"].values, dtype=np.float64),
        log_source=src,
        log_target=tgt,
        # Interventions were copied at initialisation: read the hooks back from the sim.
        hooks=[i.hook for i in sim["interventions"] if isinstance(i, hook_class)],
    )
