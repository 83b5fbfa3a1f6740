"""Benchmark: the reference device on bumble's virtual link, with and without our distance model.

Five devices advertise (20 ms interval) and scan on the duty cycle through simulated hours; each
step every device scans for a fixed real window. Prints exactly one JSON line with, for

- ``ours``: :class:`safezone.device.simradio.DistanceController` (RSSI from distance and noise,
  reports rewritten, out-of-range PDUs dropped), devices placed so that everyone hears
  everyone (a worst case for the model: no PDU is dropped early);
- ``stock``: bumble's own ``Controller`` (fixed RSSI -50) on the same link and schedule;

the advertising reports delivered to the hosts per real second, the sightings logged, and the
ratio ours/stock (the cost of the model; >1 would mean it is cheaper).

    .venv/bin/python bench/device.py [--steps 24] [--window 0.06]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import time
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from safezone.device.bumble_radio import BumbleRadio
from safezone.device.radio import Report
from safezone.device.service import DeviceConfig, ReferenceDevice
from safezone.device.simradio import PathLoss, Room

DEVICES = 5
START = 1_773_100_800.0  # 10/03/2026 00:00 UTC


class Clock:
    """A clock moved by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def _stock_radio(link: LocalLink, index: int) -> BumbleRadio:
    controller = Controller(f"S{index}", link=link)
    address = hci.Address(":".join([f"{index + 1:02X}"] * 6))
    device = Device(address=address, host=Host(controller, AsyncPipeSink(controller)))
    return BumbleRadio(device, advertising_interval_ms=20.0)


async def _run(kind: str, steps: int, window: float) -> dict[str, Any]:
    clock = Clock()
    if kind == "ours":
        room = Room(PathLoss(rng=random.Random(1)))
        radios = [room.radio(f"D{i}", (float(i), 0.0), index=i + 1) for i in range(DEVICES)]
    else:
        link = LocalLink()  # type: ignore[no-untyped-call]
        radios = [_stock_radio(link, i) for i in range(DEVICES)]
    devices = [
        ReferenceDevice(r, config=DeviceConfig(), clock=clock, rng=random.Random(i))
        for i, r in enumerate(radios)
    ]
    reports = 0
    for device in devices:
        await device.start()
        scan = device.radio.scan

        async def counting(callback: Any, seconds: float, scan: Any = scan) -> None:
            def count(report: Report) -> None:
                nonlocal reports
                reports += 1
                callback(report)

            await scan(count, seconds)

        device.radio.scan = counting  # type: ignore[method-assign]
    began = time.perf_counter()
    for step in range(steps):
        clock.now = START + step * 300
        for device in devices:
            await device.rotate_if_due()
        await asyncio.gather(*(d.scan_once(window) for d in devices))
    elapsed = time.perf_counter() - began
    sightings = sum(len(d.state.log) for d in devices)
    for device in devices:
        await device.radio.close()
    return {
        "reports_per_s": round(reports / elapsed),
        "sightings": sightings,
        "seconds": round(elapsed, 2),
    }


def main(argv: list[str] | None = None) -> None:
    """Run both variants (stock first) and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=24, help="scans per device (5 min apart)")
    parser.add_argument("--window", type=float, default=0.06, help="real seconds per scan")
    args = parser.parse_args(argv)
    stock = asyncio.run(_run("stock", args.steps, args.window))
    ours = asyncio.run(_run("ours", args.steps, args.window))
    expected = DEVICES * (DEVICES - 1) * args.steps  # every device hears the 4 others per scan
    print(
        json.dumps(
            {
                "benchmark": "device_virtual_link",
                "devices": DEVICES,
                "steps": args.steps,
                "scan_window_s": args.window,
                "ours": ours,
                "stock": stock,
                "ratio_reports_per_s": round(ours["reports_per_s"] / stock["reports_per_s"], 3),
                "sightings_complete": ours["sightings"] == stock["sightings"] == expected,
                "python": platform.python_version(),
            }
        )
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
