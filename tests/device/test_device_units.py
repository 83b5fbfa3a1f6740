"""Unit tests of the reference device: addresses, path loss, closeness, explanations, the
scan's de-duplication, rotation and the duty cycle (over a fake radio, no bumble timing)."""

from __future__ import annotations

import asyncio
import json
import os
import random
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safezone.device.radio import (
    Report,
    ReportCallback,
    address_text,
    gaen_advertisement,
    non_resolvable_address,
)
from safezone.device.service import Closeness, DeviceConfig, Exposure, ReferenceDevice
from safezone.device.simradio import PathLoss, parse_placement
from safezone.device.store import StateFile
from safezone.en.device import KeyStore
from safezone.en.keys import TemporaryExposureKey
from safezone.en.payload import encode_advertisement
from safezone.en.risk import RiskLevel
from tests.device.conftest import SimClock
from tests.device.test_device_client import FakeServer, _client

DATA = Path(__file__).parent / "data"
CLOSENESS = json.loads((DATA / "closeness.json").read_text())
NOON = datetime(2026, 3, 9, 12, tzinfo=UTC).timestamp()


class FakeRadio:
    """A radio that records what it is told and plays scripted reports when scanning."""

    def __init__(self) -> None:
        self.advertised: list[tuple[bytes, bytes]] = []
        self.script: list[Report] = []
        self.scans = 0
        self.closed = False

    async def start(self) -> None:
        pass

    async def advertise(self, data: bytes, address: bytes) -> None:
        self.advertised.append((data, address))

    async def stop_advertising(self) -> None:
        pass

    async def scan(self, callback: ReportCallback, seconds: float) -> None:
        self.scans += 1
        for report in self.script:
            callback(report)

    async def close(self) -> None:
        self.closed = True


def _device(clock: SimClock, radio: FakeRadio | None = None, **kwargs: Any) -> ReferenceDevice:
    return ReferenceDevice(
        radio or FakeRadio(),
        config=DeviceConfig(scan_seconds=0.01, scan_period_seconds=0.02),
        clock=clock,
        rng=random.Random(3),
        **kwargs,
    )


# --- addresses and payload -----------------------------------------------------------------


@given(st.binary(min_size=6, max_size=6))
def test_non_resolvable_address(raw: bytes) -> None:
    draws = iter([raw, bytes([1, 2, 3, 4, 5, 6])])
    address = non_resolvable_address(lambda n: next(draws))
    assert len(address) == 6
    assert address[5] >> 6 == 0
    assert int.from_bytes(address, "little") not in (0, (1 << 46) - 1)
    assert address[:5] == raw[:5] or address == bytes([1, 2, 3, 4, 5, 6])


def test_address_text_is_most_significant_byte_first() -> None:
    assert address_text(bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x36])) == "36:05:04:03:02:01"


def test_gaen_advertisement_is_the_protocol_library_s() -> None:
    rpi, aem = bytes(range(16)), bytes([9, 8, 7, 6])
    assert gaen_advertisement(rpi + aem) == encode_advertisement(rpi, aem)
    assert len(gaen_advertisement(rpi + aem)) == 31


# --- simulation model ----------------------------------------------------------------------


def test_path_loss_falls_with_distance_and_stops_at_sensitivity() -> None:
    model = PathLoss(sigma_db=0.0)
    assert model.rssi(1.0) == -65
    assert model.rssi(10.0) == -85
    assert model.rssi(56.0) == -100  # the sensitivity itself is still heard
    assert model.rssi(100.0) is None  # -105 dBm: below the sensitivity, not received
    values = [model.rssi(d) for d in (0.5, 1, 2, 4, 8, 16, 32)]
    assert all(isinstance(v, int) for v in values)
    assert values == sorted(values, reverse=True)  # type: ignore[type-var]


def test_path_loss_noise_is_seeded() -> None:
    one = [PathLoss(rng=random.Random(5)).rssi(3.0) for _ in range(3)]
    two = [PathLoss(rng=random.Random(5)).rssi(3.0) for _ in range(3)]
    assert one == two


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("tcp-server:_:9000@0,0", ("tcp-server:_:9000", (0.0, 0.0))),
        ("tcp-server:_:9001@2.5,-1", ("tcp-server:_:9001", (2.5, -1.0))),
        ("pty:ble1", ("pty:ble1", (0.0, 0.0))),
    ],
)
def test_parse_placement(spec: str, expected: tuple[str, tuple[float, float]]) -> None:
    assert parse_placement(spec) == expected


# --- explanations --------------------------------------------------------------------------


@pytest.mark.parametrize("case", CLOSENESS, ids=[str(c["attenuation_db"]) for c in CLOSENESS])
def test_closeness_buckets(case: dict[str, Any]) -> None:
    assert Closeness.from_attenuation(case["attenuation_db"]) == Closeness(case["closeness"])


