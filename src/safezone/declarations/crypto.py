"""What is cryptographic and specific to declarations: the vault's key labels and the QR pass.

Field encryption and blind indexes are the generic :mod:`safezone.vault`; this module only
names the declaration domain's keys and signs passes. The API follows pyca's style:
verification raises (never returns False), time comes in as an argument, and everything
serialised carries a version.

Keys come from the installation's key ring through HKDF with one label per purpose; older
secret keys stay usable for decryption and pass verification during a rotation.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from safezone.config import Settings
from safezone.keyring import KeyRing
from safezone.vault import BlindIndex, DecryptionFailed, FieldCipher, Vault, key_id

__all__ = [
    "BlindIndex",
    "DecryptionFailed",
    "FieldCipher",
    "InvalidPass",
    "Keys",
    "PassCodec",
    "PassInfo",
    "PassVerifier",
    "holder_initials",
    "keys_for",
]

#: HKDF labels: one per purpose, versioned so a future scheme gets independent keys.
ENCRYPTION_LABEL = "safezone/declarations/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/declarations/blind-index-hmac/v1"
PASS_SIGNING_LABEL = "safezone/declarations/pass-ed25519/v1"  # noqa: S105 - a label

#: Version 1 (declaration id, whole days, no holder hint) is retired: refused with a reason.
PASS_VERSION = 2
RETIRED_PASS_VERSIONS = frozenset({1})
RISKS: tuple[str, ...] = ("low", "medium", "high")  # index = the byte in a pass
SERIAL_SIZE = 16
INITIALS_SIZE = 4
# version, key id, serial, issued (Unix seconds), lifetime (minutes), risk, initials, birth year
_PASS_LAYOUT = struct.Struct(">B4s16sIHB4sH")
_SIGNATURE_SIZE = 64
PASS_BYTES = _PASS_LAYOUT.size + _SIGNATURE_SIZE  # 98
# Signed context labels: a pass signature can never pass for a list signature, or vice versa.
_PASS_CONTEXT = b"safezone/declarations/pass/v2\x00"
_REVOCATIONS_CONTEXT = b"safezone/declarations/pass-revocations/v1\x00"
REVOCATIONS_FORMAT = "safezone-pass-revocations/1"
CLOCK_SKEW = dt.timedelta(minutes=5)


class InvalidPass(Exception):
    """A pass token that must not be accepted; ``reason`` says why (a stable code)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _key_id(key: bytes) -> bytes:
    return key_id(key)


@dataclass(frozen=True, slots=True)
class PassInfo:
    """What a valid pass says: its serial, lifetime, risk and the holder's hint."""

    serial: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    risk: str
    initials: str
    birth_year: int | None


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    if len(text) % 4 == 1:
        raise InvalidPass("malformed")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidPass("malformed") from None
    if _b64encode(data) != text:  # one canonical spelling per token
        raise InvalidPass("malformed")
    return data


def holder_initials(full_name: str) -> str:
    """``"Nguyễn Văn Ánh"`` -> ``"NVA"``: the first letter of each word, without diacritics,
    at most four (what a checkpoint compares with an identity card)."""
    letters = []
    for word in full_name.split():
        first = word[0].replace("đ", "d").replace("Đ", "D")
        base = unicodedata.normalize("NFD", first)[0].upper()
        if "A" <= base <= "Z":
            letters.append(base)
    return "".join(letters[:INITIALS_SIZE])


def _canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


