"""The one key ring of an installation: the current secret, the previous ones, a key per purpose.

Every domain gets its keys here, never from the raw secret: ``ring.key("purpose")`` is the key
that writes (derived from the current secret), ``ring.keys("purpose")`` lists the keys that may
still read (current first, then one per previous secret). Rotation is then the same for every
domain:

1. set ``SAFEZONE_SECRET_KEY`` to a new secret and list the old one in
   ``SAFEZONE_PREVIOUS_SECRET_KEYS``;
2. run ``safezone secrets rotate`` (every domain re-encrypts what it stores under the new keys);
3. once short-lived signed things made with the old secret have expired, drop it from the list.

Keys come from HKDF-SHA256 with one ``info`` label per purpose, so one secret can feed
encryption, blind indexes, signatures and cookies without any key serving two purposes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SALT = b"safezone-kdf-v1"  # fixed: changing it would make every stored ciphertext unreadable


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """The key for ``purpose`` derived from ``secret`` (HKDF-SHA256, ``purpose`` as info)."""
    return _derive(secret, purpose, length)


@lru_cache(maxsize=256)
def _derive(secret: bytes, purpose: str, length: int) -> bytes:
    # Cached: HKDF on every request would be wasted work on hot paths (publish, intake).
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT, info=purpose.encode()).derive(
        secret
    )


class KeyRing:
    """The current secret plus the previous ones, still accepted for reading during a rotation.

    Immutable and hashable, so domains can cache objects built from a ring.
    """

    __slots__ = ("_secrets",)

    def __init__(self, current: bytes, previous: Sequence[bytes] = ()) -> None:
        if not current:
            raise ValueError("the current secret must not be empty")
        ordered: list[bytes] = [current]
        for secret in previous:
            if secret and secret not in ordered:  # listing the current key twice is harmless
                ordered.append(secret)
        self._secrets: tuple[bytes, ...] = tuple(ordered)

    @property
    def secrets(self) -> tuple[bytes, ...]:
        """Every secret, current first (for code that must rebuild a ring)."""
        return self._secrets

    @property
    def has_previous(self) -> bool:
        """Whether a rotation is under way (previous secrets are configured)."""
        return len(self._secrets) > 1

    def key(self, purpose: str, length: int = 32) -> bytes:
        """The current key for ``purpose``: the one that encrypts, signs and indexes."""
        return _derive(self._secrets[0], purpose, length)

    def keys(self, purpose: str, length: int = 32) -> tuple[bytes, ...]:
        """Every key for ``purpose``, current first: the ones that may decrypt or verify."""
        return tuple(_derive(secret, purpose, length) for secret in self._secrets)

    def current_only(self) -> KeyRing:
        """A ring with the current secret alone (what remains after a completed rotation)."""
        return KeyRing(self._secrets[0])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, KeyRing) and other._secrets == self._secrets

    def __hash__(self) -> int:
        return hash(self._secrets)

    def __repr__(self) -> str:  # never print secrets
        return f"KeyRing(<{len(self._secrets)} secret(s)>)"
