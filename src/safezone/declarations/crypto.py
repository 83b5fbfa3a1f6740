"""Field encryption, blind indexes and the signed QR pass, over pyca/cryptography.

The API follows pyca's style: verification raises (never returns False), comparisons are
constant-time, time comes in as an argument, and everything serialised carries a version.

Keys come from the installation's secret key through HKDF with one label per purpose; older
secret keys stay usable for decryption and pass verification during a rotation (keyrings: the
first key is current, the others are only read).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from safezone.config import Settings
from safezone.keyring import KeyRing

#: HKDF labels: one per purpose, versioned so a future scheme gets independent keys.
ENCRYPTION_LABEL = "safezone/declarations/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/declarations/blind-index-hmac/v1"
PASS_SIGNING_LABEL = "safezone/declarations/pass-ed25519/v1"  # noqa: S105 - a label

CIPHERTEXT_VERSION = 1
PASS_VERSION = 1
RISKS: tuple[str, ...] = ("low", "medium", "high")  # index = the byte in a pass
_EPOCH = dt.date(1970, 1, 1)
# version, key id, declaration id, issue day (days since 1970), validity in days, risk
_PASS_LAYOUT = struct.Struct(">B4sQIHB")
_SIGNATURE_SIZE = 64
PASS_BYTES = _PASS_LAYOUT.size + _SIGNATURE_SIZE  # 84: a multiple of 3, so base64 has no slack
_NONCE_SIZE = 12
_KEY_ID_SIZE = 4


class CryptoError(Exception):
    """Base class of this module's errors."""


class DecryptionFailed(CryptoError):
    """The ciphertext is damaged, was moved to another field, or no key in the ring opens it."""


class InvalidPass(CryptoError):
    """A pass token that must not be accepted; ``reason`` says why (a stable code)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"safezone-key-id" + key).digest()[:_KEY_ID_SIZE]


class FieldCipher:
    """AES-256-GCM for one text field at a time.

    Layout: ``version (1) | key id (4) | nonce (12) | ciphertext + tag``. The field's name is
    the associated data, so a ciphertext copied into another column does not decrypt.
    """

    def __init__(self, keys: Sequence[bytes], *, random: Callable[[int], bytes] = os.urandom):
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = {_key_id(key): AESGCM(key) for key in keys}
        self._current = _key_id(keys[0])
        self._random = random

    def encrypt(self, plaintext: str, *, field: str) -> bytes:
        """Encrypt ``plaintext`` for the column named ``field``."""
        nonce = self._random(_NONCE_SIZE)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), field.encode())
        return bytes([CIPHERTEXT_VERSION]) + self._current + nonce + sealed

    def decrypt(self, blob: bytes, *, field: str) -> str:
        """The plaintext of ``blob``; raises DecryptionFailed."""
        header = 1 + _KEY_ID_SIZE + _NONCE_SIZE
        if len(blob) < header + 16 or blob[0] != CIPHERTEXT_VERSION:
            raise DecryptionFailed("unknown ciphertext format")
        aead = self._keys.get(bytes(blob[1 : 1 + _KEY_ID_SIZE]))
        if aead is None:
            raise DecryptionFailed("no key in the ring has this key id")
        try:
            plain = aead.decrypt(
                bytes(blob[1 + _KEY_ID_SIZE : header]), bytes(blob[header:]), field.encode()
            )
        except InvalidTag:
            raise DecryptionFailed("authentication failed") from None
        return plain.decode()

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed with the current key (else `rekey` should redo it)."""
        return bytes(blob[1 : 1 + _KEY_ID_SIZE]) == self._current


class BlindIndex:
    """HMAC-SHA256 of a normalised value: equal inputs give equal digests, nothing else leaks.

    ``kind`` is mixed in, so an identity number and a phone number never share a digest.
    """

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = list(keys)

    def digest(self, kind: str, value: str) -> str:
        """The current key's index value (hex) for a normalised ``value``."""
        return self._mac(self._keys[0], kind, value)

    def candidates(self, kind: str, value: str) -> list[str]:
        """Index values under every key of the ring (lookups work during a rotation)."""
        return [self._mac(key, kind, value) for key in self._keys]

    @staticmethod
    def _mac(key: bytes, kind: str, value: str) -> str:
        return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()


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

    cipher: FieldCipher
    index: BlindIndex
    passes: PassCodec


def keys_for(settings: Settings) -> Keys:
    """The keys from the installation's key ring (previous secrets still read, for rotation)."""
    return _keys_from(settings.keyring)


@lru_cache(maxsize=8)
def _keys_from(ring: KeyRing) -> Keys:
    # Cached: key set-up per request would be wasted work on the hot path.
    return Keys(
        cipher=FieldCipher(ring.keys(ENCRYPTION_LABEL)),
        index=BlindIndex(ring.keys(BLIND_INDEX_LABEL)),
        passes=PassCodec(ring.keys(PASS_SIGNING_LABEL)),
    )
