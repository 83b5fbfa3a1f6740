"""The greedy planner on constructed cases whose right answer is known (no engine)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from safezone.errors import InvalidInput
from safezone.sim.plan_run import read_yields_csv
from safezone.sim.planner import Planner, Yield
from safezone.sim.population import CommuneSpec
from safezone.sim.service import read_adoption_csv

TWO = [
    CommuneSpec("a1", "A", 10_000, 0, 2_500),
    CommuneSpec("a2", "A", 10_000, 0, 2_500),
    CommuneSpec("b1", "B", 20_000, 0, 5_000),
]
POP = {c.code: c.population for c in TWO}


def squared(tables: Sequence[Mapping[str, float]]) -> list[float]:
    """EN needs both phones: benefit ~ population x adoption^2 (the issue's rule of thumb)."""
    return [sum(POP[code] * a * a for code, a in t.items()) for t in tables]


def test_effort_goes_where_it_yields_installs() -> None:
    planner = Planner(TWO, {}, {"A": Yield(100.0, 0.0), "B": Yield(0.0, 0.0)})
    plan = planner.plan(100, 0, squared, steps=5)
    rows = {r.district_code: r for r in plan.rows}
    assert rows["A"].volunteer_days == pytest.approx(100)
    assert rows["B"].volunteer_days == 0
    assert plan.averted_greedy > plan.averted_proportional
    # The ranked table puts the productive district first.
    assert plan.rows[0].district_code == "A"
    assert plan.rows[0].averted_per_volunteer_day > 0 == plan.rows[1].averted_per_volunteer_day


def test_convex_benefit_favours_the_district_already_ahead() -> None:
    # Same yields; A starts at 50 %, B at 10 %: with a^2 the next install is worth more in A.
    planner = Planner(TWO, {"A": 0.5, "B": 0.1}, {"A": Yield(20, 0.01), "B": Yield(20, 0.01)})
    plan = planner.plan(200, 100_000, squared, steps=4)
    rows = {r.district_code: r for r in plan.rows}
    assert rows["A"].volunteer_days == pytest.approx(200)
    assert rows["A"].reminders == pytest.approx(100_000)
    assert plan.averted_greedy > plan.averted_proportional
    assert rows["A"].adoption_after > rows["A"].adoption_before == pytest.approx(0.5)


def test_adoption_is_capped_and_proportional_plan_splits_by_population() -> None:
    planner = Planner(TWO, {"a1": 0.85}, {"A": Yield(10_000, 0)}, max_adoption=0.9)
    naive = planner.proportional(30, 0)
    assert naive.volunteer_days == pytest.approx({"A": 15.0, "B": 15.0})
    table = planner.adoption(naive)
    assert table["a1"] == 0.9
    assert table["a2"] == 0.9


def test_adoption_csv_validates_every_row() -> None:
    good = read_adoption_csv("unit_code,adoption\n555,0.3\n22015,45%\n", ["555", "22015"])
    assert good == {"555": 0.3, "22015": 0.45}
    with pytest.raises(InvalidInput) as caught:
        read_adoption_csv(
            "unit_code,adoption\n555,1.5\n999,0.1\n555,0.2\n,0.1\n22015,abc\n", ["555", "22015"]
        )
    fields = [e.field for e in caught.value.errors]
    assert fields == [
        "row[2].adoption",
        "row[3].unit_code",
        "row[4].unit_code",
        "row[5].unit_code",
        "row[6].adoption",
    ]
    assert all(e.message_vi and e.message_en for e in caught.value.errors)
    with pytest.raises(InvalidInput) as missing:
        read_adoption_csv("code,share\n555,0.3\n")
    assert {e.field for e in missing.value.errors} == {"unit_code", "adoption"}


def test_yields_csv() -> None:
    assert read_yields_csv(
        "unit_code,installs_per_volunteer_day,installs_per_reminder\n555,25,0.03\n"
    ) == {"555": Yield(25.0, 0.03)}
    with pytest.raises(InvalidInput):
        read_yields_csv("unit_code,installs_per_volunteer_day,installs_per_reminder\n555,-1,0\n")
