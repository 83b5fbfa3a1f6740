"""The thin adapter over the epidemic engine (Covasim 3.1.x; see docs/sim.md for the pick).

Everything else in :mod:`safezone.sim` talks to the engine through this module only:

- :func:`vietnam_age_brackets`: the engine's age structure for Vietnam;
- :func:`run`: build the engine's people from a :class:`Population`, add testing, traditional
  contact tracing and optional daily hooks (the GAEN layer), run, and return plain arrays;
- :class:`DayView`: what a hook sees and may do on a day (who is diagnosed, infectious
  periods, quarantine requests), so the GAEN layer never touches engine objects.

Common random numbers (on by default, :attr:`EpiParams.common_random_numbers`): Covasim 3.1.9
draws everything from one global stream, so one quarantine shifts every later draw and the two
arms of a seed (with and without the app) drift into different epidemics. :func:`run` scopes
three changes to our own runs (see :class:`_Crn`): a contact's daily transmission draw comes
from a hash of (seed, layer, day, contact, direction); an agent's natural history from a stream
seeded by (seed, agent, infection number); manual tracing of a contact from a hash of (seed,
day, layer, contact); and the global streams are reseeded at the start of
each day from (seed, day), so any other shift dies with the day.

Engine facts we guard against: interventions are copied at initialisation (so hooks are read
back from ``sim.interventions``), and Covasim 4.0.1 crashes when ``schedule_quarantine`` gets
an empty list, so :meth:`DayView.quarantine` never passes one.
"""

from __future__ import annotations

import functools
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
    # Share randomness per contact, per agent and per day between runs of one seed (see the
    # module docstring); off gives the engine's own single stream.
    common_random_numbers: bool = True


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
    # Per agent, NaN where it never happened: the course of the (last) infection.
    date_exposed: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    date_symptomatic: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    date_severe: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    date_end_infectious: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    hooks: list[Any] = field(default_factory=list)


@functools.cache
def _test_prob_class() -> Any:
    cv = _cv()

    class MaskTestProb(cv.test_prob):  # type: ignore[misc,name-defined]
        """``cv.test_prob`` with boolean masks instead of set operations.

        Covasim 3.1.9 builds the asymptomatic set as ``setdiff1d(arange(pop_size), ...)`` and
        intersects it with the quarantined every day; under numpy 2 these hash-based set
        operations took ~60 % of a 100,000-agent run (cProfile, docs/sim.md "Benchmark").
        Same probabilities, same order of the one ``binomial_arr`` draw over all agents, so
        the result is identical (tested); anything we do not use (symptom-onset pdf, ILI,
        subtargets, start/end days) goes to the engine's own method.
        """

        def apply(self, sim: Any) -> Any:
            plain = (
                not self.pdf
                and self.ili_prev is None
                and self.subtarget is None
                and self.start_day in (None, 0)
                and self.end_day is None
            )
            if not plain:
                return super().apply(sim)
            people = sim.people
            symp = np.asarray(people.symptomatic, dtype=bool)
            quar = np.zeros(len(symp), dtype=bool)
            quar_inds = cv.interventions.get_quar_inds(self.quar_policy, sim)
            quar[np.asarray(quar_inds, dtype=np.int64)] = True
            test_probs = np.where(symp, float(self.symp_prob), float(self.asymp_prob))
            test_probs[quar & symp] = self.symp_quar_prob
            test_probs[quar & ~symp] = self.asymp_quar_prob
            test_probs[np.asarray(people.diagnosed, dtype=bool)] = 0.0
            test_inds = cv.utils.true(cv.utils.binomial_arr(test_probs))
            people.test(
                test_inds,
                test_sensitivity=self.sensitivity,
                loss_prob=self.loss_prob,
                test_delay=self.test_delay,
            )
            t = sim.t
            sim.results["new_tests"][t] += len(test_inds) * sim["pop_scale"] / sim.rescale_vec[t]
            return test_inds

    return MaskTestProb


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


# --- common random numbers -------------------------------------------------------------------

_MASK64 = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# Salts keep the streams of different purposes apart.
_SALT_CONTACT = 0x7C0
_SALT_AGENT = 0xA6E
_SALT_DAY = 0xDA7
_SALT_TRACE = 0x7AC


