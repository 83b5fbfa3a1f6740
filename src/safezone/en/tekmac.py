"""The verification-protocol HMAC over diagnosis keys ("tekmac").

The device computes, for each key, ``base64(key_data).rollingStart.rollingPeriod.transmissionRisk``,
sorts those strings, joins them with commas and takes HMAC-SHA256 with its own secret; the
verification server binds the base64 result into the certificate, and the key server checks
that the uploaded keys produce the same value.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterable
from typing import Protocol

from safezone.en.errors import InvalidKeyError, InvalidTekMacError


class KeyLike(Protocol):
    """Anything with the four fields tekmac covers (e.g. :class:`TemporaryExposureKey`)."""

    @property
    def key_data(self) -> bytes: ...
    @property
    def rolling_start_interval_number(self) -> int: ...
    @property
    def rolling_period(self) -> int: ...
    @property
    def transmission_risk_level(self) -> int: ...


def tekmac_message(keys: Iterable[KeyLike]) -> bytes:
    """Return the exact byte string the HMAC is computed over."""
    parts = sorted(
        f"{base64.b64encode(k.key_data).decode('ascii')}.{k.rolling_start_interval_number}"
        f".{k.rolling_period}.{k.transmission_risk_level}"
        for k in keys
    )
    return ",".join(parts).encode("ascii")


def tekmac(keys: Iterable[KeyLike], secret: bytes) -> str:
    """Return ``base64(HMAC-SHA256(secret, tekmac_message(keys)))``."""
    if not isinstance(secret, bytes) or not secret:
        raise InvalidKeyError("tekmac secret must be non-empty bytes")
    digest = hmac.digest(secret, tekmac_message(keys), "sha256")
    return base64.b64encode(digest).decode("ascii")


def verify_tekmac(keys: Iterable[KeyLike], secret: bytes, mac: str) -> None:
    """Raise :class:`InvalidTekMacError` unless ``mac`` is the tekmac of ``keys``.

    The comparison is constant-time.
    """
    expected = tekmac(keys, secret)
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("utf-8", "replace")):
        raise InvalidTekMacError("tekmac does not match the uploaded keys")