def test_exposure_is_explained_in_both_languages_and_never_whom() -> None:
    exposure = Exposure(date(2026, 3, 9), 25, 41, Closeness.VERY_CLOSE, RiskLevel.HIGH)
    assert exposure.describe("vi") == "Ngày 09/03/2026: khoảng 25 phút, rất gần — nguy cơ cao."
    assert exposure.describe("en") == "On 09/03/2026: about 25 minutes, very close — high risk."
    data = exposure.to_json()
    assert set(data) == {
        "day",
        "day_number",
        "minutes",
        "closest_attenuation_db",
        "closeness",
        "risk",
    }
    assert Exposure.from_json(data) == exposure


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scan_seconds": 0},
        {"scan_seconds": 10, "scan_period_seconds": 5},
        {"rotation_min_seconds": 0},
        {"rotation_min_seconds": 900, "rotation_max_seconds": 600},
    ],
)
def test_config_refuses_what_cannot_work(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        DeviceConfig(**kwargs)


# --- scanning, rotation, duty cycle --------------------------------------------------------


def test_scan_keeps_one_sighting_per_rpi_the_strongest() -> None:
    clock = SimClock(NOON)
    radio = FakeRadio()
    device = _device(clock, radio)
    asyncio.run(device.start())
    other = _device(SimClock(NOON))
    asyncio.run(other.start())
    assert other.service_data is not None
    theirs = gaen_advertisement(other.service_data)
    assert device.service_data is not None
    ours = gaen_advertisement(device.service_data)
    radio.script = [
        Report("AA", theirs, -70),
        Report("AA", theirs, -60, scan_response=True),  # bumble's duplicate: dropped
        Report("AA", theirs, -66),
        Report("BB", b"\x02\x01\x06", -40),  # not GAEN: ignored
        Report("CC", theirs[:-1], -40),  # truncated: ignored
        Report("DD", ours, -30),  # our own advertisement: ignored
    ]
    assert asyncio.run(device.scan_once()) == 1
    (sighting,) = device.state.log.sightings
    assert sighting.rpi + sighting.aem == other.service_data
    assert sighting.rssi == -66
    assert sighting.timestamp == NOON


def test_rotation_changes_address_and_rpi_together_after_10_to_20_minutes() -> None:
    clock = SimClock(NOON)
    radio = FakeRadio()
    device = _device(clock, radio)
    asyncio.run(device.start())
    gaps = []
    for _ in range(40):
        due = device.next_rotation
        gaps.append(due - clock.now)
        clock.now = due - 1
        assert not asyncio.run(device.rotate_if_due())
        clock.now = due
        assert asyncio.run(device.rotate_if_due())
    assert all(600 <= gap <= 1200 for gap in gaps)
    assert len(set(gaps)) > 30  # jitter
    addresses = [address for _, address in radio.advertised]
    payloads = [data for data, _ in radio.advertised]
    assert len(set(addresses)) == len(addresses) == 41
    assert len(set(payloads)) == len(payloads)


def test_run_scans_saves_and_closes(tmp_path: Path) -> None:
    clock = SimClock(NOON)
    radio = FakeRadio()
    other = _device(SimClock(NOON))
    asyncio.run(other.start())
    assert other.service_data is not None
    radio.script = [Report("AA", gaen_advertisement(other.service_data), -60)]
    device = _device(clock, radio, state_file=StateFile(tmp_path))
    cycles = 0

    async def main() -> None:
        stop = asyncio.Event()

        async def between() -> None:
            nonlocal cycles
            cycles += 1
            clock.now += 300
            if cycles == 3:
                stop.set()

        await device.run(stop, between_cycles=between)

    asyncio.run(main())
    assert cycles == 3
    assert radio.scans == 3
    assert radio.closed
    again = ReferenceDevice(None, clock=clock, state_file=StateFile(tmp_path))
    assert len(again.state.log) == 3
    assert again.status()["sightings"] == 3
    with pytest.raises(RuntimeError, match="no radio"):
        again.radio  # noqa: B018


def test_a_key_from_the_future_is_skipped_not_fatal() -> None:
    clock = SimClock(NOON)
    device = _device(clock)
    other = KeyStore()
    for n in range(13):
        device.state.log.record_service_data(
            other.advertisement(NOON + n * 300), -60, NOON + n * 300
        )
    (key,) = other.keys
    future = TemporaryExposureKey(os.urandom(16), key.rolling_start_interval_number + 144)
    clock.now = NOON + 4000
    assert device.explain([future], clock.now) == []
    (found,) = device.explain([future, key], clock.now)
    assert found.day == datetime.fromtimestamp(NOON, UTC).date()
    assert found.closeness == Closeness.VERY_CLOSE


def test_uploading_today_s_key_rotates_when_its_replacement_starts() -> None:
    clock = SimClock(NOON + 65)
    radio = FakeRadio()
    device = _device(clock, radio)
    asyncio.run(device.start())
    released = device.state.keys.current_key()
    server = FakeServer()
    published = device.upload(_client(server), "12345678", include_today=True)
    assert published.inserted == 3
    boundary = NOON + 600  # NOON is an interval start; the next one begins 10 minutes later
    assert device.next_rotation == boundary
    clock.now = boundary
    assert asyncio.run(device.rotate_if_due())
    assert device.state.keys.current_key().key_data != released.key_data
    (first, _), (second, _) = radio.advertised[-2:]
    assert first != second


def test_decoys_are_sent_with_the_probability_given() -> None:
    device = _device(SimClock(NOON))
    server = FakeServer()
    sent = [device.maybe_decoy(_client(server), 0.3) for _ in range(200)]
    assert 30 <= sum(sent) <= 90
    assert len(server.requests) == 3 * sum(sent)
    assert all(headers["x-chaff"] == "1" for _, headers, _ in server.requests)
    assert not device.maybe_decoy(_client(server), 0.0)