class PassVerifier:
    """Verify pass tokens and signed revocation lists with the public keys alone.

    This is what an offline checkpoint device holds: no secret, so losing it leaks nothing.
    """

    def __init__(self, public_keys: Sequence[bytes]) -> None:
        if not public_keys:
            raise ValueError("at least one key is required")
        self._verifiers = {
            _key_id(key): Ed25519PublicKey.from_public_bytes(key) for key in public_keys
        }

    @property
    def public_keys(self) -> list[bytes]:
        """The raw public keys (current first)."""
        return [
            key.public_bytes(Encoding.Raw, PublicFormat.Raw) for key in self._verifiers.values()
        ]

    def _check(self, key_id: bytes, signature: bytes, message: bytes) -> None:
        verifier = self._verifiers.get(key_id)
        if verifier is None:
            raise InvalidPass("unknown_key")
        try:
            verifier.verify(signature, message)
        except InvalidSignature:
            raise InvalidPass("bad_signature") from None

    def verify(self, token: str, *, now: dt.datetime) -> PassInfo:
        """Check format, signature and lifetime at ``now``; raises InvalidPass.

        Revocation is not checked here: see :meth:`verify_revocations` and the caller's list.
        """
        raw = _b64decode(token.strip())
        if not raw:
            raise InvalidPass("malformed")
        if raw[0] in RETIRED_PASS_VERSIONS:
            raise InvalidPass("outdated_version")
        if raw[0] != PASS_VERSION:
            raise InvalidPass("unsupported_version")
        if len(raw) != PASS_BYTES:
            raise InvalidPass("malformed")
        payload, signature = raw[: _PASS_LAYOUT.size], raw[_PASS_LAYOUT.size :]
        _, key_id, serial, issued, minutes, risk, initials, birth_year = _PASS_LAYOUT.unpack(
            payload
        )
        self._check(key_id, signature, _PASS_CONTEXT + payload)
        if risk >= len(RISKS):
            raise InvalidPass("malformed")  # signed by us, so only a future format gets here
        issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
        expires_at = issued_at + dt.timedelta(minutes=minutes)
        # A little slack for clocks of checkpoint devices running behind the server's.
        if now + CLOCK_SKEW < issued_at:
            raise InvalidPass("not_yet_valid")
        if now >= expires_at:
            raise InvalidPass("expired")
        return PassInfo(
            serial=serial.hex(),
            issued_at=issued_at,
            expires_at=expires_at,
            risk=RISKS[risk],
            initials=initials.rstrip(b"\x00").decode("ascii", "replace"),
            birth_year=birth_year or None,
        )

    def verify_revocations(self, document: Any) -> dict[str, Any]:
        """The list inside a signed revocation document; raises InvalidPass.

        ``document`` is the parsed JSON ``{"list": {...}, "key_id": hex, "signature": b64url}``.
        """
        if not isinstance(document, dict) or not isinstance(document.get("list"), dict):
            raise InvalidPass("malformed")
        try:
            key_id = bytes.fromhex(str(document.get("key_id", "")))
            signature = _b64decode(str(document.get("signature", "")))
        except ValueError:
            raise InvalidPass("malformed") from None
        listing: dict[str, Any] = document["list"]
        self._check(key_id, signature, _REVOCATIONS_CONTEXT + _canonical(listing))
        if listing.get("format") != REVOCATIONS_FORMAT:
            raise InvalidPass("unsupported_version")
        return listing


class PassCodec(PassVerifier):
    """Issue and verify QR pass tokens, and sign revocation lists, with Ed25519.

    A v2 token is base64url of ``version | key id | serial | issued (Unix seconds) | lifetime
    (minutes) | risk | holder initials | holder birth year`` followed by the signature over a
    context label and those bytes. Verifying needs only the public keys (:class:`PassVerifier`),
    so a checkpoint device can check passes offline.
    """

    def __init__(self, seeds: Sequence[bytes]) -> None:
        if not seeds:
            raise ValueError("at least one key is required")
        private = [Ed25519PrivateKey.from_private_bytes(seed) for seed in seeds]
        publics = [key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for key in private]
        super().__init__(publics)
        self._signer = private[0]
        self._current = _key_id(publics[0])

    def issue(
        self,
        serial: bytes,
        issued_at: dt.datetime,
        lifetime: dt.timedelta,
        risk: str,
        *,
        initials: str = "",
        birth_year: int | None = None,
    ) -> str:
        """A signed pass token (deterministic: the same arguments give the same token)."""
        if risk not in RISKS:
            raise ValueError(f"unknown risk {risk!r}")
        if len(serial) != SERIAL_SIZE:
            raise ValueError("a serial has 16 bytes")
        minutes = int(lifetime.total_seconds() // 60)
        if not 1 <= minutes <= 0xFFFF:
            raise ValueError("lifetime out of range")
        hint = initials.encode("ascii")[:INITIALS_SIZE]
        payload = _PASS_LAYOUT.pack(
            PASS_VERSION,
            self._current,
            serial,
            int(issued_at.timestamp()),
            minutes,
            RISKS.index(risk),
            hint,
            birth_year or 0,
        )
        return _b64encode(payload + self._signer.sign(_PASS_CONTEXT + payload))

    def sign_revocations(self, listing: dict[str, Any]) -> dict[str, Any]:
        """A revocation list with its signature, as served to checkpoints."""
        signature = self._signer.sign(_REVOCATIONS_CONTEXT + _canonical(listing))
        return {"list": listing, "key_id": self._current.hex(), "signature": _b64encode(signature)}


@dataclass(frozen=True, slots=True)
class Keys:
    """The declaration domain's crypto objects for one installation."""

    vault: Vault
    passes: PassCodec

    @property
    def cipher(self) -> FieldCipher:
        """The vault's field cipher."""
        return self.vault.cipher

    @property
    def index(self) -> BlindIndex:
        """The vault's blind index."""
        return self.vault.index


def keys_for(settings: Settings) -> Keys:
    """The keys from the installation's key ring (previous secrets still read, for rotation)."""
    return _keys_from(settings.keyring)


@lru_cache(maxsize=8)
def _keys_from(ring: KeyRing) -> Keys:
    # Cached: key set-up per request would be wasted work on the hot path.
    return Keys(
        vault=Vault.from_ring(
            ring, encryption_label=ENCRYPTION_LABEL, index_label=BLIND_INDEX_LABEL
        ),
        passes=PassCodec(ring.keys(PASS_SIGNING_LABEL)),
    )
