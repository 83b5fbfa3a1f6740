"""When a household is due a visit again: revisits after "not home", follow-ups after "later".

Pure functions of a household's visits: the schedule is recomputed from every visit each time one
is stored or corrected, so a correction moves the plan too and the result never depends on the
order in which visits reached the server.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from safezone.config import Settings

#: Why a household is on a walk list.
FIRST, REVISIT, FOLLOW_UP = "first", "revisit", "follow_up"


@dataclass(frozen=True, slots=True)
class RevisitRules:
    """How soon and how often households are visited again (``settings.door_to_door``)."""

    revisit_days: int = 2
    max_tries: int = 3
    follow_up_days: int = 7
    max_follow_ups: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> RevisitRules:
        """The rules configured in ``settings``."""
        config = settings.door_to_door
        return cls(
            revisit_days=config.revisit_days,
            max_tries=config.max_tries,
            follow_up_days=config.follow_up_days,
            max_follow_ups=config.max_follow_ups,
        )


@dataclass(frozen=True, slots=True)
class VisitFact:
    """What scheduling needs of one visit: its local day, whether anyone was home, and whether
    someone said they would install later."""

    day: dt.date
    home: bool
    later: bool = False
    #: Tie-breaker for two visits on one day (the order they were made in).
    order: int = 0


@dataclass(frozen=True, slots=True)
class Plan:
    """A household's next visit: when (None = no more visits) and why."""

    due_on: dt.date | None
    reason: str | None
    not_home_tries: int
    follow_ups: int


def plan(first_due: dt.date, visits: Iterable[VisitFact], rules: RevisitRules) -> Plan:
    """The next visit of a household first due on ``first_due``, after ``visits``.

    - not home: the ``n``-th consecutive time schedules a revisit ``revisit_days`` later while
      ``n < max_tries``; the ``max_tries``-th gives up (no more visits);
    - home and someone "will install later": a follow-up ``follow_up_days`` later, at most
      ``max_follow_ups`` times;
    - home otherwise: done.
    """
    current = Plan(first_due, FIRST, 0, 0)
    for visit in sorted(visits, key=lambda fact: (fact.day, fact.order)):
        if not visit.home:
            tries = min(current.not_home_tries + 1, rules.max_tries)
            if tries < rules.max_tries:
                due = visit.day + dt.timedelta(days=rules.revisit_days)
                current = Plan(due, REVISIT, tries, current.follow_ups)
            else:
                current = Plan(None, None, tries, current.follow_ups)
        elif visit.later and current.follow_ups < rules.max_follow_ups:
            due = visit.day + dt.timedelta(days=rules.follow_up_days)
            current = Plan(due, FOLLOW_UP, 0, current.follow_ups + 1)
        else:
            current = Plan(None, None, 0, current.follow_ups)
    return current
