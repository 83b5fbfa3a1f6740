"""Our mask-based ``test_prob`` gives exactly the engine's own results (it is only faster)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("covasim")

import covasim as cv

from safezone.sim import engine
from safezone.sim.gaen import GaenLayer, assign_app
from safezone.sim.population import CommuneSpec, PopulationParams, build_population

DATA = Path(__file__).parent / "data"
TREE = tuple(
    CommuneSpec(**c) for c in json.loads((DATA / "small_tree.json").read_text())["communes"]
)
EPI = engine.EpiParams(n_days=40, beta=0.03, seed_infections_per_100k=200.0)


@pytest.mark.parametrize("crn", [False, True])
def test_mask_test_prob_is_identical_to_the_engines(
    monkeypatch: pytest.MonkeyPatch, crn: bool
) -> None:
    population = build_population(
        TREE, engine.vietnam_age_brackets(), seed=3, params=PopulationParams()
    )
    epi = replace(EPI, common_random_numbers=crn)
    app = assign_app(population, np.full(len(population.communes), 0.5), 3)

    def both() -> list[engine.RunResult]:
        return [
            engine.run(population, 3, epi),
            engine.run(population, 3, epi, [GaenLayer(population, app, 3)]),
        ]

    ours = both()
    monkeypatch.setattr(engine, "_test_prob_class", lambda: cv.test_prob)
    theirs = both()
    for a, b in zip(ours, theirs, strict=True):
        assert a.diagnosed.sum() > 50
        assert a.quarantined.sum() > 50
        assert np.array_equal(a.diagnosed, b.diagnosed)
        assert np.array_equal(a.quarantined, b.quarantined)
        assert np.array_equal(a.ever_infected, b.ever_infected)
        assert np.array_equal(a.new_infections, b.new_infections)
        assert np.array_equal(a.log_source, b.log_source)
