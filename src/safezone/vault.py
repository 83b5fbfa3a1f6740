"""Personal data at rest: field encryption and blind indexes, for every domain that holds PII.

A model says which of its attributes are personal with a ``__personal__`` tuple of
:class:`Personal` entries (the logical name, the column holding the ciphertext, and optionally a
blind-index column). A :class:`Vault` built from the installation's key ring then seals and
opens those attributes; nothing else in a domain touches ciphertext or keys::

    class Contact(Base):
        phone_enc: Mapped[bytes] = mapped_column(LargeBinary)
        phone_index: Mapped[str] = mapped_column(String(64))
        __personal__ = (Personal("phone", "phone_enc", index="phone_index"),)

    vault.seal(contact, phone="+84905123456")
    vault.open(contact)["phone"]

Ciphertexts are AES-256-GCM with the field's name as associated data (a value copied into
another column does not decrypt) and carry the id of the key that sealed them, so a key ring
with previous secrets still reads old rows and :meth:`Vault.reseal` moves them to the current key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safezone.keyring import KeyRing

CIPHERTEXT_VERSION = 1
_NONCE_SIZE = 12
_KEY_ID_SIZE = 4
_HEADER = 1 + _KEY_ID_SIZE + _NONCE_SIZE


class DecryptionFailed(Exception):
    """The ciphertext is damaged, was moved to another field, or no key in the ring opens it."""


def key_id(key: bytes) -> bytes:
    """A short public identifier of ``key`` (stored next to what it sealed or signed)."""
    return hashlib.sha256(b"safezone-key-id" + key).digest()[:_KEY_ID_SIZE]


class FieldCipher:
    """AES-256-GCM for one field value at a time.

    Layout: ``version (1) | key id (4) | nonce (12) | ciphertext + tag``. The field's name is
    the associated data, so a ciphertext copied into another column does not decrypt.
    """

    def __init__(self, keys: Sequence[bytes], *, random: Callable[[int], bytes] = os.urandom):
        if not keys:
            raise ValueError("at least one key is required")
        self._keys = {key_id(key): AESGCM(key) for key in keys}
        self._current = key_id(keys[0])
        self._random = random

    def encrypt(self, plaintext: str, *, field: str) -> bytes:
        """Encrypt ``plaintext`` for the column named ``field``."""
        nonce = self._random(_NONCE_SIZE)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), field.encode())
        return bytes([CIPHERTEXT_VERSION]) + self._current + nonce + sealed

    def decrypt(self, blob: bytes, *, field: str) -> str:
        """The plaintext of ``blob``; raises DecryptionFailed."""
        if len(blob) < _HEADER + 16 or blob[0] != CIPHERTEXT_VERSION:
            raise DecryptionFailed("unknown ciphertext format")
        aead = self._keys.get(bytes(blob[1 : 1 + _KEY_ID_SIZE]))
        if aead is None:
            raise DecryptionFailed("no key in the ring has this key id")
        try:
            plain = aead.decrypt(
                bytes(blob[1 + _KEY_ID_SIZE : _HEADER]), bytes(blob[_HEADER:]), field.encode()
            )
        except InvalidTag:
            raise DecryptionFailed("authentication failed") from None
        return plain.decode()

    def is_current(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed with the current key (else `reseal` should redo it)."""
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


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Personal:
    """One personal attribute of a model.

    ``name`` is the logical field (and the cipher's associated data), ``column`` the attribute
    holding the ciphertext (None = not given), ``kind`` how the value is serialised (``text``
    or ``json``), ``index`` the attribute holding its blind index (exact lookup), if any.
    ``legacy`` names a plaintext attribute from before the field was encrypted: it is read
    while ``column`` is empty (converted by ``from_legacy``), and :meth:`Vault.reseal` moves
    it into ``column`` and overwrites it with ``legacy_blank``.
    """

    name: str
    column: str
    kind: Literal["text", "json"] = "text"
    index: str | None = None
    legacy: str | None = None
    from_legacy: Callable[[Any], Any] = _same
    legacy_blank: Any = None


