"""Field encryption, blind index and the QR pass codec (properties checked with hypothesis)."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from safezone.config import Settings
from safezone.declarations.crypto import (
    PASS_BYTES,
    RISKS,
    BlindIndex,
    DecryptionFailed,
    FieldCipher,
    InvalidPass,
    PassCodec,
    keys_for,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
TODAY = dt.date(2026, 11, 28)
codec = PassCodec([KEY_A])

ids = st.integers(min_value=0, max_value=2**63 - 1)
days = st.dates(min_value=dt.date(1970, 1, 1), max_value=dt.date(2100, 1, 1))
risks = st.sampled_from(RISKS)
validity = st.integers(min_value=0, max_value=30)


def test_cipher_round_trip_and_fresh_nonce() -> None:
    cipher = FieldCipher([KEY_A])
    first = cipher.encrypt("Nguyễn Văn An", field="full_name")
    second = cipher.encrypt("Nguyễn Văn An", field="full_name")
    assert first != second  # a fresh nonce each time: equal names do not look equal
    assert cipher.decrypt(first, field="full_name") == "Nguyễn Văn An"
    assert "Nguyễn".encode() not in first


def test_cipher_binds_the_field_name() -> None:
    cipher = FieldCipher([KEY_A])
    sealed = cipher.encrypt("0905123456", field="phone")
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(sealed, field="id_number")


@pytest.mark.parametrize("position", [0, 1, 5, 17, -1])
def test_cipher_rejects_any_changed_byte(position: int) -> None:
    cipher = FieldCipher([KEY_A])
    sealed = bytearray(cipher.encrypt("12 Trần Hưng Đạo", field="street"))
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionFailed):
        cipher.decrypt(bytes(sealed), field="street")


def test_cipher_rotation_reads_old_keys_and_writes_the_new_one() -> None:
    old = FieldCipher([KEY_A])
    sealed = old.encrypt("secret", field="x")
    rotated = FieldCipher([KEY_B, KEY_A])
    assert rotated.decrypt(sealed, field="x") == "secret"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.encrypt("secret", field="x"))
    with pytest.raises(DecryptionFailed):
        FieldCipher([KEY_B]).decrypt(sealed, field="x")


def test_blind_index_is_deterministic_and_separates_kinds() -> None:
    index = BlindIndex([KEY_A])
    assert index.digest("phone", "+84905123456") == index.digest("phone", "+84905123456")
    assert index.digest("phone", "+84905123456") != index.digest("phone", "+84905123457")
    assert index.digest("phone", "1") != index.digest("id_number", "1")
    assert BlindIndex([KEY_B]).digest("phone", "1") != index.digest("phone", "1")
    rotated = BlindIndex([KEY_B, KEY_A])
    assert index.digest("phone", "1") in rotated.candidates("phone", "1")


def test_keys_are_derived_per_purpose_and_per_secret(settings: Settings) -> None:
    keys = keys_for(settings)
    other = keys_for(settings.model_copy(update={"secret_key": SecretStr("another-secret-" * 4)}))
    assert keys.index.digest("phone", "1") != other.index.digest("phone", "1")
    token = keys.passes.issue(1, TODAY, "low", 1)
    with pytest.raises(InvalidPass, match="unknown_key"):
        other.passes.verify(token, today=TODAY)


@settings(max_examples=200)
@given(ids, days, risks, validity)
def test_pass_round_trip(declaration_id: int, issued: dt.date, risk: str, valid: int) -> None:
    token = codec.issue(declaration_id, issued, risk, valid)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == PASS_BYTES
    info = codec.verify(token, today=issued)
    assert (info.declaration_id, info.issued, info.risk) == (declaration_id, issued, risk)
    assert info.expires == issued + dt.timedelta(days=valid)
    assert codec.verify(token, today=info.expires).declaration_id == declaration_id


@settings(max_examples=300)
@given(ids, risks, st.data())
def test_any_changed_character_is_rejected(declaration_id: int, risk: str, data) -> None:  # type: ignore[no-untyped-def]
    token = codec.issue(declaration_id, TODAY, risk, 1)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[position]))
    tampered = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(InvalidPass):
        codec.verify(tampered, today=TODAY)


@given(ids, st.integers(min_value=1, max_value=111))
def test_truncated_or_extended_tokens_are_rejected(declaration_id: int, cut: int) -> None:
    token = codec.issue(declaration_id, TODAY, "high", 1)
    with pytest.raises(InvalidPass, match="malformed"):
        codec.verify(token[:-cut], today=TODAY)
    with pytest.raises(InvalidPass, match="malformed"):
        codec.verify(token + "AAAA"[: cut % 4 or 4], today=TODAY)


@given(st.text(max_size=300))
def test_arbitrary_text_never_verifies_and_never_crashes(text: str) -> None:
    with pytest.raises(InvalidPass):
        codec.verify(text, today=TODAY)


def test_expired_and_not_yet_valid() -> None:
    token = codec.issue(7, TODAY, "low", 1)
    assert codec.verify(token, today=TODAY + dt.timedelta(days=1)).declaration_id == 7
    with pytest.raises(InvalidPass, match="expired"):
        codec.verify(token, today=TODAY + dt.timedelta(days=2))
    with pytest.raises(InvalidPass, match="not_yet_valid"):
        codec.verify(token, today=TODAY - dt.timedelta(days=1))


def test_unknown_version_is_rejected_even_with_a_valid_signature() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    token = codec.issue(7, TODAY, "low", 1)
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[0] = 2
    payload = bytes(raw[:20])
    signed = payload + Ed25519PrivateKey.from_private_bytes(KEY_A).sign(payload)
    with pytest.raises(InvalidPass, match="unsupported_version"):
        codec.verify(base64.urlsafe_b64encode(signed).decode(), today=TODAY)


def test_rotation_keeps_old_passes_valid() -> None:
    old_token = codec.issue(9, TODAY, "medium", 1)
    rotated = PassCodec([KEY_B, KEY_A])
    assert rotated.verify(old_token, today=TODAY).risk == "medium"
    assert rotated.public_keys[0] != codec.public_keys[0]
    with pytest.raises(InvalidPass, match="unknown_key"):
        codec.verify(rotated.issue(9, TODAY, "medium", 1), today=TODAY)


def test_pass_holds_no_personal_data() -> None:
    token = codec.issue(123, TODAY, "high", 1)
    raw = base64.urlsafe_b64decode(token)
    assert len(raw) == PASS_BYTES == 84  # id, dates, risk and signature: no room for a name
