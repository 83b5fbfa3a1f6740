"""The advertisement on the air is exactly GAEN's, for the official v1.2 test vectors.

A reference device holding the vectors' TEK advertises on bumble's virtual link at each of the
144 intervals (rotation triggered directly); a second device scans. The advertising PDU on the
link and the report the scanner's host receives must both be the GAEN advertising data for the
vector's RPI and AEM, from a fresh random non-resolvable address, on a non-connectable,
non-scannable extended advertising set. One test per vector entry, generated from the file.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import pytest

from safezone.device.radio import Report
from safezone.device.service import DeviceConfig, ReferenceDevice
from safezone.device.simradio import Room
from safezone.en.device import DeviceCalibration
from tests.device.conftest import SimClock
from tests.en.en_testdata import VECTORS

TEK = bytes.fromhex(VECTORS["tek"])
METADATA = bytes.fromhex(VECTORS["metadata"])
START = VECTORS["rolling_start_interval_number"]


def gaen_bytes(rpi: bytes, aem: bytes) -> bytes:
    """GAEN's advertising data, written out field by field (not via safezone.en)."""
    flags = bytes([0x02, 0x01, 0x1A])  # LE General Discoverable, BR/EDR not supported
    uuids = bytes([0x03, 0x03, 0x6F, 0xFD])  # complete list of 16-bit UUIDs: 0xFD6F
    service_data = bytes([0x17, 0x16, 0x6F, 0xFD]) + rpi + aem  # service data, 0xFD6F
    return flags + uuids + service_data


@dataclass
class Heard:
    """What was on the link and what the scanner's host got, at one interval."""

    pdus: list[tuple[bytes, bytes]]  # (advertiser address LE, data) of the case's PDUs
    reports: list[Report]
    properties: int


async def _run_air() -> dict[int, Heard]:
    room = Room()
    on_air: list[tuple[bytes, bytes]] = []
    send = room.link.send_advertising_pdu

    def tap(sender: Any, packet: Any) -> None:
        if getattr(sender, "name", "") == "sender":
            on_air.append((bytes(packet.advertiser_address), bytes(packet.data)))
        send(sender, packet)

    room.link.send_advertising_pdu = tap  # type: ignore[method-assign,assignment]
    clock = SimClock(START * 600.0)
    addresses = random.Random(6)
    sender_radio = room.radio("sender", (0.0, 0.0), index=1)
    tx_power = METADATA[1] - 256 if METADATA[1] > 127 else METADATA[1]
    sender = ReferenceDevice(
        sender_radio,
        config=DeviceConfig(calibration=DeviceCalibration(tx_power=tx_power, rssi_correction=0)),
        clock=clock,
        random_bytes=lambda n: TEK if n == 16 else addresses.randbytes(n),
        rng=random.Random(1),
    )
    receiver = room.radio("receiver", (1.0, 0.0), index=2)
    await sender.start()
    await receiver.start()
    controller = room.controllers["sender"]
    heard: dict[int, Heard] = {}
    for offset in range(VECTORS["rolling_period"]):
        clock.now = (START + offset) * 600.0 + 1
        await sender.rotate()
        await asyncio.sleep(0.03)  # let the stopped set's last PDUs drain
        on_air.clear()
        reports: list[Report] = []
        await receiver.scan(reports.append, 0.06)
        (adv_set,) = controller.advertising_sets.values()
        assert adv_set.parameters is not None
        heard[START + offset] = Heard(
            list(on_air), reports, int(adv_set.parameters.advertising_event_properties)
        )
        assert sender.address is not None
    await sender.radio.close()
    await receiver.close()
    return heard


@pytest.fixture(scope="module")
def air() -> dict[int, Heard]:
    """Run the sender through all 144 intervals once for the module."""
    return asyncio.run(_run_air())


@pytest.mark.parametrize(
    "vector", VECTORS["intervals"], ids=[str(v["interval_number"]) for v in VECTORS["intervals"]]
)
def test_advertisement_on_the_air(air: dict[int, Heard], vector: dict[str, Any]) -> None:
    expected = gaen_bytes(bytes.fromhex(vector["rpi"]), bytes.fromhex(vector["aem"]))
    heard = air[vector["interval_number"]]
    assert heard.pdus, "nothing on the air"
    addresses = {address for address, _ in heard.pdus}
    assert len(addresses) == 1
    (address,) = addresses
    assert address[5] >> 6 == 0b00  # random non-resolvable: the two top bits are 0
    assert {int(r.address[:2], 16) >> 6 for r in heard.reports} == {0b00}
    assert {data for _, data in heard.pdus} == {expected}
    adverts = [r for r in heard.reports if not r.scan_response]
    assert adverts
    assert {r.data for r in adverts} == {expected}
    # Legacy PDUs (ADV_NONCONN_IND, what phones scan for), non-connectable, non-scannable:
    # HCI advertising event properties 0x10.
    assert heard.properties == 0x10


def test_address_changes_with_every_rotation(air: dict[int, Heard]) -> None:
    addresses = [next(iter({a for a, _ in h.pdus})) for _, h in sorted(air.items())]
    assert len(set(addresses)) == len(addresses)
