"""Organisation reports and compliance; the reporter sees only their own organisation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from safezone.accounts.models import AuditEvent
from safezone.campaign import service
from safezone.campaign.models import Organisation, OrganisationReport
from safezone.db.engine import Database
from safezone.errors import InvalidInput, NotFound
from tests.conftest import MakeUser

TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def orgs(db: Database) -> dict[str, int]:
    data = (
        "code,name,kind,unit_code,headcount,report_every_days\n"
        "AG,Sở A,agency,555,100,7\nSC,Trường B,school,22015,50,7\n"
        "EN,Công ty C,enterprise,22052,200,14\n"
    )
    with db.session() as session:
        service.import_organisations(session, data.encode())
        return {o.code: o.id for o in session.scalars(select(Organisation))}


def test_reports_are_idempotent_validated_and_audited(
    db: Database, make_user: MakeUser, orgs: dict[str, int]
) -> None:
    make_user("rep", "org_reporter", "555")
    with db.session() as session:
        service.bind_reporter(session, username="rep", organisation_code="AG")
    with db.session() as session:
        user = session.scalars(select(service.User).where(service.User.username == "rep")).one()
        args = {"organisation_id": orgs["AG"], "app_code": "ncovi", "as_of": TODAY, "today": TODAY}
        _, changed = service.submit_report(session, user, headcount=100, installs=70, **args)
        assert changed
        _, changed = service.submit_report(session, user, headcount=100, installs=70, **args)
        assert not changed
        _, changed = service.submit_report(session, user, headcount=100, installs=90, **args)
        assert changed
        with pytest.raises(InvalidInput) as caught:
            service.submit_report(session, user, headcount=10, installs=11, **args)
        assert caught.value.errors[0].field == "installs"
        with pytest.raises(InvalidInput):
            service.submit_report(
                session,
                user,
                headcount=10,
                installs=1,
                **{**args, "as_of": TODAY + dt.timedelta(days=1)},
            )
        with pytest.raises(NotFound):
            service.submit_report(
                session, user, headcount=10, installs=1, **{**args, "organisation_id": orgs["SC"]}
            )
        assert [o.code for o in service.organisations_for(session, user)] == ["AG"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OrganisationReport)) == 1
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "campaign.org_report.submit")
        ).all()
        assert len(audits) == 2
        assert audits[1].detail["before"] == {"headcount": 100, "installs": 70}


def test_compliance_flags_overdue_and_below_target(
    db: Database, make_user: MakeUser, orgs: dict[str, int]
) -> None:
    officer = make_user("canbo", "campaign_officer", "555")
    with db.session() as session:
        user = session.get(service.User, officer.id)
        assert user is not None
        service.submit_report(
            session,
            user,
            organisation_id=orgs["AG"],
            app_code="ncovi",
            as_of=TODAY - dt.timedelta(days=2),
            headcount=100,
            installs=100,
            today=TODAY,
        )
        service.submit_report(
            session,
            user,
            organisation_id=orgs["SC"],
            app_code="ncovi",
            as_of=TODAY - dt.timedelta(days=9),
            headcount=50,
            installs=40,
            today=TODAY,
        )
        rows = {c.code: c for c in service.compliance(session, user, "ncovi", as_of=TODAY)}
    # The Sông Cầu enterprise lies outside Tuy Hoà's scope.
    assert set(rows) == {"AG", "SC"}
    assert (rows["AG"].overdue, rows["AG"].below_target) == (False, False)
    assert (rows["SC"].overdue, rows["SC"].below_target) == (True, True)
    assert rows["SC"].share == pytest.approx(0.8)
    assert rows["SC"].target_share == 1.0


def test_targets_inherit_and_are_audited(db: Database, make_user: MakeUser) -> None:
    from safezone.accounts.service import Scope
    from safezone.campaign import coverage
    from safezone.units.models import Unit

    officer = make_user("canbo", "campaign_officer", "555")
    with db.session() as session:
        user = session.get(service.User, officer.id)
        assert user is not None
        scope = Scope.of(user)
        service.set_target(
            session,
            scope,
            unit_code="555",
            app_code="bluezone",
            share=0.5,
            base="smartphone_users",
            actor=user,
        )
        service.set_target(
            session, scope, unit_code="22015", app_code="bluezone", share=0.9, actor=user
        )
        with pytest.raises(NotFound):
            service.set_target(session, scope, unit_code="54", app_code="bluezone", share=0.5)
        with pytest.raises(InvalidInput):
            service.set_target(session, scope, unit_code="555", app_code="bluezone", share=1.5)
        own = coverage.unit_coverage(session, "22015", "bluezone")
        inherited = coverage.unit_coverage(session, "22021", "bluezone")
        assert (own.target_share, own.target_base) == (0.9, "population")
        assert (inherited.target_share, inherited.target_base) == (0.5, "smartphone_users")
        service.delete_target(session, scope, unit_code="22015", app_code="bluezone", actor=user)
        assert coverage.unit_coverage(session, "22015", "bluezone").target_share == 0.5
        assert session.get(Unit, "22015") is not None
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("campaign.target.%"))
        ).all()
        assert actions == ["campaign.target.set", "campaign.target.set", "campaign.target.delete"]
