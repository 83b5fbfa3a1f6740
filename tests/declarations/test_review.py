"""The staff side without HTTP: assignment rules, scope, filters and paging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.declarations import base, review
from safezone.declarations.schemas import AssignmentIn, OutcomeIn
from safezone.errors import InvalidInput, NotFound
from tests.conftest import MakeUser
from tests.declarations.conftest import (
    OTHER_COMMUNE_SAME_DISTRICT,
    OTHER_DISTRICT_COMMUNE,
    declare,
)

Body = Callable[..., dict[str, Any]]


def test_assignment_must_be_a_commune_in_scope(
    db: Database, body: Body, policy: base.Policy, make_user: MakeUser
) -> None:
    created = declare(db, policy, body())
    officer = make_user("huyen", "health_officer", "555")
    with db.session() as session:
        user: User = session.merge(officer)
        scope = Scope.of(user)
        with pytest.raises(InvalidInput):
            review.assign(session, policy, user, scope, created.id, AssignmentIn(unit_code="555"))
        with pytest.raises(NotFound):
            review.assign(
                session,
                policy,
                user,
                scope,
                created.id,
                AssignmentIn(unit_code=OTHER_DISTRICT_COMMUNE),
            )
        row = review.assign(
            session,
            policy,
            user,
            scope,
            created.id,
            AssignmentIn(unit_code=OTHER_COMMUNE_SAME_DISTRICT),
        )
        assert row.assigned_unit_code == OTHER_COMMUNE_SAME_DISTRICT
        closed = review.set_outcome(
            session, policy, user, scope, created.id, OutcomeIn(outcome="became_case")
        )
        assert closed.outcome == "became_case"


def test_assigned_station_sees_the_declaration(
    db: Database, body: Body, policy: base.Policy, make_user: MakeUser
) -> None:
    created = declare(db, policy, body())
    district = make_user("huyen", "health_officer", "555")
    station = make_user("tram", "health_officer", OTHER_COMMUNE_SAME_DISTRICT)
    with db.session() as session:
        station_scope = Scope.of(session.merge(station))
        assert review.list_declarations(session, policy, station_scope, review.Filters()).total == 0
        user = session.merge(district)
        review.assign(
            session,
            policy,
            user,
            Scope.of(user),
            created.id,
            AssignmentIn(unit_code=OTHER_COMMUNE_SAME_DISTRICT),
        )
    with db.session() as session:
        page = review.list_declarations(session, policy, station_scope, review.Filters())
        assert [item.id for item in page.items] == [created.id]


def test_filters_and_paging(
    db: Database, body: Body, policy: base.Policy, make_user: MakeUser
) -> None:
    for number in range(5):
        raw = body(id_number=f"05408500010{number}", symptoms=["cough"] if number % 2 else [])
        declare(db, policy, raw, now=utcnow() - dt.timedelta(days=number))
    officer = make_user("huyen", "health_officer", "555")
    with db.session() as session:
        scope = Scope.of(session.merge(officer))

        def ids(**filters: Any) -> int:
            return review.list_declarations(session, policy, scope, review.Filters(**filters)).total

        assert ids() == 5
        assert ids(symptom="cough") == 2
        assert ids(risk="low") == 3
        assert ids(date_from=base.local_today() - dt.timedelta(days=1)) == 2
        assert ids(exposure="confirmed_case") == 0
        assert ids(assigned=False) == 5
        first = review.list_declarations(session, policy, scope, review.Filters(), per_page=2)
        third = review.list_declarations(
            session, policy, scope, review.Filters(), page=3, per_page=2
        )
        assert (first.total, len(first.items), len(third.items)) == (5, 2, 1)
        with pytest.raises(InvalidInput):
            ids(risk="extreme")
        with pytest.raises(NotFound):
            ids(unit_code=OTHER_DISTRICT_COMMUNE)
