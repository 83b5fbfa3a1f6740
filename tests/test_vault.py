"""The generic vault: declared personal attributes sealed, opened, indexed, re-sealed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from safezone.keyring import KeyRing
from safezone.vault import DecryptionFailed, Personal, Vault, personal_fields

LABELS = {"encryption_label": "test/enc", "index_label": "test/index"}


@dataclass
class Contact:
    """A stand-in for an ORM row: the vault only needs attributes."""

    __personal__: ClassVar[tuple[Personal, ...]] = (
        Personal("phone", "phone_enc", index="phone_index"),
        Personal("note", "note_enc"),
        Personal("places", "places_enc", kind="json", legacy="places", legacy_blank=[]),
    )
    phone_enc: bytes | None = None
    phone_index: str | None = None
    note_enc: bytes | None = None
    places_enc: bytes | None = None
    places: Any = None


def vault(*secrets: bytes) -> Vault:
    return Vault.from_ring(KeyRing(secrets[0], secrets[1:]), **LABELS)


def test_seal_and_open_round_trip_with_blind_index() -> None:
    box = vault(b"one-secret")
    contact = Contact()
    box.seal(contact, phone="+84905123456", note=None, places=[{"place": "Huế"}])
    assert contact.phone_enc is not None
    assert b"84905123456" not in contact.phone_enc
    assert contact.note_enc is None
    assert contact.phone_index == box.digest("phone", "+84905123456")
    assert box.open(contact) == {
        "phone": "+84905123456",
        "note": None,
        "places": [{"place": "Huế"}],
    }
    assert set(personal_fields(Contact)) == {"phone", "note", "places"}


def test_a_ciphertext_moved_to_another_field_does_not_open() -> None:
    box = vault(b"one-secret")
    contact = Contact()
    box.seal(contact, phone="+84905123456")
    contact.note_enc = contact.phone_enc
    with pytest.raises(DecryptionFailed):
        box.get(contact, "note")


def test_an_undeclared_field_is_refused_rather_than_stored() -> None:
    with pytest.raises(KeyError):
        vault(b"one-secret").seal(Contact(), email="a@example.com")


def test_reseal_moves_rows_to_the_current_key_and_seals_legacy_plaintext() -> None:
    old = vault(b"old-secret")
    contact = Contact(places=[{"place": "Chợ cũ"}])
    old.seal(contact, phone="+84905123456")
    rotated = vault(b"new-secret", b"old-secret")
    assert rotated.get(contact, "places") == [{"place": "Chợ cũ"}]  # legacy read
    assert rotated.reseal(contact)
    assert contact.places == []
    assert contact.phone_index == rotated.digest("phone", "+84905123456")
    new_only = vault(b"new-secret")
    assert new_only.open(contact)["phone"] == "+84905123456"
    assert new_only.open(contact)["places"] == [{"place": "Chợ cũ"}]
    assert not rotated.reseal(contact)  # idempotent
