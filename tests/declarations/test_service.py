"""Service functions without HTTP: staff review, stats, assignment rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.declarations import service
from safezone.declarations.schemas import AssignmentIn, DailyUpdateIn, DeclarationIn, OutcomeIn
from safezone.errors import InvalidInput, NotFound
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE, OTHER_COMMUNE_SAME_DISTRICT, OTHER_DISTRICT_COMMUNE

Body = Callable[..., dict[str, Any]]


def declare(db: Database, policy: service.Policy, raw: dict[str, Any], **kwargs: Any) -> Any:
    with db.session() as session:
        data = service.parse(DeclarationIn, session, raw, today=service.local_today())
        return service.submit(session, policy, data, **kwargs)


def test_parse_reports_every_error_without_http(db: Database, body: Body) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        service.parse(
            DeclarationIn, session, body(phone="1", pledge=False), today=service.local_today()
        )
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("phone", "invalid_phone"),
        ("pledge", "pledge_required"),
    ]


def test_risk_follows_daily_symptoms(db: Database, body: Body, policy: service.Policy) -> None:
    raw = body(symptoms=[])
    raw["exposure"]["confirmed_case"] = True
    created = declare(db, policy, raw)
    assert created.risk == "medium"
    with db.session() as session:
        out = service.add_daily_update(
            session, policy, created.id, created.update_token, DailyUpdateIn(statuses=["fever"])
        )
    assert out.risk == "high"
    assert policy.keys.passes.verify(out.pass_token, today=service.local_today()).risk == "high"


def test_stats_count_per_unit_and_day(
    db: Database, body: Body, policy: service.Policy, make_user: MakeUser
) -> None:
    declare(db, policy, body())
    declare(
        db, policy, body(id_number="054085000002", address__unit_code=OTHER_COMMUNE_SAME_DISTRICT)
    )
    declare(db, policy, body(id_number="054085000003", address__unit_code=OTHER_DISTRICT_COMMUNE))
    province = make_user("tinh", "health_officer", "54")
    with db.session() as session:
        user = session.merge(province)
        result = service.stats(session, policy, Scope.of(user))
        per_unit = {unit.code: counts for unit, counts in result.per_unit}
        assert per_unit["555"] == {"medium": 2}
        assert per_unit["557"] == {"medium": 1}
        assert result.per_day[-1] == (service.local_today(), {"medium": 3})
        district = service.stats(session, policy, Scope.of(user), root_code="555")
        assert {u.code: c for u, c in district.per_unit}[COMMUNE] == {"medium": 1}


def test_assignment_must_be_a_commune_in_scope(
    db: Database, body: Body, policy: service.Policy, make_user: MakeUser
) -> None:
    created = declare(db, policy, body())
    officer = make_user("huyen", "health_officer", "555")
    with db.session() as session:
        user: User = session.merge(officer)
        scope = Scope.of(user)
        with pytest.raises(InvalidInput):
            service.assign(session, policy, user, scope, created.id, AssignmentIn(unit_code="555"))
        with pytest.raises(NotFound):
            service.assign(
                session,
                policy,
                user,
                scope,
                created.id,
                AssignmentIn(unit_code=OTHER_DISTRICT_COMMUNE),
            )
        row = service.assign(
            session,
            policy,
            user,
            scope,
            created.id,
            AssignmentIn(unit_code=OTHER_COMMUNE_SAME_DISTRICT),
        )
        assert row.assigned_unit_code == OTHER_COMMUNE_SAME_DISTRICT
        closed = service.set_outcome(
            session, policy, user, scope, created.id, OutcomeIn(outcome="became_case")
        )
        assert closed.outcome == "became_case"


def test_assigned_station_sees_the_declaration(
    db: Database, body: Body, policy: service.Policy, make_user: MakeUser
) -> None:
    created = declare(db, policy, body())
    district = make_user("huyen", "health_officer", "555")
    station = make_user("tram", "health_officer", OTHER_COMMUNE_SAME_DISTRICT)
    with db.session() as session:
        station_scope = Scope.of(session.merge(station))
        assert (
            service.list_declarations(session, policy, station_scope, service.Filters()).total == 0
        )
        user = session.merge(district)
        service.assign(
            session,
            policy,
            user,
            Scope.of(user),
            created.id,
            AssignmentIn(unit_code=OTHER_COMMUNE_SAME_DISTRICT),
        )
    with db.session() as session:
        page = service.list_declarations(session, policy, station_scope, service.Filters())
        assert [item.id for item in page.items] == [created.id]


def test_filters_and_paging(
    db: Database, body: Body, policy: service.Policy, make_user: MakeUser
) -> None:
    for number in range(5):
        raw = body(id_number=f"05408500010{number}", symptoms=["cough"] if number % 2 else [])
        declare(db, policy, raw, now=utcnow() - dt.timedelta(days=number))
    officer = make_user("huyen", "health_officer", "555")
    with db.session() as session:
        scope = Scope.of(session.merge(officer))

        def ids(**filters: Any) -> int:
            return service.list_declarations(
                session, policy, scope, service.Filters(**filters)
            ).total

        assert ids() == 5
        assert ids(symptom="cough") == 2
        assert ids(risk="low") == 3
        assert ids(date_from=service.local_today() - dt.timedelta(days=1)) == 2
        assert ids(exposure="confirmed_case") == 0
        assert ids(assigned=False) == 5
        first = service.list_declarations(session, policy, scope, service.Filters(), per_page=2)
        third = service.list_declarations(
            session, policy, scope, service.Filters(), page=3, per_page=2
        )
        assert (first.total, len(first.items), len(third.items)) == (5, 2, 1)
        with pytest.raises(InvalidInput):
            ids(risk="extreme")
        with pytest.raises(NotFound):
            ids(unit_code=OTHER_DISTRICT_COMMUNE)
