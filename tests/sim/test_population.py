"""The synthetic population matches the unit tree (no engine needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezone.db.engine import Database
from safezone.sim import service
from safezone.sim.population import CommuneSpec, PopulationParams, build_population, scaled

DATA = Path(__file__).parent / "data"
TREE = [CommuneSpec(**c) for c in json.loads((DATA / "small_tree.json").read_text())["communes"]]
#: A coarse age pyramid (lo, hi, share) so these tests run without the engine installed.
AGES = np.array(
    [
        [0, 9, 0.16],
        [10, 19, 0.14],
        [20, 29, 0.16],
        [30, 39, 0.16],
        [40, 49, 0.14],
        [50, 59, 0.11],
        [60, 69, 0.08],
        [70, 79, 0.03],
        [80, 99, 0.02],
    ]
)


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.1, 0.013])
def test_agents_per_commune_are_population_times_scale(scale: float) -> None:
    pop = build_population(TREE, AGES, seed=3, params=PopulationParams(scale=scale))
    counts = pop.agents_per_commune()
    for commune in TREE:
        assert counts.get(commune.code, 0) == scaled(commune.population, scale)
    assert pop.size == sum(scaled(c.population, scale) for c in TREE)


def test_households_follow_the_census() -> None:
    pop = build_population(TREE, AGES, seed=4)
    for ci, commune in enumerate(TREE):
        sizes = pop.household_sizes[pop.household_commune == ci]
        assert sizes.size == commune.households
        assert sizes.sum() == commune.population
        assert sizes.min() >= 1
        # The spread looks like a census table: mostly 2-5 people, few singles or giants.
        share_2_to_5 = np.mean((sizes >= 2) & (sizes <= 5))
        assert share_2_to_5 > 0.6
    # Every household has an adult.
    heads = np.cumsum(pop.household_sizes) - pop.household_sizes
    assert (pop.age[heads] >= 20).all()


def test_layers_respect_the_geography() -> None:
    pop = build_population(TREE, AGES, seed=5)
    h = pop.layers["h"]
    assert (pop.household[h.p1] == pop.household[h.p2]).all()
    c = pop.layers["c"]
    assert (pop.commune_index[c.p1] == pop.commune_index[c.p2]).all()
    m = pop.layers["m"]
    assert (pop.district_index[m.p1] == pop.district_index[m.p2]).all()
    s = pop.layers["s"]
    assert ((pop.age[s.p1] >= 6) & (pop.age[s.p1] < 18)).all()
    assert (np.floor(pop.age[s.p1]) == np.floor(pop.age[s.p2])).all()
    w = pop.layers["w"]
    assert ((pop.age[w.p1] >= 18) & (pop.age[w.p1] < 65)).all()
    # Some commuting across districts, but most work at home.
    cross = np.mean(pop.district_index[w.p1] != pop.district_index[w.p2])
    assert 0.0 < cross < 0.3
    for layer in pop.layers.values():
        assert len(layer) > 0
        assert (layer.p1 != layer.p2).all()
        assert (layer.duration_min > 0).all()
        assert (layer.distance_m > 0).all()
        assert abs(float(layer.weight.mean()) - 1.0) < 1e-3
    # Urban residents mix more in markets.
    degree = np.bincount(np.concatenate([m.p1, m.p2]), minlength=pop.size)
    assert degree[pop.urban].mean() > 1.5 * degree[~pop.urban].mean()
    # Household contacts are long and close; community contacts short.
    assert np.median(h.duration_min) > 5 * np.median(c.duration_min)
    assert np.median(h.distance_m) < np.median(c.distance_m)


def test_same_seed_same_population() -> None:
    a = build_population(TREE, AGES, seed=9)
    b = build_population(TREE, AGES, seed=9)
    assert np.array_equal(a.age, b.age)
    for key in a.layers:
        assert np.array_equal(a.layers[key].p1, b.layers[key].p1)
        assert np.array_equal(a.layers[key].duration_min, b.layers[key].duration_min)


@settings(max_examples=25, deadline=None)
@given(
    population=st.integers(min_value=0, max_value=3000),
    mean_size=st.floats(min_value=1.0, max_value=8.0),
    scale=st.floats(min_value=0.01, max_value=1.0),
)
def test_any_commune_builds(population: int, mean_size: float, scale: float) -> None:
    households = max(1, round(population / mean_size)) if population else 0
    tree = [CommuneSpec("1", "10", population, population // 3, households)]
    pop = build_population(tree, AGES, seed=1, params=PopulationParams(scale=scale))
    assert pop.size == scaled(population, scale)
    assert int(pop.household_sizes.sum()) == pop.size


def test_population_from_the_loaded_unit_tree(db: Database) -> None:
    with db.session() as session:
        communes = service.communes_from_tree(session, "54")
    assert len(communes) == 112
    assert sum(c.population for c in communes) == 872_964
    assert len({c.district_code for c in communes}) == 9
    assert communes == service.bundled_communes()
    pop = build_population(communes, AGES, seed=1, params=PopulationParams(scale=0.01))
    assert pop.size == sum(scaled(c.population, 0.01) for c in communes)
