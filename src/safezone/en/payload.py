"""Bluetooth Low Energy advertisement of Exposure Notification (service UUID 0xFD6F).

The service data is the 16-byte RPI followed by the 4-byte AEM. :func:`encode_advertisement`
builds the full legacy advertising payload (flags, 16-bit service UUID list, service data);
:func:`decode_advertisement` finds and checks the exposure-notification service data in one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from safezone.en.crypto import METADATA_LENGTH, RPI_LENGTH
from safezone.en.errors import InvalidPayloadError

SERVICE_UUID16: Final = 0xFD6F
SERVICE_DATA_LENGTH: Final = RPI_LENGTH + METADATA_LENGTH
_UUID_LE: Final = SERVICE_UUID16.to_bytes(2, "little")

_AD_FLAGS: Final = 0x01
_AD_COMPLETE_UUID16: Final = 0x03
_AD_SERVICE_DATA16: Final = 0x16
# LE General Discoverable, BR/EDR not supported (what the GAEN spec advertises).
_FLAGS_VALUE: Final = 0x1A
_MAX_LEGACY_ADV: Final = 31


@dataclass(frozen=True, slots=True)
class Payload:
    """What a phone broadcasts in one advertisement: an RPI and its AEM."""

    rpi: bytes
    aem: bytes

    def __post_init__(self) -> None:
        """Check lengths."""
        if not isinstance(self.rpi, bytes) or len(self.rpi) != RPI_LENGTH:
            raise InvalidPayloadError(f"RPI must be {RPI_LENGTH} bytes")
        if not isinstance(self.aem, bytes) or len(self.aem) != METADATA_LENGTH:
            raise InvalidPayloadError(f"AEM must be {METADATA_LENGTH} bytes")


def encode_service_data(rpi: bytes, aem: bytes) -> bytes:
    """Return the 20-byte service data (RPI || AEM) for the 0xFD6F service."""
    payload = Payload(rpi, aem)
    return payload.rpi + payload.aem


def decode_service_data(data: bytes) -> Payload:
    """Split 20 bytes of service data into RPI and AEM; any other length raises."""
    if len(data) != SERVICE_DATA_LENGTH:
        raise InvalidPayloadError(
            f"service data must be {SERVICE_DATA_LENGTH} bytes, got {len(data)}"
        )
    return Payload(bytes(data[:RPI_LENGTH]), bytes(data[RPI_LENGTH:]))


def encode_advertisement(rpi: bytes, aem: bytes) -> bytes:
    """Return the 28-byte advertising data: flags, UUID list [0xFD6F], service data."""
    service = _UUID_LE + encode_service_data(rpi, aem)
    return (
        bytes([2, _AD_FLAGS, _FLAGS_VALUE])
        + bytes([3, _AD_COMPLETE_UUID16])
        + _UUID_LE
        + bytes([len(service) + 1, _AD_SERVICE_DATA16])
        + service
    )


def decode_advertisement(data: bytes) -> Payload:
    """Parse advertising data (AD structures) and return its exposure-notification payload.

    Raises :class:`InvalidPayloadError` if an AD structure overruns the buffer, the 0xFD6F
    service data is missing or repeated, or it has the wrong length.
    """
    if len(data) > _MAX_LEGACY_ADV:
        raise InvalidPayloadError(f"advertisement longer than {_MAX_LEGACY_ADV} bytes")
    found: list[bytes] = []
    pos = 0
    while pos < len(data):
        length = data[pos]
        if length == 0:  # zero length terminates the significant part (Core spec, vol 3 C 11)
            break
        end = pos + 1 + length
        if end > len(data):
            raise InvalidPayloadError("AD structure runs past the end of the advertisement")
        ad_type, value = data[pos + 1], data[pos + 2 : end]
        if ad_type == _AD_SERVICE_DATA16 and value[:2] == _UUID_LE:
            found.append(bytes(value[2:]))
        pos = end
    if not found:
        raise InvalidPayloadError("no 0xFD6F service data in the advertisement")
    if len(found) > 1:
        raise InvalidPayloadError("0xFD6F service data appears more than once")
    return decode_service_data(found[0])
