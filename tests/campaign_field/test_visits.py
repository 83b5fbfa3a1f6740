"""Visit sync: stored once, corrections until the end of the local day (audited), only the
volunteer's own households, consent with time and source, revisits, walk list, progress."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from safezone.accounts.models import AuditEvent, User
from safezone.accounts.service import Scope
from safezone.campaign import teams, visits
from safezone.campaign.field_schemas import VisitIn
from safezone.campaign.models import Household, Visit, VisitApp
from safezone.campaign.visits import ConsentGiven, FieldPolicy
from safezone.db.engine import Database
from tests.campaign_field.conftest import COMMUNE, MORNING, TODAY, SeedField, user_in


def visit(household_id: int, **changes: Any) -> VisitIn:
    body: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "household_id": household_id,
        "visited_at": MORNING.isoformat(),
        "outcome": "home",
        "people_home": 2,
        "smartphones": 1,
        "apps": [
            {"app_code": "ncovi", "result": "installed_with_help"},
            {"app_code": "bluezone", "result": "later"},
        ],
    }
    body.update(changes)
    return VisitIn.model_validate(body)


def _user(session: Session, seeded: dict[str, Any], index: int = 0) -> User:
    return user_in(session, seeded["users"][index])


def test_syncing_twice_stores_once(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    mine = seeded["households"]["tnv.a"]
    batch = [
        visit(mine[0]),
        visit(mine[1], outcome="not_home", people_home=0, smartphones=0, apps=[]),
    ]
    with db.session() as session:
        first = visits.sync(session, policy, _user(session, seeded), batch, now=MORNING)
    assert (first.stored, first.unchanged, first.rejected) == (2, 0, 0)
    with db.session() as session:
        second = visits.sync(session, policy, _user(session, seeded), batch, now=MORNING)
        assert (second.stored, second.unchanged, second.corrected) == (0, 2, 0)
        assert session.scalar(select(func.count()).select_from(Visit)) == 2
        assert session.scalar(select(func.count()).select_from(VisitApp)) == 2
        stored = session.scalar(select(Visit).where(Visit.client_id == batch[0].client_id))
        assert stored is not None
        assert stored.unit_code == COMMUNE


def test_a_volunteer_sees_only_their_households(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    theirs = seeded["households"]["tnv.b"][0]
    far = seeded["households"]["tnv.khac"][0]
    with db.session() as session:
        result = visits.sync(
            session,
            policy,
            _user(session, seeded),
            [visit(theirs), visit(far), visit(10**6)],
            now=MORNING,
        )
        assert result.rejected == 3
        assert {item.errors[0].code for item in result.results} == {"household_not_found"}
        assert session.scalar(select(func.count()).select_from(Visit)) == 0
        listed = visits.walk_list(session, policy, _user(session, seeded), now=MORNING)
    assert {h.household_id for h in listed.households} == set(seeded["households"]["tnv.a"])


def test_another_volunteers_client_id_is_refused(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    first = visit(seeded["households"]["tnv.a"][0])
    with db.session() as session:
        visits.sync(session, policy, _user(session, seeded), [first], now=MORNING)
    stolen = first.model_copy(update={"household_id": seeded["households"]["tnv.b"][0]})
    with db.session() as session:
        result = visits.sync(session, policy, _user(session, seeded, 1), [stolen], now=MORNING)
    assert result.results[0].errors[0].code == "client_id_taken"


def test_correction_on_the_same_day_is_stored_and_audited(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    original = visit(seeded["households"]["tnv.a"][0])
    with db.session() as session:
        visits.sync(session, policy, _user(session, seeded), [original], now=MORNING)
    fixed = original.model_copy(update={"smartphones": 2, "apps": []})
    evening = MORNING + dt.timedelta(hours=14)  # 23:00 in Vietnam, same day
    with db.session() as session:
        result = visits.sync(session, policy, _user(session, seeded), [fixed], now=evening)
        assert result.corrected == 1
        row = session.scalar(select(Visit))
        assert row is not None
        assert row.smartphones == 2
        assert session.scalar(select(func.count()).select_from(VisitApp)) == 0
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "campaign.visit.correct")
        )
        assert event is not None
        assert event.actor == "tnv.a"
        assert event.detail["changed"]["smartphones"] == {"from": 1, "to": 2}
        assert set(event.detail["changed"]) == {"smartphones", "apps"}


def test_correction_after_the_local_day_is_refused(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    original = visit(seeded["households"]["tnv.a"][0])
    with db.session() as session:
        visits.sync(session, policy, _user(session, seeded), [original], now=MORNING)
    next_day = MORNING + dt.timedelta(hours=15)  # 00:00 in Vietnam the next day
    fixed = original.model_copy(update={"smartphones": 3})
    with db.session() as session:
        result = visits.sync(session, policy, _user(session, seeded), [fixed], now=next_day)
        assert result.results[0].errors[0].code == "correction_closed"
        assert session.scalar(select(Visit.smartphones)) == 1
        # The same answers again are still recognised, whatever the day.
        again = visits.sync(session, policy, _user(session, seeded), [original], now=next_day)
        assert again.unchanged == 1


def test_invalid_visits_say_why_and_store_nothing(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    h = seeded["households"]["tnv.a"][0]
    bad = [
        visit(h, outcome="not_home"),
        visit(h, people_home=0),
        visit(h, apps=[{"app_code": "nope", "result": "refused"}]),
        visit(h, consent_reminders=True, reminder_phone="12"),
        visit(h, reminder_phone="0905123456"),
        visit(h, visited_at=(MORNING + dt.timedelta(hours=2)).isoformat()),
    ]
    with db.session() as session:
        result = visits.sync(session, policy, _user(session, seeded), bad, now=MORNING)
        assert [item.errors[0].code for item in result.results] == [
            "not_home_with_answers",
            "nobody_home",
            "unknown_app",
            "invalid_phone",
            "phone_without_consent",
            "in_future",
        ]
        assert [item.errors[0].field for item in result.results][:2] == [
            "visits.0.outcome",
            "visits.1.people_home",
        ]
        assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_consent_is_stored_sealed_with_time_and_source_and_handed_on(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    given: list[ConsentGiven] = []
    hooked = FieldPolicy(vault=policy.vault, on_consent=lambda _s, c: given.append(c))
    v = visit(
        seeded["households"]["tnv.a"][0], consent_reminders=True, reminder_phone="0905 777 888"
    )
    with db.session() as session:
        visits.sync(session, hooked, _user(session, seeded), [v], now=MORNING)
        row = session.scalar(select(Visit))
        assert row is not None
        assert (row.consent_at, row.consent_source) == (MORNING, "door_to_door")
        assert policy.vault.get(row, "reminder_phone") == "+84905777888"
        dump = " ".join(
            str(x) for r in session.execute(text("SELECT * FROM campaign_visits")) for x in r
        )
        assert "905777888" not in dump
    assert [(c.phone, c.source, c.unit_code, c.installed, c.volunteer) for c in given] == [
        ("+84905777888", "door_to_door", COMMUNE, ("ncovi",), "tnv.a")
    ]


def test_not_home_schedules_revisits_and_later_a_follow_up(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    a, b = seeded["households"]["tnv.a"][:2]
    away = {"outcome": "not_home", "people_home": 0, "smartphones": 0, "apps": []}
    with db.session() as session:
        visits.sync(
            session, policy, _user(session, seeded), [visit(a, **away), visit(b)], now=MORNING
        )
        first, second = session.get_one(Household, a), session.get_one(Household, b)
        assert (first.due_on, first.due_reason, first.not_home_tries) == (
            TODAY + dt.timedelta(days=2),
            "revisit",
            1,
        )
        assert (second.due_on, second.due_reason) == (TODAY + dt.timedelta(days=7), "follow_up")
    for days in (2, 4):
        moment = MORNING + dt.timedelta(days=days)
        with db.session() as session:
            visits.sync(
                session,
                policy,
                _user(session, seeded),
                [visit(a, visited_at=moment.isoformat(), **away)],
                now=moment,
            )
    with db.session() as session:
        given_up = session.get_one(Household, a)
        assert (given_up.due_on, given_up.not_home_tries) == (None, 3)


def test_walk_list_is_audited_and_shows_todays_visits(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    mine = seeded["households"]["tnv.a"]
    done = visit(mine[0], apps=[{"app_code": "ncovi", "result": "refused"}])
    with db.session() as session:
        visits.sync(session, policy, _user(session, seeded), [done], now=MORNING)
        listed = visits.walk_list(session, policy, _user(session, seeded), now=MORNING)
        # Still due first; visited today (correctable) after.
        assert [h.household_id for h in listed.households] == [mine[1], mine[0]]
        first = listed.households[1]
        assert first.head_name == "Chủ hộ 1"
        assert first.address == "1 Lê Lợi"
        assert [v.client_id for v in first.visited_today] == [done.client_id]
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "read"))
        assert event is not None
        assert event.object_type == "walk_list"
        assert sorted(event.detail["households"]) == mine
    tomorrow = MORNING + dt.timedelta(days=1)
    with db.session() as session:
        later = visits.walk_list(session, policy, _user(session, seeded), now=tomorrow)
        assert mine[0] not in [h.household_id for h in later.households]


def test_round_robin_distribution_keeps_the_load_even(
    db: Database, vault: Any, seed_field: SeedField
) -> None:
    seeded = seed_field(count=5)
    assert [len(seeded["households"][name]) for name in ("tnv.a", "tnv.b")] == [3, 2]
    assert seeded["households"]["tnv.a"] == [1, 3, 5]
    from safezone.campaign import households
    from tests.campaign_field.conftest import household_file

    with db.session() as session:
        households.import_households(
            session,
            vault,
            household_file(
                [("", "", f"{n} Hai Bà Trưng", f"Hộ mới {n}", "2", "") for n in range(3)]
            ),
            "more.csv",
            unit_code=COMMUNE,
            today=TODAY,
        )
        team = teams.get_team(session, seeded["team_id"], Scope("54", "54/"))
        assert teams.distribute(session, team) == 3
        assert teams.distribute(session, team) == 0
        loads = dict(
            session.execute(
                select(Household.volunteer_id, func.count())
                .where(Household.unit_code == COMMUNE)
                .group_by(Household.volunteer_id)
            ).all()
        )
    assert sorted(loads.values()) == [4, 4]


def test_progress_counts_per_volunteer(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    seeded = seed_field()
    mine = seeded["households"]["tnv.a"]
    away = {"outcome": "not_home", "people_home": 0, "smartphones": 0, "apps": []}
    with db.session() as session:
        visits.sync(
            session,
            policy,
            _user(session, seeded),
            [
                visit(mine[0], consent_reminders=True, reminder_phone="0905123456"),
                visit(mine[1], **away),
            ],
            now=MORNING,
        )
        officer_view = visits.progress(session, _user(session, seeded), Scope("555", "54/555/"))
        rows = {row.volunteer: row for row in officer_view.rows}
        a = rows["tnv.a"]
        assert (
            a.households,
            a.visited,
            a.visits,
            a.not_home,
            a.installs_helped,
            a.consents,
            a.revisits_due,
        ) == (
            2,
            1,
            2,
            1,
            1,
            1,
            2,
        )
    with db.session() as session:
        volunteer = _user(session, seeded)
        assert volunteer.role.value == "volunteer"
        own = visits.progress(session, volunteer, Scope("54", "54/"))
        assert [row.volunteer for row in own.rows] == ["tnv.a"]


def test_sync_refreshes_the_door_to_door_figures_of_the_commune(
    db: Database, policy: FieldPolicy, seed_field: SeedField
) -> None:
    from safezone.campaign.models import AdoptionFigure, FigureSource

    seeded = seed_field()
    mine = seeded["households"]["tnv.a"]
    with db.session() as session:
        visits.sync(
            session,
            policy,
            _user(session, seeded),
            [visit(mine[0], smartphones=2), visit(mine[1])],
            now=MORNING,
        )
        figures = {
            (f.unit_code, f.app_code): f.installs
            for f in session.scalars(
                select(AdoptionFigure).where(
                    AdoptionFigure.source == FigureSource.FIELD,
                    AdoptionFigure.superseded_at.is_(None),
                )
            )
        }
    # ncovi installed with help in both households (2 phones + 1); bluezone "later": nothing.
    assert figures == {(COMMUNE, "ncovi"): 3}
