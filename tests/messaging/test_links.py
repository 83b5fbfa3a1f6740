"""Install-confirmation links: what a stranger learns or changes through /i/{token}.

A link opens only with its exact token, for one contact and one app, until it expires;
unknown, malformed and expired tokens get the same answer. The page shows no personal data,
is never cached, and the button stops exactly that contact's reminders about that app.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts.service import Scope
from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.messaging import delivery, links, planner, service
from safezone.messaging.base import Policy
from safezone.messaging.models import Contact, ContactApp, Link, Message, SendCampaign
from tests.messaging.conftest import MakeCampaign, MakeContact, phone

HTML = {"Accept": "text/html"}


@pytest.fixture
def planned(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> dict[str, int]:
    """Two contacts (one speaks English), a campaign with reminders planned from today."""
    first = make_contact(1)
    second = make_contact(2, language="en")
    today = utcnow().astimezone(policy.zone).date()
    campaign_id = make_campaign(starts_on=today, max_sends=3, interval_days=1)
    with db.session() as session:
        planner.plan(session, session.get_one(SendCampaign, campaign_id), policy)
    return {"first": first, "second": second, "campaign": campaign_id}


def _render(db: Database, policy: Policy, contact_id: int) -> delivery.Rendered:
    with db.session() as session:
        message = session.scalars(
            select(Message).where(Message.contact_id == contact_id).order_by(Message.step)
        ).first()
        assert message is not None
        return delivery.render_message(session, policy, message)


def _token(text: str) -> str:
    match = re.search(r"/i/([A-Za-z0-9_-]{22})", text)
    assert match, text
    return match.group(1)


def test_rendered_message_carries_a_stable_personal_link(
    db: Database, policy: Policy, planned: dict[str, int]
) -> None:
    first = _render(db, policy, planned["first"])
    assert first.phone == phone(1)
    assert first.text.startswith("Hãy cài Bluezone")
    assert first.encoding == "UCS-2"
    again = _render(db, policy, planned["first"])
    assert _token(again.text) == _token(first.text)  # a retry sends the same link
    english = _render(db, policy, planned["second"])
    assert english.text.startswith("Please install Bluezone")
    assert _token(english.text) != _token(first.text)
    with db.session() as session:
        stored = session.scalars(select(Link)).all()
        assert len(stored) == 2
        assert all(_token(first.text) not in link.token_hash for link in stored)


def test_the_page_speaks_the_contacts_language_and_shows_nothing_personal(
    client: TestClient, db: Database, policy: Policy, planned: dict[str, int]
) -> None:
    token = _token(_render(db, policy, planned["second"]).text)
    page = client.get(f"/i/{token}", headers=HTML)
    assert page.status_code == 200
    assert 'lang="en"' in page.text
    assert "I have installed it" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    for secret in (phone(2), phone(2)[3:], "22015", "Phường"):
        assert secret not in page.text
    vi_token = _token(_render(db, policy, planned["first"]).text)
    assert 'lang="vi"' in client.get(f"/i/{vi_token}", headers=HTML).text


def test_the_button_confirms_once_and_stops_only_that_contacts_reminders(
    client: TestClient, db: Database, policy: Policy, planned: dict[str, int]
) -> None:
    token = _token(_render(db, policy, planned["first"]).text)
    client.get(f"/i/{token}", headers=HTML)
    answer = client.post(f"/i/{token}", headers=HTML)
    assert answer.status_code == 200
    assert 'data-testid="confirmed"' in answer.text
    assert client.post(f"/i/{token}", headers=HTML).status_code == 200  # twice is once
    with db.session() as session:
        apps = session.scalars(select(ContactApp)).all()
        assert [(a.contact_id, a.app_code, a.source) for a in apps] == [
            (planned["first"], "bluezone", "link")
        ]
        rows = session.execute(select(Message.contact_id, Message.status).where(Message.step == 2))
        statuses = {row.contact_id: row.status for row in rows}
        assert statuses == {planned["first"]: "cancelled", planned["second"]: "queued"}
        link = session.scalars(select(Link).where(Link.contact_id == planned["first"])).one()
        assert link.clicked_at is not None
        assert link.confirmed_at is not None
        # The funnel counts the click and the confirmation.
        totals = service.totals(service.funnel(session, Scope("54", "54/")))
        assert totals[3:] == [1, 1]


@pytest.mark.parametrize(
    "token",
    ["AAAAAAAAAAAAAAAAAAAAAA", "short", "x" * 200, "..%2F..%2Fetc", "AAAAAAAAAAAAAAAAAAAAA!"],
)
def test_a_stranger_with_a_made_up_token_gets_nothing(
    client: TestClient, db: Database, planned: dict[str, int], token: str
) -> None:
    page = client.get(f"/i/{token}", headers=HTML)
    assert page.status_code == 404
    assert client.post(f"/i/{token}", headers=HTML).status_code == 404
    with db.session() as session:
        assert session.scalars(select(ContactApp)).all() == []


def test_expired_looks_exactly_like_unknown(
    client: TestClient, db: Database, policy: Policy, planned: dict[str, int]
) -> None:
    token = _token(_render(db, policy, planned["first"]).text)
    with db.session() as session:
        for link in session.scalars(select(Link)):
            link.expires_at = utcnow() - dt.timedelta(seconds=1)
    expired = client.get(f"/i/{token}", headers=HTML)
    unknown = client.get("/i/AAAAAAAAAAAAAAAAAAAAAA", headers=HTML)
    assert expired.status_code == unknown.status_code == 404
    assert expired.text == unknown.text
    assert client.post(f"/i/{token}", headers=HTML).status_code == 404
    with db.session() as session:
        contact = session.scalars(select(Contact).where(Contact.id == planned["first"])).one()
        assert contact.status == "active"
        assert session.scalars(select(ContactApp)).all() == []


def test_a_link_not_tied_to_a_message(
    db: Database, policy: Policy, make_contact: MakeContact
) -> None:
    contact_id = make_contact(5)
    with db.session() as session:
        token = links.create_link(session, policy, session.get_one(Contact, contact_id), "ncovi")
    with db.session() as session:
        assert links.open_link(session, token).app_code == "ncovi"
        assert links.confirm(session, token).confirmed


def test_the_readers_own_choice_of_language_wins(
    client: TestClient, db: Database, policy: Policy, planned: dict[str, int]
) -> None:
    token = _token(_render(db, policy, planned["second"]).text)  # an English speaker
    assert 'lang="vi"' in client.get(f"/i/{token}?lang=vi", headers=HTML).text
    client.cookies.set("lang", "vi")
    assert 'lang="vi"' in client.get(f"/i/{token}", headers=HTML).text
