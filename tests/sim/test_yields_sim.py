"""Install yields from the campaign's field data (``safezone.campaign.yields``), as the planner
reads them through ``safezone.sim.service.resolve_yields``: per district where it has enough
volunteer-days, the province-wide figure where not, the default without data; each figure names
its source."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.models import AppResult, Household, Visit, VisitApp, VisitOutcome
from safezone.campaign.yields import field_yields
from safezone.db.engine import Database
from safezone.sim import service
from safezone.units.models import Unit
from tests.conftest import MakeUser

TUY_HOA, SONG_CAU, DONG_XUAN = "555", "557", "558"
_ids = itertools.count(1)


def _commune(session: Session, district: str) -> str:
    code = session.scalars(
        select(Unit.code).where(Unit.parent_code == district).order_by(Unit.code)
    ).first()
    assert code is not None
    return code


def _visit(
    session: Session,
    commune: str,
    volunteer: int | None,
    at: dt.datetime,
    installs: int,
    refusals: int = 0,
) -> None:
    n = next(_ids)
    household = Household(unit_code=commune, members=3, import_key=f"yield-test-{n}")
    session.add(household)
    session.flush()
    visit = Visit(
        client_id=f"00000000-0000-0000-0000-{n:012d}",
        household_id=household.id,
        volunteer_id=volunteer,
        unit_code=commune,
        visited_at=at,
        outcome=VisitOutcome.HOME,
    )
    session.add(visit)
    session.flush()
    results = [AppResult.INSTALLED_WITH_HELP] * installs + [AppResult.REFUSED] * refusals
    for app, result in zip(("ncovi", "bluezone"), results, strict=False):
        session.add(VisitApp(visit_id=visit.id, app_code=app, result=result))


def test_yields_per_district_fall_back_to_the_province_then_the_default(
    db: Database, make_user: MakeUser
) -> None:
    first = make_user("tnv1", "volunteer", "22015").id
    second = make_user("tnv2", "volunteer", "22015").id
    day = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 09:00 in Vietnam
    with db.session() as session:
        tuy_hoa, song_cau = _commune(session, TUY_HOA), _commune(session, SONG_CAU)
        # Tuy Hoà: volunteer 1 on 5 days (two visits on the first: still one volunteer-day),
        # volunteer 2 on 1 day: 6 volunteer-days, 2 installs per visit, 7 visits -> 14 installs.
        for d in range(5):
            _visit(session, tuy_hoa, first, day + dt.timedelta(days=d), installs=2)
        _visit(session, tuy_hoa, first, day + dt.timedelta(hours=3), installs=2)
        _visit(session, tuy_hoa, second, day, installs=2, refusals=0)
        # A visit without a volunteer (deleted account): installs count, no volunteer-day.
        _visit(session, tuy_hoa, None, day, installs=1)
        # Sông Cầu: two volunteer-days only (23:30 UTC is the next day in Vietnam), 2 installs,
        # and a refusal, which is no install.
        _visit(session, song_cau, first, day, installs=1)
        _visit(session, song_cau, first, day.replace(hour=23, minute=30), installs=1)
        _visit(session, song_cau, first, day.replace(hour=23, minute=45), installs=0, refusals=1)

    with db.session() as session:
        found = field_yields(
            session,
            [TUY_HOA, SONG_CAU, DONG_XUAN],
            default_per_volunteer_day=20.0,
            default_per_reminder=0.02,
        )
    assert found[TUY_HOA]["volunteer_days"] == 6
    assert found[TUY_HOA]["installs"] == 15
    assert found[TUY_HOA]["installs_per_volunteer_day"] == 15 / 6
    assert found[TUY_HOA]["volunteer_day_source"] == "district"
    assert found[SONG_CAU]["volunteer_days"] == 2
    assert found[SONG_CAU]["volunteer_day_source"] == "province"
    assert found[SONG_CAU]["installs_per_volunteer_day"] == (15 + 2) / (6 + 2)
    assert found[DONG_XUAN]["volunteer_day_source"] == "province"
    # No reminders were sent anywhere: the default, said so.
    assert {f["reminder_source"] for f in found.values()} == {"default"}
    assert found[TUY_HOA]["installs_per_reminder"] == 0.02

    with db.session() as session:
        only_ncovi = field_yields(
            session, [TUY_HOA], default_per_volunteer_day=20.0, default_per_reminder=0.02,
            app_code="ncovi",
        )  # fmt: skip
    assert only_ncovi[TUY_HOA]["installs"] == 8  # the first app of each visit with installs

    with db.session() as session:
        yields, sources = service.resolve_yields(session, "campaign", [TUY_HOA, SONG_CAU])
    assert yields[TUY_HOA] == {
        "installs_per_volunteer_day": 15 / 6,
        "installs_per_reminder": service.DEFAULT_PER_REMINDER,
    }
    assert sources == {
        TUY_HOA: {"volunteer_days": "district", "reminders": "default"},
        SONG_CAU: {"volunteer_days": "province", "reminders": "default"},
    }


def test_without_field_data_every_yield_is_the_default(db: Database) -> None:
    with db.session() as session:
        yields, sources = service.resolve_yields(session, "campaign", [TUY_HOA])
    assert yields[TUY_HOA]["installs_per_volunteer_day"] == service.DEFAULT_PER_VOLUNTEER_DAY
    assert sources[TUY_HOA] == {"volunteer_days": "default", "reminders": "default"}
    with db.session() as session:
        _, chosen = service.resolve_yields(session, "default", [TUY_HOA])
    assert chosen[TUY_HOA] == {"volunteer_days": "default", "reminders": "default"}


def test_installs_per_reminder_come_from_messaging_confirmations(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messaging's funnel (tested with messaging) stands in here with sent and confirmed
    counts per commune; the district needs 100 sent reminders for its own figure."""
    from safezone.messaging import service as messaging

    with db.session() as session:
        tuy_hoa, song_cau = _commune(session, TUY_HOA), _commune(session, SONG_CAU)
    rows = [
        messaging.FunnelRow(tuy_hoa, 1, 160, 150, 140, 20, 6),
        messaging.FunnelRow(song_cau, 1, 25, 20, 18, 5, 3),
    ]
    monkeypatch.setattr(messaging, "funnel", lambda session, scope, **_: rows)
    with db.session() as session:
        found = field_yields(
            session, [TUY_HOA, SONG_CAU, DONG_XUAN], default_per_volunteer_day=20.0,
            default_per_reminder=0.02,
        )  # fmt: skip
    assert found[TUY_HOA]["installs_per_reminder"] == 6 / 150
    assert found[TUY_HOA]["reminder_source"] == "district"
    assert found[SONG_CAU]["installs_per_reminder"] == 9 / 170
    assert found[SONG_CAU]["reminder_source"] == "province"
    assert found[DONG_XUAN]["reminder_source"] == "province"
    # No visits: volunteer-day yields stay the default.
    assert found[TUY_HOA]["volunteer_day_source"] == "default"
