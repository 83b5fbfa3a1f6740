"""Our radio interface: what the device needs from a Bluetooth LE stack, and nothing more.

The device advertises one GAEN payload at a time from one random non-resolvable address,
rotates both together, and scans for a while collecting advertising reports. Bumble is one
implementation (:mod:`safezone.device.bumble_radio`); tests may use others.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from safezone.en.payload import encode_advertisement


@dataclass(frozen=True, slots=True)
class Report:
    """One advertising report as the radio heard it (AD bytes, RSSI in dBm)."""

    address: str
    data: bytes
    rssi: int
    #: True when the report is a scan response rather than the advertisement itself.
    scan_response: bool = False


ReportCallback = Callable[[Report], None]


class Radio(Protocol):
    """A BLE radio: advertise a payload from an address, scan for reports."""

    async def start(self) -> None:
        """Power the radio on."""

    async def advertise(self, data: bytes, address: bytes) -> None:
        """Advertise AD ``data`` (non-connectable, non-scannable) from random ``address``.

        Calling it again replaces data and address together: that is a rotation.
        """

    async def stop_advertising(self) -> None:
        """Stop advertising."""

    async def scan(self, callback: ReportCallback, seconds: float) -> None:
        """Scan (passively) for ``seconds``, calling ``callback`` for every report."""

    async def close(self) -> None:
        """Stop everything and release the radio."""


def non_resolvable_address(random: Callable[[int], bytes] = os.urandom) -> bytes:
    """A random non-resolvable private address, 6 bytes little-endian.

    Core spec vol 6 part B 1.3.2.2: the two most significant bits are 0, the other 46 bits
    random and neither all zeros nor all ones.
    """
    while True:
        raw = bytearray(random(6))
        raw[5] &= 0x3F  # the top two bits of the most significant byte (little-endian: last)
        body = int.from_bytes(raw, "little")
        if body not in (0, (1 << 46) - 1):
            return bytes(raw)


def address_text(address: bytes) -> str:
    """``AA:BB:CC:DD:EE:FF`` (most significant byte first) of a little-endian address."""
    return ":".join(f"{b:02X}" for b in reversed(address))


def gaen_advertisement(service_data: bytes) -> bytes:
    """The GAEN advertising data for 20 bytes of service data (RPI + AEM).

    Flags 0x1A, complete 16-bit UUID list [0xFD6F], service data 0xFD6F: 31 bytes, as
    :func:`safezone.en.payload.encode_advertisement` builds it.
    """
    return encode_advertisement(service_data[:16], service_data[16:])
