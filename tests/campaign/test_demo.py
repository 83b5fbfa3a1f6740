"""The demo's campaign data: loads on the Phú Yên tree, a second run adds nothing new."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from safezone.campaign import coverage, service
from safezone.campaign.demo import FIELD_COMMUNES, REPORTER, REPORTER_ORG, seed_campaign_demo
from safezone.campaign.models import AdoptionFigure, Organisation, OrganisationReport
from safezone.db.engine import Database
from tests.conftest import MakeUser

TODAY = dt.date(2026, 11, 30)


def test_demo_loads_once_and_shows_every_dashboard_something(
    db: Database, make_user: MakeUser
) -> None:
    make_user(REPORTER, "org_reporter", "555")
    make_user("admin", "admin", "54")
    with db.session() as session:
        seed_campaign_demo(session, today=TODAY)
    with db.session() as session:
        counted = [
            session.scalar(select(func.count()).select_from(table))
            for table in (AdoptionFigure, Organisation, OrganisationReport)
        ]
        seed_campaign_demo(session, today=TODAY)
        session.flush()
        again = [
            session.scalar(select(func.count()).select_from(table))
            for table in (AdoptionFigure, Organisation, OrganisationReport)
        ]
    assert counted == again
    assert all(counted)
    with db.session() as session:
        city = coverage.unit_coverage(session, "555", "ncovi", as_of=TODAY)
        assert city.installs > 0
        assert city.target_share == 0.6
        assert city.behind
        field = coverage.unit_coverage(session, FIELD_COMMUNES[0], "ncovi", as_of=TODAY)
        assert field.source == "none"  # the door-to-door demo fills these two
        reporter = session.scalars(select(service.User).where(service.User.username == REPORTER))
        orgs = service.organisations_for(session, reporter.one())
        assert [o.code for o in orgs] == [REPORTER_ORG]
        trend = coverage.trend(session, "555", "ncovi", days=15, as_of=TODAY)
        assert trend[0][1] < trend[-1][1]
