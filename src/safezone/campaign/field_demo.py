"""The demo's door-to-door drive in Tuy Hoà: a clearly labelled synthetic set.

Households (in residential groups of Phường 1 and Phường 8), the Youth Union team of both
wards with the demo volunteers, and a few visits from yesterday, so the walk list, the progress
page and the door-to-door figures show something on first start. Running it again adds nothing.
Every name is made up and says so ("dữ liệu mẫu" = sample data).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import User
from safezone.accounts.service import Scope
from safezone.campaign import households, teams, visits
from safezone.campaign.field_schemas import VisitIn
from safezone.campaign.models import Household, Team, Visit
from safezone.campaign.privacy import vault_for
from safezone.campaign.revisits import FIRST, RevisitRules
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.units.models import Unit

#: The two demo wards of Tuy Hoà and their volunteers (also in runtime.DEMO_STAFF).
COMMUNES = ("22015", "22018")
VOLUNTEERS = ("tnv.phuong1", "tnv.phuong8")
TEAM_NAME = "Chi đoàn Phường 1 và Phường 8 (dữ liệu mẫu)"
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Đặng")
STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Độc Lập", "Hùng Vương", "Nguyễn Huệ", "Duy Tân")
PER_COMMUNE = 12
_NAMESPACE = uuid.UUID("6f1c9a52-7d0e-4e55-9d1a-2f7c1e0b5a10")


def _file(commune: str) -> bytes:
    lines = ["village_code,village_name,address,head_name,members,phone"]
    first = COMMUNES.index(commune) * PER_COMMUNE  # numbers differ from ward to ward
    for n in range(PER_COMMUNE):
        group = n % 2 + 1
        phone = f"0905{commune[-3:]}{n:03d}" if n % 3 == 0 else ""
        lines.append(
            f"{commune}-TDP{group:02d},Tổ dân phố {group} (dữ liệu mẫu),"
            f"{10 + n} {STREETS[n % len(STREETS)]},"
            f"{SURNAMES[n % len(SURNAMES)]} Văn Mẫu {first + n + 1:02d} (dữ liệu mẫu),"
            f"{2 + n % 4},{phone}"
        )
    return ("\n".join(lines) + "\n").encode()


def _visit(household_id: int, n: int, at: dt.datetime) -> VisitIn:
    client_id = str(uuid.uuid5(_NAMESPACE, f"demo-visit-{household_id}"))
    if n % 4 == 3:
        return VisitIn(
            client_id=client_id, household_id=household_id, visited_at=at, outcome="not_home"
        )
    results = ("installed_with_help", "already_installed", "later")
    return VisitIn.model_validate(
        {
            "client_id": client_id,
            "household_id": household_id,
            "visited_at": at,
            "outcome": "home",
            "people_home": 2,
            "smartphones": 1 + n % 2,
            "apps": [
                {"app_code": "ncovi", "result": results[n % 3]},
                {"app_code": "bluezone", "result": results[(n + 1) % 3]},
            ],
        }
    )


def seed_field_demo(session: Session, settings: Settings) -> None:
    """Households, the team and yesterday's visits in Tuy Hoà (idempotent)."""
    present = set(session.scalars(select(Unit.code).where(Unit.code.in_(COMMUNES))))
    users = list(session.scalars(select(User).where(User.username.in_(VOLUNTEERS))))
    if present != set(COMMUNES) or not users:
        return  # another unit tree, or the demo staff are not there
    vault = vault_for(settings)
    today = visits.local_day(utcnow())
    for commune in COMMUNES:
        households.import_households(
            session, vault, _file(commune), "demo.csv", unit_code=commune, today=today,
            actor="demo",
        )  # fmt: skip
    root = Scope("54", "54/")
    team = session.scalar(select(Team).where(Team.name == TEAM_NAME))
    if team is None:
        team = teams.save_team(
            session,
            root,
            name=TEAM_NAME,
            unit_code="555",
            areas=list(COMMUNES),
            members=[user.username for user in users],
            actor="demo",
        )
    teams.distribute(session, team, actor="demo")
    session.flush()
    policy = visits.FieldPolicy(vault=vault, rules=RevisitRules.from_settings(settings))
    yesterday = utcnow() - dt.timedelta(days=1)
    for user in users:
        if session.scalar(select(Visit.id).where(Visit.volunteer_id == user.id).limit(1)):
            continue  # visits already seeded (or recorded since): leave them be
        first = session.scalars(
            select(Household.id)
            .where(Household.volunteer_id == user.id, Household.due_reason == FIRST)
            .order_by(Household.id)
            .limit(4)
        ).all()
        if first:
            done = [_visit(household_id, n, yesterday) for n, household_id in enumerate(first)]
            visits.sync(session, policy, user, done)
