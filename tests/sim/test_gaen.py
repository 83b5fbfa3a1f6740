"""The GAEN layer on the engine: who is notified, common random numbers, a^2, determinism."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("covasim")

from safezone.en.risk import Infectiousness, RiskLevel, cwa_default, evaluate
from safezone.sim import engine
from safezone.sim.gaen import (
    DAY0,
    GaenLayer,
    GaenParams,
    assign_app,
    attenuation_db,
    infectiousness_for,
    transmissions_between_app_users,
)
from safezone.sim.population import (
    CommuneSpec,
    Population,
    PopulationParams,
    build_population,
)
from safezone.sim.scenario import Scenario, run_seeds, summarise

DATA = Path(__file__).parent / "data"
TREE = tuple(
    CommuneSpec(**c) for c in json.loads((DATA / "small_tree.json").read_text())["communes"]
)
#: A fast-growing epidemic so a small population has enough transmissions to measure.
EPI = engine.EpiParams(n_days=40, beta=0.03, seed_infections_per_100k=200.0)


@pytest.fixture(scope="module")
def population() -> Population:
    return build_population(TREE, engine.vietnam_age_brackets(), seed=1, params=PopulationParams())


@pytest.fixture(scope="module")
def base(population: Population) -> engine.RunResult:
    return engine.run(population, 1, EPI)


def _uniform(population: Population, share: float) -> np.ndarray:
    return assign_app(population, np.full(len(population.communes), share), seed=1)


@pytest.fixture(scope="module")
def with_app(population: Population) -> tuple[engine.RunResult, GaenLayer]:
    layer = GaenLayer(population, _uniform(population, 0.6), seed=1, record=True)
    result = engine.run(population, 1, EPI, [layer])
    return result, result.hooks[0]


def test_zero_adoption_is_identical_to_no_intervention(
    population: Population, base: engine.RunResult
) -> None:
    layer = GaenLayer(population, _uniform(population, 0.0), seed=1)
    result = engine.run(population, 1, EPI, [layer])
    assert np.array_equal(result.ever_infected, base.ever_infected)
    assert np.array_equal(result.new_infections, base.new_infections)
    assert np.array_equal(result.quarantined, base.quarantined)
    assert result.hooks[0].notified.sum() == 0


def test_same_seed_same_result(population: Population, base: engine.RunResult) -> None:
    again = engine.run(population, 1, EPI)
    assert np.array_equal(again.ever_infected, base.ever_infected)
    assert np.array_equal(again.log_source, base.log_source)
    other = engine.run(population, 2, EPI)
    assert not np.array_equal(other.ever_infected, base.ever_infected)


def test_notifies_only_app_users_with_a_qualifying_exposure(
    population: Population, with_app: tuple[engine.RunResult, GaenLayer]
) -> None:
    _, layer = with_app
    assert layer.uploads > 0
    notified = np.flatnonzero(layer.notified)
    assert notified.size > 0
    assert layer.app[notified].all()
    params = cwa_default()
    seen: set[int] = set()
    for agent, day, level, windows in layer.log:
        assert layer.app[agent]
        # The same code a phone runs gives the same answer on the recorded windows.
        today = DAY0 + dt.timedelta(days=day)
        assert evaluate(windows, params, today).total_risk_level == level
        if level == RiskLevel.HIGH:
            seen.add(agent)
    assert seen == set(notified.tolist())
    # Quarantine follows notification only.
    assert not (layer.app_quarantined & ~layer.notified).any()


def test_app_app_transmissions_are_about_a_squared(
    population: Population, base: engine.RunResult
) -> None:
    assert base.log_source.size > 300
    for a in (0.3, 0.6):
        share = transmissions_between_app_users(
            base.log_source, base.log_target, _uniform(population, a)
        )
        assert share == pytest.approx(a * a, abs=0.06)


def test_averted_grows_with_adoption() -> None:
    scenario = Scenario(TREE, days=40, scale=1.0, epi=EPI)
    tables = [dict.fromkeys((c.code for c in TREE), a) for a in (0.0, 0.2, 0.8)]
    results = run_seeds(scenario, [1, 2, 3], tables)
    averted = [
        summarise(scenario, results, arm)["overall"]["infections_averted"]["mean"]
        for arm in range(3)
    ]
    assert averted[0] == 0
    assert averted[1] < averted[2]
    assert averted[2] > 0
    # Common random numbers make it hold seed by seed, not only on average.
    for r in results:
        per_arm = [sum(r.baseline.infections) - sum(arm.infections) for arm in r.arms]
        assert per_arm[0] == 0
        assert 0 <= per_arm[1] <= per_arm[2], r.seed
    summary = summarise(scenario, results, 2)
    assert {d["code"] for d in summary["districts"]} == {"901", "902"}
    assert len(summary["communes"]) == len(TREE)
    overall = summary["overall"]
    assert overall["infections_averted"]["low"] <= overall["infections_averted"]["mean"]
    assert overall["notifications"]["mean"] > 0


@given(st.floats(0.3, 30.0), st.floats(0.3, 30.0))
def test_attenuation_grows_with_distance(near: float, far: float) -> None:
    near, far = min(near, far), max(near, far)
    params = GaenParams()
    assert attenuation_db(near, params, 0.0, 0.0) <= attenuation_db(far, params, 0.0, 0.0)


def test_infectiousness_by_days_since_onset() -> None:
    assert infectiousness_for(0) == Infectiousness.HIGH
    assert infectiousness_for(-4) == Infectiousness.STANDARD
    assert infectiousness_for(12) == Infectiousness.NONE