def mix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The splitmix64 finaliser, element-wise (uint64 arithmetic wraps, as intended)."""
    z = x + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    out: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
    return out


def stream_key(*parts: int) -> int:
    """A 64-bit key from integer parts (order matters), by chaining :func:`mix64`."""
    h = 0
    for part in parts:
        h = int(mix64(np.array([(h ^ part) & _MASK64], dtype=np.uint64))[0])
    return h


def hashed_uniforms(key: int, counters: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """One uniform in [0, 1) per counter: a pure function of ``(key, counter)``."""
    z = mix64(counters.astype(np.uint64) + np.uint64(key))
    out: npt.NDArray[np.float64] = (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return out


@dataclass(slots=True)
class _LayerIndex:
    """A layer's contacts grouped by agent: slot ``j`` of agent ``a`` is contact
    ``order[j] % m`` seen from ``a``'s side (``order[j] >= m``: ``a`` is the contact's p2)."""

    number: int
    p1: npt.NDArray[np.int32]
    p2: npt.NDArray[np.int32]
    start: npt.NDArray[np.int64]
    order: npt.NDArray[np.int64]


def _layer_index(number: int, p1: Any, p2: Any, n: int) -> _LayerIndex:
    ends = np.concatenate([np.asarray(p1), np.asarray(p2)])
    order = np.argsort(ends, kind="stable").astype(np.int64)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(ends, minlength=n), out=start[1:])
    return _LayerIndex(number, np.asarray(p1), np.asarray(p2), start, order)


@functools.cache
def _numba_seeder() -> Any:
    """Seeds numba's own stream (``cvu.set_seed`` reloads a jitted function on every call,
    ~5 ms; this one is compiled once per process)."""
    import numba

    def seed(value: int) -> None:
        np.random.seed(value)

    return numba.njit(seed)


class _Crn:
    """Common random numbers for one Covasim 3.1.9 run (see the module docstring).

    Verified against Covasim 3.1.9: ``Sim.step`` calls ``cvu.compute_infections`` once per
    layer with the layer's own ``p1``/``p2`` arrays (both directions inside, non-legacy), then
    ``People.infect`` with the targets and sources; ``infect`` draws an agent's whole course
    from the global numpy stream (``cvu.sample``, ``cvu.binomial_arr``); ``test_prob`` and
    ``contact_tracing`` draw from the global numpy stream too.
    """

    def __init__(self, sim: Any, seed: int, layer_keys: Sequence[str]) -> None:
        self.sim = sim
        self.seed = seed
        self.numbers = {k: i for i, k in enumerate(layer_keys)}
        self.layers: dict[int, _LayerIndex] = {}

    def reseed_day(self, t: int) -> None:
        """Reseed the engine's numpy and numba streams from (seed, day)."""
        key = stream_key(self.seed, _SALT_DAY, t)
        np.random.seed([key & 0xFFFFFFFF, key >> 32])
        _numba_seeder()(key & 0x7FFFFFFF)

    def _index(self, p1: Any, p2: Any) -> _LayerIndex:
        index = self.layers.get(id(p1))
        if index is None or index.p1 is not p1:
            contacts = self.sim.people.contacts
            number = next((self.numbers[k] for k in self.numbers if contacts[k]["p1"] is p1), None)
            if number is None:  # pragma: no cover - only if the engine changes how it calls us
                raise RuntimeError("unknown contact layer / lớp tiếp xúc không xác định")
            index = _layer_index(number, p1, p2, len(self.sim.people))
            self.layers[id(p1)] = index
        return index

    def compute_infections(
        self,
        beta: float,
        p1: Any,
        p2: Any,
        layer_betas: Any,
        rel_trans: Any,
        rel_sus: Any,
        legacy: bool = False,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """``cvu.compute_infections`` with one hashed uniform per (day, contact, direction)."""
        index = self._index(p1, p2)
        m = len(index.p1)
        infectious = np.flatnonzero(rel_trans)
        if infectious.size == 0 or m == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        lo = index.start[infectious]
        counts = index.start[infectious + 1] - lo
        total = int(counts.sum())
        if total == 0:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        # Positions of every slot of every infectious agent, without a Python loop.
        offsets = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        slots = index.order[offsets + np.arange(total)]
        edge = slots % m
        reverse = slots >= m
        source = np.where(reverse, index.p2[edge], index.p1[edge])
        target = np.where(reverse, index.p1[edge], index.p2[edge])
        betas = (
            np.float32(beta)
            * np.asarray(layer_betas)[edge]
            * np.asarray(rel_trans)[source]
            * np.asarray(rel_sus)[target]
        )
        live = np.flatnonzero(betas > 0)
        # Counter = contact x 2 + direction: the same contact, seen the same way on the same
        # day, gets the same uniform in every arm.
        counters = edge[live] * 2 + reverse[live]
        key = stream_key(self.seed, _SALT_CONTACT, index.number, int(self.sim.t))
        hit = live[hashed_uniforms(key, counters) < betas[live]]
        # Covasim's order (p1->p2 contacts first, each in contact order) so the source kept
        # for a target infected twice the same day does not depend on the arm.
        hit = hit[np.argsort(slots[hit], kind="stable")]
        return source[hit].astype(np.int32), target[hit].astype(np.int32)

    def find_contacts(self, p1: Any, p2: Any, inds: Any) -> set[int]:
        """``cvu.find_contacts`` (the partners of ``inds`` in a layer, as a set) from the
        layer's index instead of a scan of every contact: same set, a fraction of the time
        when few people are traced (``contact_tracing`` calls it per layer and day)."""
        index = self._index(p1, p2)
        m = len(index.p1)
        inds = np.asarray(inds, dtype=np.int64)
        if inds.size == 0 or m == 0:
            return set()
        lo = index.start[inds]
        counts = index.start[inds + 1] - lo
        total = int(counts.sum())
        if total == 0:
            return set()
        offsets = np.repeat(lo - (np.cumsum(counts) - counts), counts)
        slots = index.order[offsets + np.arange(total)]
        edge = slots % m
        partner = np.where(slots >= m, index.p1[edge], index.p2[edge])
        return set(np.unique(partner).tolist())

    def binomial_filter(self, prob: float, arr: Any) -> Any:
        """``cvu.binomial_filter`` for manual tracing: one hashed uniform per (day, layer
        probability, contact). ``contact_tracing`` passes each layer's unique contacts of the
        day's index cases, so a contact is traced or not the same way in every arm."""
        arr = np.asarray(arr)
        bits = int(np.array([prob], dtype=np.float64).view(np.uint64)[0])
        key = stream_key(self.seed, _SALT_TRACE, int(self.sim.t), bits)
        return arr[hashed_uniforms(key, arr.astype(np.int64)) < prob]

    def wrap_infect(self, infect: Any) -> Any:
        """``People.infect`` agent by agent, each from a stream of (seed, agent, infection)."""
        people = self.sim.people

        def per_agent(
            inds: Any,
            hosp_max: Any = None,
            icu_max: Any = None,
            source: Any = None,
            layer: Any = None,
            variant: int = 0,
        ) -> Any:
            inds = np.asarray(inds)
            if len(inds) == 0:
                return infect(inds, hosp_max, icu_max, source, layer, variant)
            # Covasim keeps the first source of a target infected twice (np.unique order).
            agents, first = np.unique(inds, return_index=True)
            sources = None if source is None else np.asarray(source)[first]
            keep = np.asarray(people.susceptible)[agents]
            agents = agents[keep]
            sources = None if sources is None else sources[keep]
            # The day's stream continues afterwards as if nobody had been infected.
            state = np.random.get_state()
            for k, agent in enumerate(agents.tolist()):
                key = stream_key(self.seed, _SALT_AGENT, agent, int(people.n_infections[agent]))
                np.random.seed([key & 0xFFFFFFFF, key >> 32])
                infect(
                    agents[k : k + 1],
                    hosp_max,
                    icu_max,
                    None if sources is None else sources[k : k + 1],
                    layer,
                    variant,
                )
            np.random.set_state(state)
            return agents

        return per_agent


def _crn_sim_class() -> Any:
    cv = _cv()

    class CrnSim(cv.Sim):  # type: ignore[misc,name-defined]
        """A Sim whose days start from their own (seed, day) stream."""

        crn: _Crn | None = None

        def step(self) -> Any:
            if self.crn is not None:
                self.crn.reseed_day(int(self.t))
            return super().step()

    return CrnSim


def _run_engine(sim: Any, seed: int, layer_keys: Sequence[str], crn: bool) -> None:
    """Run ``sim``; with ``crn`` the patches live only for this call."""
    if not crn:
        sim.run()
        return
    cvu = _cv().utils
    sim.initialize()
    helper = _Crn(sim, seed, layer_keys)
    originals = (cvu.compute_infections, cvu.binomial_filter, cvu.find_contacts)
    people = sim.people
    # People is locked against new attributes: shadow the method in the instance dict.
    people.__dict__["infect"] = helper.wrap_infect(people.infect)
    sim.crn = helper
    cvu.compute_infections = helper.compute_infections
    # Only contact_tracing calls binomial_filter in our runs (the vaccine interventions are
    # not used).
    cvu.binomial_filter = helper.binomial_filter
    cvu.find_contacts = helper.find_contacts
    try:
        sim.run()
    finally:
        cvu.compute_infections, cvu.binomial_filter, cvu.find_contacts = originals
        sim.crn = None
        people.__dict__.pop("infect", None)  # back to the class's method


def run(
    population: Population,
    seed: int,
    epi: EpiParams,
    hooks: Sequence[DailyHook] = (),
) -> RunResult:
    """Run the engine on ``population`` with testing and manual tracing, plus ``hooks``.

    The engine's random state is seeded with ``seed`` only (per contact, agent and day with
    common random numbers); hooks must draw from their own generators so a hook that does
    nothing leaves the run bit-for-bit unchanged.
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
        _test_prob_class()(
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
    sim = _crn_sim_class()(pars=pars, people=popdict, interventions=interventions)
    _run_engine(sim, seed, keys, epi.common_random_numbers)
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
        date_exposed=np.asarray(people.date_exposed, dtype=np.float64),
        date_symptomatic=np.asarray(people.date_symptomatic, dtype=np.float64),
        date_severe=np.asarray(people.date_severe, dtype=np.float64),
        date_end_infectious=np.fmin(
            np.asarray(people.date_recovered, dtype=np.float64),
            np.asarray(people.date_dead, dtype=np.float64),
        ),
        # Interventions were copied at initialisation: read the hooks back from the sim.
        hooks=[i.hook for i in sim["interventions"] if isinstance(i, hook_class)],
    )
