"""Common random numbers: the two arms of a seed differ by the app's effect, not by noise.

Each property here fails on the engine's own single random stream (``common_random_numbers``
off): :func:`test_without_crn_the_arms_are_different_epidemics` shows it on the same case.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

pytest.importorskip("covasim")

from safezone.sim import engine
from safezone.sim.gaen import GaenLayer, assign_app
from safezone.sim.population import (
    CommuneSpec,
    Population,
    PopulationParams,
    build_population,
)

DATA = Path(__file__).parent / "data"
TREE = tuple(
    CommuneSpec(**c) for c in json.loads((DATA / "small_tree.json").read_text())["communes"]
)
#: A fast-growing epidemic on 11,000 agents, so one seed has ~1,000 infections.
EPI = engine.EpiParams(n_days=40, beta=0.03, seed_infections_per_100k=200.0)
SEEDS = (1, 2, 3, 4)
LEVELS = (0.3, 0.6)

Arms = dict[float, engine.RunResult]


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(TREE, engine.vietnam_age_brackets(), seed=1, params=PopulationParams())


def _arms(population: Population, seed: int, epi: engine.EpiParams) -> Arms:
    arms = {0.0: engine.run(population, seed, epi)}
    for level in LEVELS:
        app = assign_app(population, np.full(len(population.communes), level), seed)
        arms[level] = engine.run(population, seed, epi, [GaenLayer(population, app, seed)])
    return arms


@pytest.fixture(scope="module")
def crn_runs(population: Population) -> dict[int, Arms]:
    return {seed: _arms(population, seed, EPI) for seed in SEEDS}


def _only_with_app(arms: Arms, level: float) -> int:
    """Agents infected with the app but not without it: pure divergence under CRN."""
    return int((arms[level].ever_infected & ~arms[0.0].ever_infected).sum())


def _only_without_app(arms: Arms, level: float) -> int:
    return int((arms[0.0].ever_infected & ~arms[level].ever_infected).sum())


def _same(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    return (a == b) | (np.isnan(a) & np.isnan(b))


def test_hashed_uniforms_are_a_pure_function_of_key_and_counter() -> None:
    counters = np.arange(200_000, dtype=np.int64)
    u = engine.hashed_uniforms(engine.stream_key(7, 1, 3), counters)
    assert np.array_equal(u, engine.hashed_uniforms(engine.stream_key(7, 1, 3), counters))
    # Any subset sees the same values: a contact's draw does not depend on who else is drawn.
    pick = counters[::7][::-1].copy()
    assert np.array_equal(engine.hashed_uniforms(engine.stream_key(7, 1, 3), pick), u[pick])
    assert ((u >= 0) & (u < 1)).all()
    # Uniform: every tenth of [0, 1) holds 10 % +- 0.5 % of the draws.
    deciles = np.bincount((u * 10).astype(int), minlength=10) / u.size
    assert np.abs(deciles - 0.1).max() < 0.005
    other = engine.hashed_uniforms(engine.stream_key(7, 1, 4), counters)
    assert abs(np.corrcoef(u, other)[0, 1]) < 0.01
    assert engine.stream_key(1, 2) != engine.stream_key(2, 1)


def test_crn_keeps_zero_adoption_and_same_seed_identical(
    population: Population, crn_runs: dict[int, Arms]
) -> None:
    base = crn_runs[1][0.0]
    again = engine.run(population, 1, EPI)
    nobody = assign_app(population, np.zeros(len(population.communes)), 1)
    zero = engine.run(population, 1, EPI, [GaenLayer(population, nobody, 1)])
    for run in (again, zero):
        assert np.array_equal(run.ever_infected, base.ever_infected)
        assert np.array_equal(run.new_infections, base.new_infections)
        assert np.array_equal(run.log_source, base.log_source)
        assert np.array_equal(run.quarantined, base.quarantined)


def test_an_agent_infected_in_both_arms_has_the_same_course(crn_runs: dict[int, Arms]) -> None:
    for arms in crn_runs.values():
        base = arms[0.0]
        for level in LEVELS:
            run = arms[level]
            both = base.ever_infected & run.ever_infected
            assert both.sum() > 100
            for date in ("date_symptomatic", "date_severe", "date_end_infectious"):
                days_base = getattr(base, date)[both] - base.date_exposed[both]
                days_app = getattr(run, date)[both] - run.date_exposed[both]
                assert _same(days_base, days_app).all(), date


def test_app_arm_infections_are_nearly_a_subset_of_the_arm_without(
    crn_runs: dict[int, Arms],
) -> None:
    # Quarantine only removes transmissions, so with shared randomness the app arm's
    # infections are those of the arm without the app minus the averted ones. A knock-on
    # effect could add a few (someone infected later by another source); 1 % allows for it.
    for seed, arms in crn_runs.items():
        total = int(arms[0.0].ever_infected.sum())
        for level in LEVELS:
            extra = _only_with_app(arms, level)
            assert extra <= 0.01 * total, (seed, level, extra, total)


def test_infections_averted_grow_with_adoption_in_every_seed(crn_runs: dict[int, Arms]) -> None:
    for seed, arms in crn_runs.items():
        infections = {level: int(run.ever_infected.sum()) for level, run in arms.items()}
        averted_high = infections[0.0] - infections[0.6]
        averted_low = infections[0.0] - infections[0.3]
        assert averted_high >= averted_low >= 0, seed
        assert _only_without_app(arms, 0.6) >= _only_without_app(arms, 0.3), seed
        assert averted_high > 0, seed


def test_without_crn_the_arms_are_different_epidemics(population: Population) -> None:
    # The same case on the engine's single stream: the subset property above fails by far.
    arms = _arms(population, 1, replace(EPI, common_random_numbers=False))
    total = int(arms[0.0].ever_infected.sum())
    extra = _only_with_app(arms, 0.6)
    assert extra > 0.1 * total
    both = arms[0.0].ever_infected & arms[0.6].ever_infected
    days_base = arms[0.0].date_end_infectious[both] - arms[0.0].date_exposed[both]
    days_app = arms[0.6].date_end_infectious[both] - arms[0.6].date_exposed[both]
    assert not _same(days_base, days_app).all()


class _People:
    def __init__(self, n: int, p1: np.ndarray, p2: np.ndarray) -> None:
        self.n = n
        self.contacts = {"h": {"p1": p1, "p2": p2}}

    def __len__(self) -> int:
        return self.n


class _Sim:
    def __init__(self, people: _People) -> None:
        self.people = people
        self.t = 5


def _random_layer(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p1 = rng.integers(0, n, m).astype(np.int32)
    p2 = rng.integers(0, n, m).astype(np.int32)
    p2[:5] = p1[:5]  # self-contacts and repeated pairs occur in real layers too
    p1[5:10], p2[5:10] = p1[10:15], p2[10:15]
    return p1, p2


def test_indexed_find_contacts_equals_the_engines() -> None:
    cvu = pytest.importorskip("covasim").utils
    n = 500
    p1, p2 = _random_layer(n, 3000, 4)
    crn = engine._Crn(_Sim(_People(n, p1, p2)), 1, ["h"])
    for k, size in enumerate((0, 1, 10, 200, n)):
        inds = np.random.default_rng(k).choice(n, size, replace=False).astype(np.int64)
        assert crn.find_contacts(p1, p2, inds) == set(cvu.find_contacts(p1, p2, inds))


def test_hashed_transmission_sees_the_same_contacts_as_the_engine() -> None:
    # With every probability 1 both versions must transmit over exactly the contacts from an
    # infectious to a susceptible agent, in both directions, in the same order.
    cvu = pytest.importorskip("covasim").utils
    n = 400
    p1, p2 = _random_layer(n, 2000, 5)
    rng = np.random.default_rng(6)
    rel_trans = np.where(rng.random(n) < 0.1, 1.0, 0.0).astype(np.float32)
    rel_sus = np.where((rng.random(n) < 0.7) & (rel_trans == 0), 1.0, 0.0).astype(np.float32)
    betas = np.full(p1.size, 2.0, dtype=np.float32)
    crn = engine._Crn(_Sim(_People(n, p1, p2)), 1, ["h"])
    ours = crn.compute_infections(1.0, p1, p2, betas, rel_trans, rel_sus)
    theirs = cvu.compute_infections(np.float32(1.0), p1, p2, betas, rel_trans, rel_sus, False)
    assert ours[0].size > 50
    assert np.array_equal(ours[0], theirs[0])
    assert np.array_equal(ours[1], theirs[1])
    # At probability 0.3 about 30 % of those contacts transmit.
    some = crn.compute_infections(0.15, p1, p2, betas, rel_trans, rel_sus)
    assert 0.2 * ours[0].size < some[0].size < 0.4 * ours[0].size
