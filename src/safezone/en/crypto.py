"""Exposure Notification Cryptography Specification v1.2.

Key schedule::

    TEK   16 random bytes, one per day (TEKRollingPeriod = 144 intervals of 10 minutes)
    RPIK  = HKDF-SHA256(TEK, salt=None, info="EN-RPIK", length=16)
    AEMK  = HKDF-SHA256(TEK, salt=None, info="EN-AEMK", length=16)
    RPI_j = AES-128-ECB(RPIK, "EN-RPI" || 0x000000000000 || ENIN_j as little-endian uint32)
    AEM_j = AES-128-CTR(AEMK, IV=RPI_j, metadata)

The functions follow the style of pyca/cryptography: inputs are validated and wrong lengths
raise :class:`~safezone.en.errors.InvalidKeyError` (never a silent wrong answer); time and
randomness are parameters so tests can fix them.
"""

from __future__ import annotations

import hmac
import math
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from safezone.en.errors import (
    InvalidIntervalError,
    InvalidKeyError,
    InvalidMetadataError,
    NaiveDatetimeError,
)

KEY_LENGTH: Final = 16
RPI_LENGTH: Final = 16
METADATA_LENGTH: Final = 4
INTERVAL_SECONDS: Final = 600
TEK_ROLLING_PERIOD: Final = 144
MAX_INTERVAL: Final = 2**32 - 1

RPIK_INFO: Final = b"EN-RPIK"
AEMK_INFO: Final = b"EN-AEMK"
RPI_PREFIX: Final = b"EN-RPI" + bytes(6)

# HKDF-SHA256 with an empty salt uses a salt of HashLen zero bytes (RFC 5869, 2.2).
_ZERO_SALT: Final = bytes(32)
# One HKDF expand block (T(1) = HMAC(PRK, info || 0x01)) yields 32 bytes; we need 16.
_RPIK_EXPAND: Final = RPIK_INFO + b"\x01"
_AEMK_EXPAND: Final = AEMK_INFO + b"\x01"
# ECB is what the spec prescribes: each RPI is one independent AES block.
_ECB: Final = modes.ECB()  # noqa: S305
_ENIN = struct.Struct("<I")

RandomSource = Callable[[int], bytes]
"""Signature of an injectable randomness source, like :func:`os.urandom`."""


def _check_key(name: str, key: object) -> bytes:
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidKeyError(f"{name} must be bytes, not {type(key).__name__}")
    key = bytes(key)
    if len(key) != KEY_LENGTH:
        raise InvalidKeyError(f"{name} must be {KEY_LENGTH} bytes, got {len(key)}")
    return key


def check_interval(interval: int, name: str = "interval number") -> int:
    """Return ``interval`` if it is a valid ENIntervalNumber (uint32), else raise."""
    if isinstance(interval, bool) or not isinstance(interval, int):
        raise InvalidIntervalError(f"{name} must be an int, not {type(interval).__name__}")
    if not 0 <= interval <= MAX_INTERVAL:
        raise InvalidIntervalError(f"{name} {interval} is outside 0..{MAX_INTERVAL}")
    return interval


def check_rolling_period(rolling_period: int) -> int:
    """Return ``rolling_period`` if it is within 1..144, else raise."""
    if isinstance(rolling_period, bool) or not isinstance(rolling_period, int):
        raise InvalidIntervalError("rolling period must be an int")
    if not 1 <= rolling_period <= TEK_ROLLING_PERIOD:
        raise InvalidIntervalError(
            f"rolling period {rolling_period} is outside 1..{TEK_ROLLING_PERIOD}"
        )
    return rolling_period


