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
    PassVerifier,
    holder_initials,
    keys_for,
)

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
NOW = dt.datetime(2026, 11, 28, 8, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(hours=24)
SERIAL = bytes(range(16))
codec = PassCodec([KEY_A])


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
    token = keys.passes.issue(SERIAL, NOW, DAY, "low")
    with pytest.raises(InvalidPass, match="unknown_key"):
        other.passes.verify(token, now=NOW)


serials = st.binary(min_size=16, max_size=16)
moments = st.datetimes(
    min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
).map(lambda moment: moment.replace(microsecond=0))
lifetimes = st.integers(min_value=1, max_value=72).map(lambda hours: dt.timedelta(hours=hours))
risks = st.sampled_from(RISKS)
years = st.one_of(st.none(), st.integers(min_value=1900, max_value=2100))


@settings(max_examples=200)
@given(serials, moments, lifetimes, risks, st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=4), years)
def test_pass_round_trip(
    serial: bytes,
    issued: dt.datetime,
    lifetime: dt.timedelta,
    risk: str,
    initials: str,
    year: int | None,
) -> None:
    token = codec.issue(serial, issued, lifetime, risk, initials=initials, birth_year=year)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == PASS_BYTES
    info = codec.verify(token, now=issued)
    assert (info.serial, info.issued_at, info.risk) == (serial.hex(), issued, risk)
    assert (info.initials, info.birth_year) == (initials, year)
    assert info.expires_at == issued + lifetime
    assert codec.verify(token, now=info.expires_at - dt.timedelta(seconds=1)).serial == serial.hex()
    with pytest.raises(InvalidPass, match="expired"):
        codec.verify(token, now=info.expires_at)
    # The same arguments give the same token: a page can show it again without new state.
    assert codec.issue(serial, issued, lifetime, risk, initials=initials, birth_year=year) == token


@settings(max_examples=300)
@given(serials, risks, st.data())
def test_any_changed_character_is_rejected(serial: bytes, risk: str, data) -> None:  # type: ignore[no-untyped-def]
    token = codec.issue(serial, NOW, DAY, risk, initials="NVA", birth_year=1990)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = data.draw(st.sampled_from(alphabet).filter(lambda c: c != token[position]))
    tampered = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(InvalidPass):
        codec.verify(tampered, now=NOW)


@given(serials, st.integers(min_value=1, max_value=130))
def test_truncated_or_extended_tokens_are_rejected(serial: bytes, cut: int) -> None:
    token = codec.issue(serial, NOW, DAY, "high")
    with pytest.raises(InvalidPass, match="malformed"):
        codec.verify(token[:-cut], now=NOW)
    with pytest.raises(InvalidPass, match="malformed"):
        codec.verify(token + "AAAA"[: cut % 4 or 4], now=NOW)


@given(st.text(max_size=300))
def test_arbitrary_text_never_verifies_and_never_crashes(text: str) -> None:
    with pytest.raises(InvalidPass):
        codec.verify(text, now=NOW)


def test_expired_and_not_yet_valid() -> None:
    token = codec.issue(SERIAL, NOW, DAY, "low")
    assert codec.verify(token, now=NOW + DAY - dt.timedelta(minutes=1)).risk == "low"
    with pytest.raises(InvalidPass, match="expired"):
        codec.verify(token, now=NOW + DAY)
    # a checkpoint clock a few minutes behind still accepts a fresh pass; an hour is too much
    assert codec.verify(token, now=NOW - dt.timedelta(minutes=4)).risk == "low"
    with pytest.raises(InvalidPass, match="not_yet_valid"):
        codec.verify(token, now=NOW - dt.timedelta(hours=1))


def _resigned(payload: bytes, context: bytes = b"") -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signature = Ed25519PrivateKey.from_private_bytes(KEY_A).sign(context + payload)
    return base64.urlsafe_b64encode(payload + signature).decode().rstrip("=")


