"""The demo's door-to-door set: labelled, in two Tuy Hoà wards, repeatable."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone.accounts import service as accounts
from safezone.campaign.field_demo import COMMUNES, PER_COMMUNE, TEAM_NAME, seed_field_demo
from safezone.campaign.models import Household, Team, Visit
from safezone.campaign.privacy import vault_for
from safezone.config import Settings
from safezone.db.engine import Database


def _counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Household, Team, Visit)
    )


def test_demo_seeds_once(db: Database, settings: Settings) -> None:
    with db.session() as session:
        for username, unit in (("tnv.phuong1", "22015"), ("tnv.phuong8", "22018")):
            accounts.create_user(
                session, username=username, password="x" * 12, role="volunteer", unit_code=unit
            )
    with db.session() as session:
        seed_field_demo(session, settings)
    with db.session() as session:
        first = _counts(session)
        assert first == (PER_COMMUNE * len(COMMUNES), 1, 8)
        team = session.scalar(select(Team))
        assert team is not None
        assert team.name == TEAM_NAME
        household = session.scalars(select(Household)).first()
        assert household is not None
        assert "(dữ liệu mẫu)" in vault_for(settings).open(household)["head_name"]
        assert (
            session.scalar(
                select(func.count()).select_from(Household).where(Household.volunteer_id.is_(None))
            )
            == 0
        )
    with db.session() as session:
        seed_field_demo(session, settings)
    with db.session() as session:
        assert _counts(session) == first
