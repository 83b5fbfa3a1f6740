"""The engine's own regression baseline, run against the pinned Covasim version.

``data/covasim_baseline.json`` is the summary Covasim's developers check their releases
against (their tests/baseline.json): if a dependency upgrade changes the engine's numbers,
this test fails before our figures silently move.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

cv = pytest.importorskip("covasim")

BASELINE = json.loads((Path(__file__).parent / "data" / "covasim_baseline.json").read_text())


def test_pinned_engine_version() -> None:
    assert cv.__version__ == BASELINE["engine_version"]


def test_engine_regression_baseline() -> None:
    # The engine's regression scenario, parameter for parameter.
    interventions = [
        cv.change_beta(days=40, changes=0.5),
        cv.test_prob(start_day=20, symp_prob=0.1, asymp_prob=0.01),
        cv.contact_tracing(trace_probs=0.3, start_day=50),
        cv.vaccinate_prob("pfizer", days=30, prob=0.1),
    ]
    sim = cv.Sim(
        {
            "use_waning": True,
            "pop_size": 20e3,
            "pop_infected": 100,
            "pop_type": "hybrid",
            "n_days": 60,
            "verbose": 0,
            "rand_seed": 2,
            "interventions": interventions,
        }
    )
    sim.run()
    for key, expected in BASELINE["summary"].items():
        # Counts are exact; float32 antibody means may differ in the last digits.
        assert float(sim.summary[key]) == pytest.approx(expected, rel=1e-6), key
