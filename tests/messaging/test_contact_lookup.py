"""Staff find one contact by number and stop its messages (a citizen asked on the hotline).

What an attacker tries: numbers outside their units look exactly like unknown numbers, the
number never travels in a URL, other roles get nothing, and every hit is an audited read."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.accounts.models import AuditEvent
from safezone.db.engine import Database
from safezone.messaging import planner
from safezone.messaging.base import Policy
from safezone.messaging.models import Message, SendCampaign
from tests.conftest import MakeUser, csrf_from, login

from .conftest import (
    COMMUNE,
    DISTRICT,
    MORNING,
    OTHER_DISTRICT_COMMUNE,
    MakeCampaign,
    MakeContact,
    get_contact,
)

HTML = {"Accept": "text/html"}


def _queue(db: Database, policy: Policy, campaign_id: int) -> None:
    with db.session() as session:
        planner.plan(session, session.get_one(SendCampaign, campaign_id), policy, now=MORNING)


def _statuses(db: Database, contact_id: int) -> list[str]:
    with db.read_session() as session:
        return sorted(
            session.scalars(select(Message.status).where(Message.contact_id == contact_id))
        )


def _reads(db: Database) -> list[tuple[str | None, str, str | None]]:
    with db.read_session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "contact").order_by(AuditEvent.id)
        )
        return [(event.actor, event.action, event.object_id) for event in events]


def test_officer_finds_a_number_in_any_form_and_stops_its_messages(
    client: TestClient,
    db: Database,
    policy: Policy,
    make_user: MakeUser,
    make_contact: MakeContact,
    make_campaign: MakeCampaign,
) -> None:
    mine = make_contact(1)
    neighbour = make_contact(2)
    _queue(db, policy, make_campaign(max_sends=3, interval_days=1))
    officer = make_user("canbo.tuyhoa", "campaign_officer", DISTRICT)
    csrf = login(client, officer.username)

    page = client.get("/messaging/contacts", headers=HTML)
    assert page.status_code == 200
    assert "Tìm một liên hệ" in page.text
    # The national form of +84980000001, with spaces, as a caller would read it out.
    found = client.post(
        "/messaging/contacts", data={"phone": "098 000 0001", "csrf_token": csrf}, headers=HTML
    )
    assert found.status_code == 200
    assert found.headers["cache-control"] == "no-store"
    assert 'data-testid="contact-card"' in found.text
    assert "Đang nhận nhắc nhở" in found.text
    assert "volunteer-7" in found.text  # who recorded the consent
    assert "Đang chờ gửi: 3" in found.text  # the course of its messages, never their text

    stopped = client.post(
        "/messaging/contacts/opt-out",
        data={"phone": "+84980000001", "csrf_token": csrf_from(found.text)},
        headers=HTML,
    )
    assert stopped.status_code == 200
    assert "đã hủy 3 tin đang chờ gửi" in stopped.text
    assert 'data-testid="contact-opt-out"' not in stopped.text  # nothing left to stop
    contact = get_contact(db, mine)
    assert contact.status == "opted_out"
    assert contact.opt_out_source == "staff:canbo.tuyhoa"
    assert _statuses(db, mine) == ["cancelled"] * 3
    assert _statuses(db, neighbour) == ["queued"] * 3  # only that number
    with db.read_session() as session:
        opt_outs = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.action == "opt_out")
        ).all()
    assert opt_outs == ["canbo.tuyhoa"]
    reads = _reads(db)
    assert reads[0] == ("canbo.tuyhoa", "read", str(mine))
    assert {action for _, action, _ in reads} == {"read", "opt_out"}


def test_a_number_outside_the_officers_units_looks_unknown_and_cannot_be_stopped(
    client: TestClient,
    db: Database,
    policy: Policy,
    make_user: MakeUser,
    make_contact: MakeContact,
    make_campaign: MakeCampaign,
) -> None:
    elsewhere = make_contact(5, unit=OTHER_DISTRICT_COMMUNE)
    officer = make_user("canbo.phuong1", "campaign_officer", COMMUNE)
    csrf = login(client, officer.username)

    unknown = client.post(
        "/messaging/contacts", data={"phone": "+84980000099", "csrf_token": csrf}, headers=HTML
    )
    outside = client.post(
        "/messaging/contacts", data={"phone": "+84980000005", "csrf_token": csrf}, headers=HTML
    )
    assert unknown.status_code == outside.status_code == 200
    for response in (unknown, outside):
        assert 'data-testid="contact-none"' in response.text
        assert 'data-testid="contact-card"' not in response.text
    attempt = client.post(
        "/messaging/contacts/opt-out",
        data={"phone": "+84980000005", "csrf_token": csrf},
        headers=HTML,
    )
    assert attempt.status_code == 404
    assert get_contact(db, elsewhere).status == "active"
    assert _reads(db) == []  # nothing was read, nothing is recorded


def test_bad_numbers_are_named_and_nothing_happens(
    client: TestClient, db: Database, make_user: MakeUser, make_contact: MakeContact
) -> None:
    make_contact(1)
    csrf = login(client, make_user("canbo", "campaign_officer", DISTRICT).username)
    for raw, words in (("12ab", "Không phải số điện thoại"), ("", "Thiếu số điện thoại")):
        response = client.post(
            "/messaging/contacts/opt-out", data={"phone": raw, "csrf_token": csrf}, headers=HTML
        )
        assert response.status_code == 422, raw
        assert words in response.text
        assert 'aria-invalid="true"' in response.text
    english = client.post(
        "/messaging/contacts?lang=en", data={"phone": "12ab", "csrf_token": csrf}, headers=HTML
    )
    assert "Not a phone number" in english.text


def test_other_roles_and_strangers_get_nothing(
    client: TestClient, db: Database, make_user: MakeUser, make_contact: MakeContact
) -> None:
    contact_id = make_contact(1)
    anonymous = client.post(
        "/messaging/contacts/opt-out", data={"phone": "+84980000001"}, headers=HTML
    )
    assert anonymous.status_code == 403  # no session, no CSRF token
    assert (
        client.get("/messaging/contacts", headers=HTML, follow_redirects=False).status_code == 303
    )
    for role in ("health_officer", "volunteer", "verifier"):
        with TestClient(client.app) as other:
            csrf = login(other, make_user(f"x.{role}", role, DISTRICT).username)
            for path in ("/messaging/contacts", "/messaging/contacts/opt-out"):
                response = other.post(
                    path, data={"phone": "+84980000001", "csrf_token": csrf}, headers=HTML
                )
                assert response.status_code == 403, (role, path)
                assert "volunteer-7" not in response.text
    assert get_contact(db, contact_id).status == "active"
    assert _reads(db) == []