def personal_fields(model: type[Any] | Any) -> dict[str, Personal]:
    """The personal attributes a model (or an instance) declares, by name."""
    cls = model if isinstance(model, type) else type(model)
    return {spec.name: spec for spec in getattr(cls, "__personal__", ())}


class Vault:
    """Seals and opens the personal attributes of model instances; the one holder of the keys."""

    def __init__(self, cipher: FieldCipher, index: BlindIndex) -> None:
        self.cipher = cipher
        self.index = index

    @classmethod
    def from_ring(cls, ring: KeyRing, *, encryption_label: str, index_label: str) -> Vault:
        """A vault whose keys are the ring's keys for these two purposes."""
        return _vault(ring, encryption_label, index_label)

    # --- single values ---------------------------------------------------------------------

    def encrypt(self, name: str, value: Any, kind: Literal["text", "json"] = "text") -> bytes:
        """One value sealed for the field ``name`` (for values outside a model)."""
        text = json.dumps(value, ensure_ascii=False) if kind == "json" else str(value)
        return self.cipher.encrypt(text, field=name)

    def decrypt(self, name: str, blob: bytes, kind: Literal["text", "json"] = "text") -> Any:
        """The inverse of :meth:`encrypt`; raises DecryptionFailed."""
        text = self.cipher.decrypt(blob, field=name)
        return json.loads(text) if kind == "json" else text

    def digest(self, kind: str, value: str) -> str:
        """The blind index of ``value`` under the current key."""
        return self.index.digest(kind, value)

    def candidates(self, kind: str, value: str) -> list[str]:
        """The blind index of ``value`` under every key (for lookups during a rotation)."""
        return self.index.candidates(kind, value)

    # --- model instances ---------------------------------------------------------------------

    def seal(self, obj: Any, **values: Any) -> None:
        """Encrypt ``values`` (by personal-field name) into ``obj``; None clears a field."""
        fields = personal_fields(obj)
        for name, value in values.items():
            spec = fields[name]  # KeyError: a typo must not store a field in clear
            if value is None:
                setattr(obj, spec.column, None)
            else:
                setattr(obj, spec.column, self.encrypt(name, value, spec.kind))
            if spec.index is not None:
                setattr(obj, spec.index, self.digest(name, value) if value is not None else None)
            if spec.legacy is not None:
                setattr(obj, spec.legacy, spec.legacy_blank)

    def get(self, obj: Any, name: str) -> Any:
        """One personal attribute of ``obj`` in clear (None when not given)."""
        spec = personal_fields(obj)[name]
        blob = getattr(obj, spec.column)
        if blob:
            return self.decrypt(name, blob, spec.kind)
        if spec.legacy is not None:
            legacy = getattr(obj, spec.legacy)
            if legacy:
                return spec.from_legacy(legacy)
        return None

    def open(self, obj: Any, *names: str) -> dict[str, Any]:
        """The personal attributes of ``obj`` in clear (all of them, or just ``names``)."""
        return {name: self.get(obj, name) for name in names or personal_fields(obj)}

    def reseal(self, obj: Any) -> bool:
        """Re-encrypt what an older key sealed (or a legacy plaintext left); True if changed."""
        changed = False
        for name, spec in personal_fields(obj).items():
            blob = getattr(obj, spec.column)
            legacy = getattr(obj, spec.legacy) if spec.legacy is not None else None
            if blob and self.cipher.is_current(blob) and not legacy:
                continue
            if not blob and not legacy:
                continue
            self.seal(obj, **{name: self.get(obj, name)})
            changed = True
        return changed


@lru_cache(maxsize=16)
def _vault(ring: KeyRing, encryption_label: str, index_label: str) -> Vault:
    # Cached: key set-up per request would be wasted work on the hot path.
    return Vault(FieldCipher(ring.keys(encryption_label)), BlindIndex(ring.keys(index_label)))
