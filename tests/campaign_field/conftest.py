"""Door-to-door fixtures: a commune with households, a team with volunteers, the vault."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.campaign import households, teams
from safezone.campaign.models import Household
from safezone.campaign.privacy import vault_for
from safezone.campaign.visits import FieldPolicy
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.vault import Vault
from tests.conftest import MakeUser

DATA = Path(__file__).parent / "data"
COMMUNE, OTHER_COMMUNE, OTHER_DISTRICT_COMMUNE = "22015", "22018", "22052"
TODAY = dt.date(2026, 11, 30)
#: 09:00 in Vietnam on TODAY.
MORNING = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def vault(settings: Settings) -> Vault:
    """The campaign's vault for the test's key ring."""
    return vault_for(settings)


@pytest.fixture
def policy(vault: Vault) -> FieldPolicy:
    """Visit policy with the default revisit rules."""
    return FieldPolicy(vault=vault)


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    """A session committed at the end of the test (when nothing failed)."""
    with db.session() as session:
        yield session


def household_file(rows: list[tuple[str, ...]]) -> bytes:
    """A household CSV from rows of (village_code, village_name, address, head, members, phone)."""
    lines = ["village_code,village_name,address,head_name,members,phone"]
    lines += [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


SeedField = Callable[..., dict[str, object]]


@pytest.fixture
def seed_field(db: Database, vault: Vault, make_user: MakeUser) -> SeedField:
    """Households in COMMUNE (and OTHER_DISTRICT_COMMUNE), a team with two volunteers, dealt."""

    def factory(
        count: int = 4, volunteers: tuple[str, ...] = ("tnv.a", "tnv.b")
    ) -> dict[str, object]:
        users = [make_user(name, "volunteer", COMMUNE) for name in volunteers]
        outsider = make_user("tnv.khac", "volunteer", OTHER_DISTRICT_COMMUNE)
        with db.session() as session:
            rows = [("", "", f"{n} Lê Lợi", f"Chủ hộ {n}", "3", "") for n in range(1, count + 1)]
            households.import_households(
                session, vault, household_file(rows), "h.csv", unit_code=COMMUNE, today=TODAY
            )
            households.import_households(
                session,
                vault,
                household_file([("", "", "1 Hùng Vương", "Hộ xa", "2", "")]),
                "o.csv",
                unit_code=OTHER_DISTRICT_COMMUNE,
                today=TODAY,
            )
            scope = Scope("54", "54/")
            team = teams.save_team(
                session,
                scope,
                name="Chi đoàn Phường 1",
                unit_code=COMMUNE,
                areas=[COMMUNE],
                members=list(volunteers),
                actor="test",
            )
            teams.distribute(session, team)
            far = teams.save_team(
                session,
                scope,
                name="Đội xa",
                unit_code=OTHER_DISTRICT_COMMUNE,
                areas=[OTHER_DISTRICT_COMMUNE],
                members=["tnv.khac"],
                actor="test",
            )
            teams.distribute(session, far)
            ids = {
                user.username: [
                    h.id
                    for h in session.scalars(
                        select(Household)
                        .where(Household.volunteer_id == user.id)
                        .order_by(Household.id)
                    )
                ]
                for user in [*users, outsider]
            }
            return {"team_id": team.id, "households": ids, "users": [*users, outsider]}

    return factory


def user_in(session: Session, user: User) -> User:
    """``user`` attached to ``session``."""
    return session.get_one(User, user.id)