def test_unknown_version_is_rejected_even_with_a_valid_signature() -> None:
    raw = bytearray(base64.urlsafe_b64decode(codec.issue(SERIAL, NOW, DAY, "low") + "=="))
    raw[0] = 3
    token = _resigned(bytes(raw[:34]), b"safezone/declarations/pass/v2\x00")
    with pytest.raises(InvalidPass, match="unsupported_version"):
        codec.verify(token, now=NOW)


def test_version_1_passes_are_refused_with_their_own_reason() -> None:
    import struct

    # The retired layout: version 1, key id, declaration id, issue day, valid days, risk.
    key_id = base64.urlsafe_b64decode(codec.issue(SERIAL, NOW, DAY, "low") + "==")[1:5]
    v1 = _resigned(struct.pack(">B4sQIHB", 1, key_id, 42, 20_785, 1, 0))
    assert len(v1) == 112
    with pytest.raises(InvalidPass, match="outdated_version"):
        codec.verify(v1, now=NOW)


def test_rotation_keeps_old_passes_valid() -> None:
    old_token = codec.issue(SERIAL, NOW, DAY, "medium")
    rotated = PassCodec([KEY_B, KEY_A])
    assert rotated.verify(old_token, now=NOW).risk == "medium"
    assert rotated.public_keys[0] != codec.public_keys[0]
    with pytest.raises(InvalidPass, match="unknown_key"):
        codec.verify(rotated.issue(SERIAL, NOW, DAY, "medium"), now=NOW)


def test_public_keys_alone_verify_but_cannot_issue() -> None:
    verifier = PassVerifier(codec.public_keys)
    token = codec.issue(SERIAL, NOW, DAY, "high", initials="TTH", birth_year=1985)
    assert verifier.verify(token, now=NOW).initials == "TTH"
    assert not hasattr(verifier, "issue")


def test_pass_holds_only_initials_and_birth_year_of_the_holder() -> None:
    token = codec.issue(SERIAL, NOW, DAY, "high", initials="NVA", birth_year=1990)
    raw = base64.urlsafe_b64decode(token + "==")
    assert len(raw) == PASS_BYTES == 98  # serial, times, risk, 4 initials, year, signature
    assert b"NVA" in raw
    assert b"Nguy" not in raw


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("Nguyễn Văn Ánh", "NVA"),
        ("đặng thị ơn", "DTO"),
        ("Trần  Hưng   Đạo", "THD"),
        ("Tôn Nữ Thị Ngọc Hân", "TNTN"),  # at most four
        ("", ""),
        ("  ", ""),
        ("1 Ω", ""),  # no Latin letter to show
    ],
)
def test_holder_initials(name: str, initials: str) -> None:
    assert holder_initials(name) == initials


def test_revocation_lists_are_signed_and_bound_to_their_purpose() -> None:
    listing = {"format": "safezone-pass-revocations/1", "revoked": [{"serial": "ab", "expires": 9}]}
    document = codec.sign_revocations(listing)
    verifier = PassVerifier(codec.public_keys)
    assert verifier.verify_revocations(document) == listing
    forged = {**document, "list": {**listing, "revoked": []}}  # someone unlists a pass
    with pytest.raises(InvalidPass, match="bad_signature"):
        verifier.verify_revocations(forged)
    with pytest.raises(InvalidPass, match="unknown_key"):
        PassVerifier(PassCodec([KEY_B]).public_keys).verify_revocations(document)
    with pytest.raises(InvalidPass, match="malformed"):
        verifier.verify_revocations({"list": "x"})
    # a pass signature is never accepted as a list signature (separate signed contexts)
    token = codec.issue(SERIAL, NOW, DAY, "low")
    raw = base64.urlsafe_b64decode(token + "==")
    borrowed = {**document, "signature": base64.urlsafe_b64encode(raw[-64:]).decode().rstrip("=")}
    with pytest.raises(InvalidPass, match="bad_signature"):
        verifier.verify_revocations(borrowed)
