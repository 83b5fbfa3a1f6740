"""The simulated radio: RSSI follows distance, movement and range; controllers served over a
bumble transport reach a device opened with ``open_bumble_radio``, in one process."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from bumble import hci

from safezone.device.bumble_radio import open_bumble_radio
from safezone.device.radio import Report, gaen_advertisement, non_resolvable_address
from safezone.device.simradio import PathLoss, Room, serve_room
from tests.conftest import free_port

DATA = gaen_advertisement(bytes(range(20)))


async def _heard(room: Room, positions: list[tuple[float, float]]) -> list[list[Report]]:
    """The receiver at the origin scans once per position of the sender."""
    sender = room.radio("sender", positions[0], index=1)
    receiver = room.radio("receiver", (0.0, 0.0), index=2)
    await sender.start()
    await receiver.start()
    await sender.advertise(DATA, non_resolvable_address())
    heard = []
    for position in positions:
        room.controllers["sender"].move(position)
        reports: list[Report] = []
        await receiver.scan(reports.append, 0.08)
        heard.append([r for r in reports if not r.scan_response])
    await sender.close()
    await receiver.close()
    return heard


def test_rssi_follows_distance_and_range() -> None:
    room = Room(PathLoss(sigma_db=0.0, rng=random.Random(1)))
    near, far, gone = asyncio.run(_heard(room, [(1.0, 0.0), (0.0, 10.0), (300.0, 0.0)]))
    assert near
    assert {r.rssi for r in near} == {-65}
    assert {r.rssi for r in far} == {-85}
    assert gone == []  # below the sensitivity: nothing at all
    assert {r.data for r in near + far} == {DATA}


async def _served() -> list[Report]:
    port = free_port()
    room = Room(PathLoss(sigma_db=0.0))
    ready = asyncio.Event()
    server = asyncio.create_task(
        serve_room([(f"tcp-server:_:{port}", (2.0, 0.0))], room, ready.set)
    )
    await asyncio.wait_for(ready.wait(), 10)
    remote, transport = await open_bumble_radio(f"tcp-client:127.0.0.1:{port}")
    local = room.radio("local", (0.0, 0.0), index=7)
    await remote.start()
    await local.start()
    await local.advertise(DATA, non_resolvable_address())
    reports: list[Report] = []
    await remote.scan(reports.append, 0.1)
    await local.close()
    await remote.close()
    await transport.close()
    server.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await server
    return reports


def test_a_served_controller_hears_the_room() -> None:
    reports = [r for r in asyncio.run(_served()) if not r.scan_response]
    assert reports
    assert {(r.data, r.rssi) for r in reports} == {(DATA, -71)}  # 2 m: -65 - 20 log10(2)


async def _start_without_extended_advertising() -> None:
    room = Room()
    radio = room.radio("old", (0.0, 0.0), index=3)
    controller = room.controllers["old"]
    controller.le_features = controller.le_features & ~hci.LeFeatureMask.LE_EXTENDED_ADVERTISING
    await radio.start()


def test_a_controller_without_extended_advertising_is_refused() -> None:
    with pytest.raises(RuntimeError, match="extended advertising"):
        asyncio.run(_start_without_extended_advertising())