def interval_number(when: datetime | float) -> int:
    """Return the ENIntervalNumber (10-minute intervals since the Unix epoch, UTC) of ``when``.

    ``when`` is a time-zone-aware :class:`~datetime.datetime` or Unix seconds. Naive datetimes
    raise :class:`~safezone.en.errors.NaiveDatetimeError`: local time must never leak in.
    """
    if isinstance(when, datetime):
        if when.tzinfo is None or when.utcoffset() is None:
            raise NaiveDatetimeError("interval_number needs a time-zone-aware datetime (UTC)")
        seconds: float = when.timestamp()
    elif isinstance(when, bool) or not isinstance(when, int | float):
        raise InvalidIntervalError(f"cannot take an interval number of {type(when).__name__}")
    else:
        seconds = when
    if not math.isfinite(seconds):
        raise InvalidIntervalError("time must be finite")
    return check_interval(int(seconds // INTERVAL_SECONDS))


def rolling_start(interval: int) -> int:
    """Return the first interval of the UTC day containing ``interval`` (a multiple of 144)."""
    return check_interval(interval) // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD


def interval_start(interval: int) -> float:
    """Return the Unix time (seconds) at which ``interval`` starts."""
    return float(check_interval(interval) * INTERVAL_SECONDS)


def generate_tek(random: RandomSource = os.urandom) -> bytes:
    """Return a new Temporary Exposure Key from a CSPRNG (``random`` is injectable for tests)."""
    return _check_key("random source output", random(KEY_LENGTH))


def derive_rpik(tek: bytes) -> bytes:
    """Return the Rolling Proximity Identifier Key of ``tek``.

    HKDF is computed by hand with two HMAC calls (extract with the all-zero salt, then one
    expand block): identical to RFC 5869 and several times faster than an HKDF object, which
    matters when matching many keys.
    """
    prk = hmac.digest(_ZERO_SALT, _check_key("TEK", tek), "sha256")
    return hmac.digest(prk, _RPIK_EXPAND, "sha256")[:16]


def derive_aemk(tek: bytes) -> bytes:
    """Return the Associated Encrypted Metadata Key of ``tek``."""
    prk = hmac.digest(_ZERO_SALT, _check_key("TEK", tek), "sha256")
    return hmac.digest(prk, _AEMK_EXPAND, "sha256")[:16]


def padded_data(interval: int) -> bytes:
    """Return the 16-byte RPI plaintext ``EN-RPI`` || 6 zero bytes || ENIN (little endian)."""
    return RPI_PREFIX + _ENIN.pack(check_interval(interval))


def padded_block(first_interval: int, count: int) -> bytes:
    """Return ``count`` consecutive padded-data blocks starting at ``first_interval``."""
    check_interval(first_interval)
    check_interval(first_interval + count - 1 if count else first_interval)
    return b"".join(RPI_PREFIX + _ENIN.pack(first_interval + i) for i in range(count))


def ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """AES-128-ECB of ``data`` (a multiple of 16 bytes) in one call; internal building block."""
    return Cipher(algorithms.AES(key), _ECB).encryptor().update(data)


def rpi(rpik: bytes, interval: int) -> bytes:
    """Return the Rolling Proximity Identifier for ``interval`` under ``rpik``."""
    return ecb_encrypt(_check_key("RPIK", rpik), padded_data(interval))


def rolling_rpis(
    tek: bytes, rolling_start: int, rolling_period: int = TEK_ROLLING_PERIOD
) -> list[bytes]:
    """Return the RPIs of every interval ``rolling_start .. rolling_start + rolling_period - 1``.

    All blocks are encrypted in one AES-ECB call: one cipher context per key, not per interval.
    """
    rpik = derive_rpik(tek)
    check_rolling_period(rolling_period)
    check_interval(rolling_start, "rolling start interval number")
    check_interval(rolling_start + rolling_period - 1, "last interval of the key")
    out = ecb_encrypt(rpik, padded_block(rolling_start, rolling_period))
    return [out[i : i + RPI_LENGTH] for i in range(0, len(out), RPI_LENGTH)]


def _ctr(aemk: bytes, rpi_value: bytes, data: bytes) -> bytes:
    key = _check_key("AEMK", aemk)
    iv = _check_key("RPI", rpi_value)
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidMetadataError("metadata must be bytes")
    if len(data) != METADATA_LENGTH:
        raise InvalidMetadataError(f"metadata must be {METADATA_LENGTH} bytes, got {len(data)}")
    return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(bytes(data))


def encrypt_aem(aemk: bytes, rpi: bytes, metadata: bytes) -> bytes:
    """Encrypt 4 bytes of metadata with AES-128-CTR, using the RPI as the initial counter."""
    return _ctr(aemk, rpi, metadata)


def decrypt_aem(aemk: bytes, rpi: bytes, aem: bytes) -> bytes:
    """Decrypt an Associated Encrypted Metadata (CTR mode is its own inverse)."""
    return _ctr(aemk, rpi, aem)


@dataclass(frozen=True, slots=True)
class Metadata:
    """Associated metadata: version byte (major in bits 7-6, minor in bits 5-4) and TX power.

    Bytes 2 and 3 are reserved and must be zero when encoding; decoding keeps what it finds in
    ``reserved`` so nothing is lost.
    """

    tx_power: int
    version_major: int = 1
    version_minor: int = 0
    reserved: bytes = b"\x00\x00"

    def __post_init__(self) -> None:
        """Validate ranges."""
        if not 0 <= self.version_major <= 3 or not 0 <= self.version_minor <= 3:
            raise InvalidMetadataError("version major and minor must be within 0..3")
        if not -128 <= self.tx_power <= 127:
            raise InvalidMetadataError(f"transmit power {self.tx_power} dBm is not an int8")
        if len(self.reserved) != 2:
            raise InvalidMetadataError("reserved field must be 2 bytes")

    def to_bytes(self) -> bytes:
        """Encode as the 4 bytes that are encrypted into the AEM."""
        version = (self.version_major << 6) | (self.version_minor << 4)
        return bytes([version]) + struct.pack("b", self.tx_power) + self.reserved

    @classmethod
    def from_bytes(cls, data: bytes) -> Metadata:
        """Decode 4 metadata bytes; the low nibble of the version byte is reserved."""
        if len(data) != METADATA_LENGTH:
            raise InvalidMetadataError(f"metadata must be {METADATA_LENGTH} bytes, got {len(data)}")
        return cls(
            tx_power=struct.unpack("b", data[1:2])[0],
            version_major=data[0] >> 6,
            version_minor=(data[0] >> 4) & 0x3,
            reserved=bytes(data[2:4]),
        )
