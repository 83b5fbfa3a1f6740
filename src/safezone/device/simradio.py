"""A simulated radio for tests: bumble's virtual link with RSSI from distance and noise.

bumble's virtual controller reports every advertisement at a fixed RSSI of -50 dBm. Our
:class:`DistanceController` sits at a position in a :class:`Room`; when it receives an
advertising PDU it finds the sending controller on the link, computes the RSSI from the log-
distance path-loss model plus Gaussian noise, rewrites the reports it sends to its host, and
drops the PDU entirely when the signal is below the receiver's sensitivity -- so tests place
devices at distances and get what real radios would roughly hear.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bumble import hci, ll
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from safezone.device.bumble_radio import BumbleRadio


@dataclass
class PathLoss:
    """Log-distance path loss: RSSI = rssi_at_1m - 10 n log10(d) + N(0, sigma).

    Defaults are typical of phones in a room (about -65 dBm at 1 m, exponent 2); below
    ``sensitivity_dbm`` nothing is received.
    """

    rssi_at_1m: float = -65.0
    exponent: float = 2.0
    sigma_db: float = 2.0
    sensitivity_dbm: float = -100.0
    # A seeded simulation generator (test noise, not secrets).
    rng: random.Random = field(default_factory=lambda: random.Random(0))  # noqa: S311

    def rssi(self, metres: float) -> int | None:
        """An RSSI sample at ``metres``, or None when too weak to be received."""
        distance = max(metres, 0.1)
        mean = self.rssi_at_1m - 10 * self.exponent * math.log10(distance)
        value = round(mean + self.rng.gauss(0.0, self.sigma_db))
        if value < self.sensitivity_dbm:
            return None
        return max(-127, min(20, value))


class Room:
    """Where the simulated devices are: one virtual link and a path-loss model."""

    def __init__(self, path_loss: PathLoss | None = None) -> None:
        """An empty room."""
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.path_loss = path_loss or PathLoss()
        #: The controllers placed so far, by name.
        self.controllers: dict[str, DistanceController] = {}

    def controller(self, name: str, position: tuple[float, float]) -> DistanceController:
        """A new controller at ``position`` (metres) on the room's link."""
        controller = DistanceController(name, self, position)
        self.controllers[name] = controller
        return controller

    def radio(self, name: str, position: tuple[float, float], index: int) -> BumbleRadio:
        """A :class:`BumbleRadio` on a new controller at ``position``.

        ``index`` (0-255) makes the device's public address unique.
        """
        controller = self.controller(name, position)
        address = hci.Address(":".join([f"{index:02X}"] * 6))
        device = Device(address=address, host=Host(controller, AsyncPipeSink(controller)))
        return BumbleRadio(device, advertising_interval_ms=20.0)


class DistanceController(Controller):
    """A bumble controller whose advertising reports carry a distance-based RSSI."""

    def __init__(self, name: str, room: Room, position: tuple[float, float]) -> None:
        """Join ``room``'s link at ``position``."""
        super().__init__(name, link=room.link)
        self.room = room
        self.position = position
        self._rssi: int | None = None

    def move(self, position: tuple[float, float]) -> None:
        """Move to ``position`` (metres)."""
        self.position = position

    def _sender(self, address: Any) -> DistanceController | None:
        for other in self.room.link.controllers:
            if other is self or not isinstance(other, DistanceController):
                continue
            for adv_set in other.advertising_sets.values():
                if adv_set.enabled and adv_set.address == address:
                    return other
        return None

    def on_advertising_pdu(self, pdu: ll.AdvInd | ll.AdvExtInd) -> None:
        """Deliver the PDU with an RSSI from the distance to its sender, or drop it."""
        if not self.le_scan_enable:
            return  # not listening: skip the search for the sender
        sender = self._sender(pdu.advertiser_address)
        if sender is None:
            return
        rssi = self.room.path_loss.rssi(math.dist(self.position, sender.position))
        if rssi is None:
            return
        self._rssi = rssi
        try:
            super().on_advertising_pdu(pdu)
        finally:
            self._rssi = None

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        """Rewrite the RSSI of advertising reports made for the PDU being delivered."""
        if self._rssi is not None and isinstance(
            packet, hci.HCI_LE_Extended_Advertising_Report_Event
        ):
            packet = hci.HCI_LE_Extended_Advertising_Report_Event(
                [dataclasses.replace(r, rssi=self._rssi) for r in packet.reports]
            )
        super().send_hci_packet(packet)


def parse_placement(spec: str) -> tuple[str, tuple[float, float]]:
    """``TRANSPORT@X,Y`` -> (transport, (x, y)); without ``@`` the position is the origin."""
    transport, _, where = spec.rpartition("@") if "@" in spec else (spec, "", "")
    if not where:
        return transport, (0.0, 0.0)
    x, _, y = where.partition(",")
    return transport, (float(x), float(y or 0.0))


async def serve_room(
    placements: list[tuple[str, tuple[float, float]]],
    room: Room | None = None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve one distance-model controller per bumble transport until cancelled.

    Each ``(transport, position)`` is e.g. ``("tcp-server:_:9000", (0, 0))``; a device
    connecting with ``--transport tcp-client:127.0.0.1:9000`` then gets a controller at that
    position. This is how two ``safezone device run`` processes meet without hardware.
    """
    from bumble.transport import open_transport

    room = room or Room()
    transports = []
    try:
        for index, (spec, position) in enumerate(placements):
            transport = await open_transport(spec)
            transports.append(transport)
            controller = room.controller(f"C{index}", position)
            transport.source.set_packet_sink(controller)
            controller.host = transport.sink
        if on_ready is not None:
            on_ready()
        await asyncio.get_running_loop().create_future()
    finally:
        for transport in transports:
            await transport.close()
