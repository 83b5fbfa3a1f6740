"""Revisit scheduling: not home -> revisit in N days, at most M tries; later -> follow-up."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from safezone.campaign.revisits import (
    FIRST,
    FOLLOW_UP,
    REVISIT,
    Plan,
    RevisitRules,
    VisitFact,
    plan,
)
from safezone.config import Settings

DAY = dt.date(2026, 11, 30)
RULES = RevisitRules()


def day(n: int) -> dt.date:
    return DAY + dt.timedelta(days=n)


def test_no_visit_is_due_on_the_first_day() -> None:
    assert plan(DAY, [], RULES) == Plan(DAY, FIRST, 0, 0)


def test_not_home_revisits_in_two_days_then_gives_up_after_three_tries() -> None:
    first = [VisitFact(day(0), home=False)]
    assert plan(DAY, first, RULES) == Plan(day(2), REVISIT, 1, 0)
    second = [*first, VisitFact(day(2), home=False)]
    assert plan(DAY, second, RULES) == Plan(day(4), REVISIT, 2, 0)
    third = [*second, VisitFact(day(4), home=False)]
    assert plan(DAY, third, RULES) == Plan(None, None, 3, 0)


def test_home_ends_the_visits() -> None:
    visits = [VisitFact(day(0), home=False), VisitFact(day(2), home=True)]
    assert plan(DAY, visits, RULES) == Plan(None, None, 0, 0)


def test_later_schedules_a_follow_up_at_most_twice() -> None:
    one = [VisitFact(day(0), home=True, later=True)]
    assert plan(DAY, one, RULES) == Plan(day(7), FOLLOW_UP, 0, 1)
    two = [*one, VisitFact(day(7), home=True, later=True)]
    assert plan(DAY, two, RULES) == Plan(day(14), FOLLOW_UP, 0, 2)
    three = [*two, VisitFact(day(14), home=True, later=True)]
    assert plan(DAY, three, RULES) == Plan(None, None, 0, 2)


def test_a_follow_up_not_home_is_revisited() -> None:
    visits = [VisitFact(day(0), home=True, later=True), VisitFact(day(7), home=False)]
    assert plan(DAY, visits, RULES) == Plan(day(9), REVISIT, 1, 1)


def test_rules_are_configurable() -> None:
    settings = Settings(
        secret_key="x" * 40, door_to_door={"revisit_days": 1, "max_tries": 1, "follow_up_days": 3}
    )
    rules = RevisitRules.from_settings(settings)
    assert (rules.revisit_days, rules.max_tries, rules.follow_up_days) == (1, 1, 3)
    assert plan(DAY, [VisitFact(day(0), home=False)], rules) == Plan(None, None, 1, 0)
    assert plan(DAY, [VisitFact(day(0), home=True, later=True)], rules).due_on == day(3)


facts = st.lists(
    st.builds(
        VisitFact,
        day=st.integers(0, 60).map(day),
        home=st.booleans(),
        later=st.booleans(),
        order=st.integers(0, 10**6),
    ),
    max_size=12,
    unique_by=lambda fact: (fact.day, fact.order),  # a visit's time orders it
)
rules_strategy = st.builds(
    RevisitRules,
    revisit_days=st.integers(1, 10),
    max_tries=st.integers(1, 6),
    follow_up_days=st.integers(1, 20),
    max_follow_ups=st.integers(0, 4),
)


@given(facts, rules_strategy)
def test_plan_is_bounded_and_independent_of_arrival_order(
    visits: list[VisitFact], rules: RevisitRules
) -> None:
    result = plan(DAY, visits, rules)
    assert result == plan(DAY, list(reversed(visits)), rules)
    assert 0 <= result.not_home_tries <= rules.max_tries
    assert 0 <= result.follow_ups <= rules.max_follow_ups
    if visits:
        last = max(visits, key=lambda v: (v.day, v.order))
        if result.due_on is not None:
            assert result.due_on > last.day
            gap = rules.revisit_days if result.reason == REVISIT else rules.follow_up_days
            assert result.due_on == last.day + dt.timedelta(days=gap)
        if last.home and not last.later:
            assert result.due_on is None
