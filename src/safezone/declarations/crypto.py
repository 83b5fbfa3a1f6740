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
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

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
    "keys_for",
]

#: HKDF labels: one per purpose, versioned so a future scheme gets independent keys.
ENCRYPTION_LABEL = "safezone/declarations/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/declarations/blind-index-hmac/v1"
PASS_SIGNING_LABEL = "safezone/declarations/pass-ed25519/v1"  # noqa: S105 - a label

PASS_VERSION = 1
RISKS: tuple[str, ...] = ("low", "medium", "high")  # index = the byte in a pass
_EPOCH = dt.date(1970, 1, 1)
# version, key id, declaration id, issue day (days since 1970), validity in days, risk
_PASS_LAYOUT = struct.Struct(">B4sQIHB")
_SIGNATURE_SIZE = 64
PASS_BYTES = _PASS_LAYOUT.size + _SIGNATURE_SIZE  # 84: a multiple of 3, so base64 has no slack


class InvalidPass(Exception):
    """A pass token that must not be accepted; ``reason`` says why (a stable code)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _key_id(key: bytes) -> bytes:
    return key_id(key)


@dataclass(frozen=True, slots=True)
class PassInfo:
    """What a valid pass says."""

    declaration_id: int
    issued: dt.date
    expires: dt.date
    risk: str


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


class PassCodec:
    """Issue and verify QR pass tokens, signed with Ed25519.

    A token is base64url of ``version | key id | declaration id | issue day | valid days | risk``
    followed by the signature: a declaration number, a date and a risk flag, no personal data.
    Verifying needs only the public keys, so a checkpoint device can check passes offline.
    """

    def __init__(self, seeds: Sequence[bytes]) -> None:
        if not seeds:
            raise ValueError("at least one key is required")
        self._signer = Ed25519PrivateKey.from_private_bytes(seeds[0])
        self._current = _key_id(self._public_bytes(self._signer.public_key()))
        self._verifiers: dict[bytes, Ed25519PublicKey] = {}
        for seed in seeds:
            public = Ed25519PrivateKey.from_private_bytes(seed).public_key()
            self._verifiers[_key_id(self._public_bytes(public))] = public

    @staticmethod
    def _public_bytes(key: Ed25519PublicKey) -> bytes:
        return key.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_keys(self) -> list[bytes]:
        """The raw public keys a checkpoint device needs (current first)."""
        return [self._public_bytes(key) for key in self._verifiers.values()]

    def issue(self, declaration_id: int, issued: dt.date, risk: str, valid_days: int) -> str:
        """A signed pass token."""
        if risk not in RISKS:
            raise ValueError(f"unknown risk {risk!r}")
        payload = _PASS_LAYOUT.pack(
            PASS_VERSION,
            self._current,
            declaration_id,
            (issued - _EPOCH).days,
            valid_days,
            RISKS.index(risk),
        )
        return _b64encode(payload + self._signer.sign(payload))

    def verify(self, token: str, *, today: dt.date) -> PassInfo:
        """Check signature, version and validity on ``today``; raises InvalidPass."""
        raw = _b64decode(token.strip())
        if len(raw) != PASS_BYTES:
            raise InvalidPass("malformed")
        payload, signature = raw[: _PASS_LAYOUT.size], raw[_PASS_LAYOUT.size :]
        version, key_id, declaration_id, day, valid_days, risk = _PASS_LAYOUT.unpack(payload)
        if version != PASS_VERSION:
            raise InvalidPass("unsupported_version")
        verifier = self._verifiers.get(key_id)
        if verifier is None:
            raise InvalidPass("unknown_key")
        try:
            verifier.verify(signature, payload)
        except InvalidSignature:
            raise InvalidPass("bad_signature") from None
        if risk >= len(RISKS):
            raise InvalidPass("malformed")  # signed by us, so only a future format gets here
        issued = _EPOCH + dt.timedelta(days=day)
        expires = issued + dt.timedelta(days=valid_days)
        if today < issued:
            raise InvalidPass("not_yet_valid")
        if today > expires:
            raise InvalidPass("expired")
        return PassInfo(declaration_id, issued, expires, RISKS[risk])


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
