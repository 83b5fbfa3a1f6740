"""Contacts: upsert with consent, dedup by number, encryption, opt-out, installs, hooks."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.errors import InvalidInput
from safezone.messaging import contacts, hooks, planner
from safezone.messaging.base import Policy, vault_for
from safezone.messaging.models import Contact, ContactApp, Message, SendCampaign
from tests.messaging.conftest import (
    COMMUNE,
    CONSENT,
    MORNING,
    OTHER_COMMUNE_SAME_DISTRICT,
    MakeCampaign,
    MakeContact,
    get_contact,
    phone,
)


def test_phone_is_encrypted_and_found_by_blind_index(
    db: Database, policy: Policy, make_contact: MakeContact
) -> None:
    contact_id = make_contact(1)
    with db.session() as session:
        raw = session.execute(
            text("SELECT phone_enc, phone_index FROM msg_contacts WHERE id = :id"),
            {"id": contact_id},
        ).one()
        assert b"98" not in bytes(raw[0])[-12:]  # not stored in clear
        assert phone(1) not in raw[1]
        found = contacts.find(session, policy.vault, phone(1))
        assert found is not None
        assert found.id == contact_id
        assert contacts.phone_of(policy.vault, found) == phone(1)
        assert found.carrier == "viettel"


def test_dedup_by_number_in_any_form(db: Database, policy: Policy) -> None:
    with db.session() as session:
        first, created = contacts.upsert_contact(
            session, "0905123456", COMMUNE, "vi", "visit", CONSENT, "v1", vault=policy.vault
        )
        second, created_again = contacts.upsert_contact(
            session,
            "+84 905 123 456",
            OTHER_COMMUNE_SAME_DISTRICT,
            "en",
            "declaration",
            CONSENT + dt.timedelta(days=1),
            "citizen",
            vault=policy.vault,
        )
        assert created
        assert not created_again
        assert first.id == second.id
        assert second.unit_code == OTHER_COMMUNE_SAME_DISTRICT
        assert second.language == "en"
        assert second.consent_by == "citizen"
        assert second.source == "visit"  # the origin stays
        assert session.scalar(select(Contact.id).where(Contact.id != first.id)) is None


def test_bad_input_names_every_field_and_stores_nothing(db: Database, policy: Policy) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        contacts.upsert_contact(
            session,
            "12",
            "99999",
            "fr",
            "rumour",
            MORNING + dt.timedelta(days=3),
            None,
            vault=policy.vault,
            now=MORNING,
        )
    fields = {error.field for error in caught.value.errors}
    assert fields == {"phone", "unit_code", "language", "source", "consent_at"}
    with db.session() as session:
        assert session.scalar(select(Contact.id)) is None


def _queue(session: Session, campaign_id: int, policy: Policy) -> None:
    campaign = session.get_one(SendCampaign, campaign_id)
    planner.plan(session, campaign, policy, now=MORNING)


def test_opt_out_is_immediate_and_cancels_queued_messages(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    contact_id = make_contact(1)
    other_id = make_contact(2)
    campaign_id = make_campaign(max_sends=3, interval_days=1)
    with db.session() as session:
        _queue(session, campaign_id, policy)
    with db.session() as session:
        contacts.opt_out(session, phone(1), "mo:TU CHOI", vault=policy.vault, now=MORNING)
    with db.session() as session:
        mine = session.scalars(select(Message).where(Message.contact_id == contact_id)).all()
        theirs = session.scalars(select(Message).where(Message.contact_id == other_id)).all()
        assert len(mine) == 3
        assert {m.status for m in mine} == {"cancelled"}
        assert {m.reason for m in mine} == {"opted_out"}
        assert {m.status for m in theirs} == {"queued"}
        # The planner writes nothing more for them.
        _queue(session, campaign_id, policy)
    assert get_contact(db, contact_id).status == "opted_out"
    assert get_contact(db, contact_id).opt_out_source == "mo:TU CHOI"


def test_an_import_never_reactivates_but_a_new_visit_consent_does(
    db: Database, policy: Policy, make_contact: MakeContact
) -> None:
    contact_id = make_contact(1)
    with db.session() as session:
        contacts.opt_out(session, phone(1), "mo:STOP", vault=policy.vault, now=MORNING)
    later = MORNING + dt.timedelta(days=1)
    with db.session() as session:
        contacts.upsert_contact(
            session, phone(1), COMMUNE, "vi", "import", later, "x", vault=policy.vault, now=later
        )
    assert get_contact(db, contact_id).status == "opted_out"
    with db.session() as session:
        contacts.upsert_contact(
            session, phone(1), COMMUNE, "vi", "visit", later, "v2", vault=policy.vault, now=later
        )
    assert get_contact(db, contact_id).status == "active"


def test_mark_installed_stops_reminders_about_that_app_and_tells_the_hooks(
    db: Database, policy: Policy, make_contact: MakeContact, make_campaign: MakeCampaign
) -> None:
    contact_id = make_contact(1)
    campaign_id = make_campaign(max_sends=3, interval_days=1)
    heard: list[hooks.Installed] = []

    def hear(session: Session, event: hooks.Installed) -> None:
        heard.append(event)

    hooks.on_installed(hear)
    try:
        with db.session() as session:
            _queue(session, campaign_id, policy)
        with db.session() as session:
            assert contacts.mark_installed(
                session, "0980000001", "bluezone", "visit", vault=policy.vault, now=MORNING
            )
            # Twice is once.
            contacts.mark_installed(
                session, phone(1), "bluezone", "link", vault=policy.vault, now=MORNING
            )
            assert (
                contacts.mark_installed(session, phone(99), "bluezone", "visit", vault=policy.vault)
                is None
            )
    finally:
        hooks.remove(hear)
    assert heard == [hooks.Installed(contact_id, COMMUNE, "bluezone", "visit")]
    with db.session() as session:
        rows = session.scalars(select(Message).where(Message.contact_id == contact_id)).all()
        assert {m.status for m in rows} == {"cancelled"}
        assert {m.reason for m in rows} == {"installed"}
        apps = session.scalars(select(ContactApp)).all()
        assert [(a.app_code, a.source) for a in apps] == [("bluezone", "visit")]


def test_rekey_moves_numbers_to_the_new_secret(
    db: Database, settings: Settings, make_contact: MakeContact
) -> None:
    from pydantic import SecretStr

    make_contact(1)
    make_contact(2)
    rotated = settings.model_copy(
        update={
            "secret_key": SecretStr("a-brand-new-secret-key-that-is-long-enough-42"),
            "previous_secret_keys": [settings.secret_key],
        }
    )
    with db.session() as session:
        # Found under the previous key while the rotation is under way.
        assert contacts.find(session, vault_for(rotated), phone(1)) is not None
        assert contacts.rekey(session, rotated) == 2
    with db.session() as session:
        assert contacts.rekey(session, rotated) == 0
    current_only = rotated.model_copy(update={"previous_secret_keys": []})
    with db.session() as session:
        found = contacts.find(session, vault_for(current_only), phone(2))
        assert found is not None
        assert contacts.phone_of(vault_for(current_only), found) == phone(2)
