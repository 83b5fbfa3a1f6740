"""The reference device: advertise, scan, log, match, explain, upload.

It keeps its state in ``safezone.en``'s key store and encounter log (persisted encrypted by
:mod:`safezone.device.store`), speaks to the radio only through our
:class:`~safezone.device.radio.Radio` interface and to a server only through
:class:`~safezone.device.client.ServerClient`. Time and randomness are injectable, so a test
can run a simulated day in seconds and trigger rotations directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from safezone.device.client import Published, ServerClient
from safezone.device.radio import Radio, Report, gaen_advertisement, non_resolvable_address
from safezone.device.store import DeviceKeyStore, DeviceState, StateFile
from safezone.en import crypto
from safezone.en.device import (
    DEFAULT_CALIBRATION,
    DeviceCalibration,
    EncounterLog,
    check_upload,
    exposure_windows,
    match_sightings,
)
from safezone.en.errors import EnError
from safezone.en.keys import TemporaryExposureKey
from safezone.en.payload import decode_advertisement
from safezone.en.risk import RiskLevel, RiskParameters, cwa_default, evaluate

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """How the device behaves. Defaults follow what GAEN phones do."""

    #: Each scan listens this long (seconds) ...
    scan_seconds: float = 4.0
    #: ... once per this period (seconds): "a few seconds every few minutes".
    scan_period_seconds: float = 300.0
    #: The address and RPI change together after a uniformly random 10-20 minutes.
    rotation_min_seconds: float = 600.0
    rotation_max_seconds: float = 1200.0
    calibration: DeviceCalibration = DEFAULT_CALIBRATION
    risk: RiskParameters = field(default_factory=cwa_default)

    def __post_init__(self) -> None:
        """Reject settings that cannot work."""
        if not 0 < self.scan_seconds <= self.scan_period_seconds:
            raise ValueError("scan_seconds must be positive and at most scan_period_seconds")
        if not 0 < self.rotation_min_seconds <= self.rotation_max_seconds:
            raise ValueError("rotation_min_seconds must be positive and <= rotation_max_seconds")


class Closeness(enum.StrEnum):
    """How close, in words, from the smallest attenuation of a day (dB)."""

    VERY_CLOSE = "very_close"  # under 55 dB: about 2 m or less
    CLOSE = "close"  # 55-63 dB: a few metres
    MEDIUM = "medium"  # 63-73 dB
    FAR = "far"  # 73 dB and more

    @classmethod
    def from_attenuation(cls, db: int | None) -> Closeness:
        """Bucket an attenuation (``None``, unknown, counts as far)."""
        if db is None or db >= 73:
            return cls.FAR
        if db >= 63:
            return cls.MEDIUM
        if db >= 55:
            return cls.CLOSE
        return cls.VERY_CLOSE


_CLOSENESS_WORDS = {
    Closeness.VERY_CLOSE: ("rất gần", "very close"),
    Closeness.CLOSE: ("gần", "close"),
    Closeness.MEDIUM: ("khá xa", "some distance away"),
    Closeness.FAR: ("xa", "far"),
}
_RISK_WORDS = {
    RiskLevel.HIGH: ("nguy cơ cao", "high risk"),
    RiskLevel.LOW: ("nguy cơ thấp", "low risk"),
}


@dataclass(frozen=True, slots=True)
class Exposure:
    """One day with an exposure, as a person is told it: day, duration, closeness, risk.

    Never whom: nothing here (or in what it is computed from) identifies the other person.
    """

    day: date
    minutes: int
    closest_attenuation_db: int | None
    closeness: Closeness
    risk: RiskLevel

    def describe(self, language: str = "vi") -> str:
        """One sentence in Vietnamese (``vi``) or English (``en``); the date is dd/mm/yyyy."""
        which = 0 if language == "vi" else 1
        day = self.day.strftime("%d/%m/%Y")
        closeness = _CLOSENESS_WORDS[self.closeness][which]
        risk = _RISK_WORDS[self.risk][which]
        if which == 0:
            return f"Ngày {day}: khoảng {self.minutes} phút, {closeness} — {risk}."
        return f"On {day}: about {self.minutes} minutes, {closeness} — {risk}."

    def to_json(self) -> dict[str, Any]:
        """JSON-ready (``day_number`` = days since the epoch, for retention)."""
        return {
            "day": self.day.isoformat(),
            "day_number": (self.day - date(1970, 1, 1)).days,
            "minutes": self.minutes,
            "closest_attenuation_db": self.closest_attenuation_db,
            "closeness": self.closeness.value,
            "risk": int(self.risk),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exposure:
        """Inverse of :meth:`to_json`."""
        return cls(
            day=date.fromisoformat(data["day"]),
            minutes=int(data["minutes"]),
            closest_attenuation_db=data.get("closest_attenuation_db"),
            closeness=Closeness(data["closeness"]),
            risk=RiskLevel(int(data["risk"])),
        )


class ReferenceDevice:
    """A GAEN device over a :class:`Radio`.

    ``clock`` gives Unix seconds (sighting times, key days, rotation deadlines); ``random``
    gives key and address bytes; ``rng`` draws rotation jitter. ``state_file`` (optional)
    keeps keys, sightings and exposures encrypted on disk.
    """

    def __init__(
        self,
        radio: Radio | None,
        *,
        config: DeviceConfig | None = None,
        clock: Clock = time.time,
        random_bytes: crypto.RandomSource = os.urandom,
        rng: random.Random | None = None,
        state_file: StateFile | None = None,
    ) -> None:
        """Build the device; call :meth:`start` to power the radio and begin advertising.

        ``radio`` may be None for a device that only checks, uploads or reports its status.
        """
        self._radio = radio
        self.config = config or DeviceConfig()
        self.clock = clock
        self.random_bytes = random_bytes
        # Jitter from the OS generator: predictable rotations would let a tracker link them.
        self.rng = rng or random.SystemRandom()
        self.state_file = state_file
        keys = DeviceKeyStore(random=random_bytes, clock=clock, calibration=self.config.calibration)
        log = EncounterLog(clock=clock)
        if state_file is not None:
            self.state = state_file.load(keys, log, clock())
        else:
            self.state = DeviceState(keys=keys, log=log)
        self.address: bytes | None = None
        self.service_data: bytes | None = None
        self.next_rotation = 0.0
        self.rotations = 0

    # --- radio ---------------------------------------------------------------------------------

    @property
    def radio(self) -> Radio:
        """The radio (raises if the device was built without one)."""
        if self._radio is None:
            raise RuntimeError("this device has no radio")
        return self._radio

    async def start(self) -> None:
        """Power the radio on and start advertising."""
        await self.radio.start()
        await self.rotate()

    async def rotate(self) -> None:
        """New RPI and a new random non-resolvable address, changed together.

        The RPI is that of the current 10-minute interval; the next rotation is due after a
        uniformly random 10-20 minutes (jitter, so rotations cannot be lined up to link the
        old address to the new one).
        """
        now = self.clock()
        self.service_data = self.state.keys.advertisement(now)
        self.address = non_resolvable_address(self.random_bytes)
        await self.radio.advertise(gaen_advertisement(self.service_data), self.address)
        self.next_rotation = now + self.rng.uniform(
            self.config.rotation_min_seconds, self.config.rotation_max_seconds
        )
        self.rotations += 1

    async def rotate_if_due(self) -> bool:
        """Rotate when the deadline has passed; True if it did."""
        if self.clock() >= self.next_rotation:
            await self.rotate()
            return True
        return False

    async def scan_once(self, seconds: float | None = None) -> int:
        """Scan once and log each RPI heard (one sighting per RPI per scan).

        Scan responses repeat the advertisement and are dropped; of an RPI's reports in one
        scan the strongest RSSI is kept. Reports that are not GAEN advertisements are ignored.
        Returns the number of sightings logged.
        """
        started = self.clock()
        heard: dict[bytes, tuple[bytes, int]] = {}

        def on_report(report: Report) -> None:
            if report.scan_response:
                return
            try:
                found = decode_advertisement(report.data)
            except EnError:
                return
            if found.rpi == (self.service_data or b"")[:16]:
                return  # our own advertisement (a real radio never hears itself)
            previous = heard.get(found.rpi)
            if previous is None or report.rssi > previous[1]:
                heard[found.rpi] = (found.aem, report.rssi)

        await self.radio.scan(on_report, self.config.scan_seconds if seconds is None else seconds)
        for rpi, (aem, rssi) in heard.items():
            self.state.log.record(rpi, aem, max(-127, min(20, rssi)), started)
        return len(heard)

    async def run(
        self,
        stop: asyncio.Event,
        *,
        between_cycles: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Advertise and scan on the duty cycle until ``stop`` is set.

        The state is saved after every cycle; ``between_cycles`` (a check, say) is awaited
        after the save, while nothing else touches the state.
        """
        await self.start()
        try:
            while not stop.is_set():
                await self.rotate_if_due()
                await self.scan_once()
                self.save()
                if between_cycles is not None:
                    await between_cycles()
                rest = self.config.scan_period_seconds - self.config.scan_seconds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=rest)
        finally:
            await self.radio.close()
            self.save()

    def save(self) -> None:
        """Write the encrypted state (purging what is older than 14 days)."""
        if self.state_file is not None:
            self.state_file.save(self.state, self.clock())

    # --- matching ------------------------------------------------------------------------------

    def check(self, server: ServerClient) -> list[Exposure]:
        """Download the region's signed exports, verify, match, score and explain.

        Every file listed in the index is read each time (the index covers 14 days), so the
        result is the whole picture, not only what is new. Unverifiable files raise.
        """
        now = self.clock()
        keys, paths = server.diagnosis_keys()
        exposures = self.explain(keys, now)
        self.state.exposures = [e.to_json() for e in exposures]
        self.state.seen_exports = paths
        self.state.checked_at = now
        self.save()
        return exposures

    def explain(self, keys: list[TemporaryExposureKey], now: float) -> list[Exposure]:
        """Match ``keys`` (diagnosis keys) against the log and explain the days at risk."""
        calibration = self.config.calibration
        # A key starting after our clock (a skewed clock, ours or the server's) is skipped,
        # not allowed to fail the whole check.
        current = crypto.interval_number(now)
        keys = [k for k in keys if k.rolling_start_interval_number <= current]
        matched = match_sightings(self.state.log, keys, calibration=calibration, now=now)
        windows = exposure_windows(
            matched,
            calibration=calibration,
            scan_interval_seconds=round(self.config.scan_period_seconds),
            scan_gap_seconds=self.config.scan_seconds + 1,
        )
        today = datetime.fromtimestamp(now, UTC).date()
        result = evaluate(windows, self.config.risk, today)
        return [
            Exposure(
                day=day.date,
                minutes=round(day.exposure_minutes),
                closest_attenuation_db=day.closest_attenuation_db,
                closeness=Closeness.from_attenuation(day.closest_attenuation_db),
                risk=day.risk_level,
            )
            for day in result.days
        ]

    # --- upload --------------------------------------------------------------------------------

    def upload(self, server: ServerClient, code: str, *, include_today: bool = False) -> Published:
        """Upload this device's keys with a health worker's code (Google's protocol)."""
        now = self.clock()
        keys = self.state.keys.keys_for_upload(now, include_today=include_today)
        check_upload(keys, now)
        published = server.upload(code, keys)
        if include_today:
            # Today's key is released: stop broadcasting it as soon as its replacement starts
            # (the next 10-minute interval), not at the next jittered rotation.
            boundary = (crypto.interval_number(now) + 1) * crypto.INTERVAL_SECONDS
            self.next_rotation = min(self.next_rotation, boundary)
        self.save()
        return published

    def maybe_decoy(self, server: ServerClient, probability: float) -> bool:
        """With ``probability``, send a decoy upload (``X-Chaff``); True if it did.

        A running device calls this after each check, so over time every device uploads
        now and then and a real upload is one among many. Network errors are ignored.
        """
        if self.rng.random() >= probability:
            return False
        interval = crypto.interval_number(self.clock())
        # As many keys as a real upload would carry now: the expired ones.
        count = sum(1 for k in self.state.keys.keys if k.end_interval_number <= interval)
        with contextlib.suppress(httpx.HTTPError):
            server.decoy_upload(count, interval)
        return True

    # --- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What the device holds: key days, sightings, last check and its exposures."""
        days = sorted(
            {
                datetime.fromtimestamp(
                    k.rolling_start_interval_number * crypto.INTERVAL_SECONDS, UTC
                ).date()
                for k in self.state.keys.keys
            }
        )
        sightings = self.state.log.sightings
        return {
            "key_days": [d.isoformat() for d in days],
            "keys": len(self.state.keys.keys),
            "sightings": len(sightings),
            "distinct_rpis": len({s.rpi for s in sightings}),
            "oldest_sighting": min((s.timestamp for s in sightings), default=None),
            "checked_at": self.state.checked_at,
            "exports_read": len(self.state.seen_exports),
            "exposures": list(self.state.exposures),
        }
