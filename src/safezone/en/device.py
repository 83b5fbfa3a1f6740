"""Device side: key store, encounter log, calibration, matching and exposure windows.

A phone keeps one TEK per UTC day for 14 days and broadcasts its RPIs; it logs the RPIs and
AEMs it hears with RSSI and time; it downloads diagnosis keys, finds which of its sightings
they produced (within +/-2 hours of the RPI's interval), decrypts the AEM to learn the
sender's transmit power, and turns matched sightings into exposure windows for risk scoring.
Time and randomness are parameters, so everything here is deterministic under test.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from safezone.en import crypto, payload
from safezone.en.errors import InvalidKeyError, InvalidSightingError
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.en.matcher import BatchMatcher
from safezone.en.risk import (
    CalibrationConfidence,
    ExposureWindow,
    Infectiousness,
    ScanInstance,
)

RETENTION_DAYS = 14
# The spec accepts an RPI seen up to two hours before or after its interval (clock skew).
MATCH_TOLERANCE_INTERVALS = 12
MAX_WINDOW_SECONDS = 30 * 60

Clock = Callable[[], float]
"""Returns Unix seconds; :func:`time.time` by default, injectable for tests."""


def _now_interval(now: datetime | float | None, clock: Clock) -> int:
    return crypto.interval_number(clock() if now is None else now)


# --- calibration -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceCalibration:
    """Bluetooth calibration of one phone model.

    ``tx_power`` (dBm) is what this phone puts in its metadata; ``rssi_correction`` (dB) is
    added to RSSI values it measures; ``confidence`` says how well these are known.
    """

    tx_power: int
    rssi_correction: int
    confidence: CalibrationConfidence = CalibrationConfidence.LOWEST

    def __post_init__(self) -> None:
        """Values must fit the signed bytes of the protocol."""
        if not -128 <= self.tx_power <= 127 or not -128 <= self.rssi_correction <= 127:
            raise InvalidSightingError("tx_power and rssi_correction must fit in an int8")
        object.__setattr__(self, "confidence", CalibrationConfidence(self.confidence))


# Used for models missing from the table: typical phone values, lowest confidence.
DEFAULT_CALIBRATION = DeviceCalibration(tx_power=-24, rssi_correction=0)


@dataclass(frozen=True, slots=True)
class CalibrationTable:
    """Per-model calibration, looked up by ``(manufacturer, model)`` case-insensitively."""

    entries: Mapping[tuple[str, str], DeviceCalibration] = field(default_factory=dict)
    default: DeviceCalibration = DEFAULT_CALIBRATION

    def lookup(self, manufacturer: str, model: str) -> DeviceCalibration:
        """Return the calibration of a model, or :attr:`default`."""
        wanted = (manufacturer.casefold(), model.casefold())
        for (maker, name), calibration in self.entries.items():
            if (maker.casefold(), name.casefold()) == wanted:
                return calibration
        return self.default


def attenuation(tx_power: int, rssi: int, rssi_correction: int) -> int:
    """Attenuation in dB = sender's transmit power - (RSSI + receiver's RSSI correction).

    Clamped to 0..255, the range of the EN API's attenuation values.
    """
    return max(0, min(255, tx_power - (rssi + rssi_correction)))


# --- key store -------------------------------------------------------------------------------


class KeyStore:
    """One TEK per UTC day, kept for 14 days.

    Keys are released for upload only once expired, unless the caller asks for today's too;
    today's key is then truncated to the intervals already used and a fresh key covers the
    rest of the day, so nothing broadcast after the upload can be linked to it.
    """

    def __init__(
        self,
        *,
        random: crypto.RandomSource = os.urandom,
        clock: Clock = time.time,
        calibration: DeviceCalibration = DEFAULT_CALIBRATION,
    ) -> None:
        """Create an empty store; ``random`` and ``clock`` are injectable."""
        self._random = random
        self._clock = clock
        self.calibration = calibration
        self._keys: dict[int, TemporaryExposureKey] = {}

    @property
    def keys(self) -> list[TemporaryExposureKey]:
        """All stored keys, oldest first."""
        return [self._keys[s] for s in sorted(self._keys)]

    def purge(self, now: datetime | float | None = None) -> None:
        """Forget keys whose validity ended more than 14 days ago."""
        horizon = _now_interval(now, self._clock) - RETENTION_DAYS * crypto.TEK_ROLLING_PERIOD
        for start in [s for s, k in self._keys.items() if k.end_interval_number <= horizon]:
            del self._keys[start]

    def current_key(self, now: datetime | float | None = None) -> TemporaryExposureKey:
        """Return the key valid at ``now``, creating it on first use of the day."""
        interval = _now_interval(now, self._clock)
        for start in sorted(self._keys, reverse=True):
            key = self._keys[start]
            if start <= interval < key.end_interval_number:
                return key
            if start <= interval:
                break
        day_start, day_end = crypto.rolling_start(interval), crypto.rolling_start(interval) + 144
        # After an early release the day's later key starts mid-day, not at the day start.
        start = max(
            [day_start]
            + [
                k.end_interval_number
                for k in self._keys.values()
                if day_start <= k.rolling_start_interval_number < day_end
            ]
        )
        start = min(start, interval)
        key = TemporaryExposureKey(crypto.generate_tek(self._random), start, day_end - start)
        self._keys[start] = key
        self.purge(now)
        return key

    def advertisement(self, now: datetime | float | None = None) -> bytes:
        """Return the 20-byte service data (RPI + AEM) to broadcast at ``now``."""
        interval = _now_interval(now, self._clock)
        key = self.current_key(interval * crypto.INTERVAL_SECONDS)
        rpi = crypto.rpi(crypto.derive_rpik(key.key_data), interval)
        metadata = crypto.Metadata(tx_power=self.calibration.tx_power).to_bytes()
        aem = crypto.encrypt_aem(crypto.derive_aemk(key.key_data), rpi, metadata)
        return payload.encode_service_data(rpi, aem)

    def keys_for_upload(
        self, now: datetime | float | None = None, *, include_today: bool = False
    ) -> list[TemporaryExposureKey]:
        """Return the keys a diagnosed user may upload, oldest first.

        Only expired keys are released, unless ``include_today``: then today's key is
        released too, cut to the intervals used so far, and replaced for the rest of the day.
        """
        interval = _now_interval(now, self._clock)
        self.purge(now)
        released = [k for k in self.keys if k.end_interval_number <= interval]
        if include_today:
            current = self.current_key(interval * crypto.INTERVAL_SECONDS)
            used = interval - current.rolling_start_interval_number + 1
            truncated = TemporaryExposureKey(
                current.key_data, current.rolling_start_interval_number, used
            )
            self._keys[truncated.rolling_start_interval_number] = truncated
            released.append(truncated)
        return released


# --- encounter log ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sighting:
    """One received advertisement: RPI, AEM, RSSI (dBm) and Unix time."""

    rpi: bytes
    aem: bytes
    rssi: int
    timestamp: float

    def __post_init__(self) -> None:
        """Validate fields."""
        if not isinstance(self.rpi, bytes) or len(self.rpi) != crypto.RPI_LENGTH:
            raise InvalidSightingError("RPI must be 16 bytes")
        if not isinstance(self.aem, bytes) or len(self.aem) != crypto.METADATA_LENGTH:
            raise InvalidSightingError("AEM must be 4 bytes")
        if isinstance(self.rssi, bool) or not isinstance(self.rssi, int):
            raise InvalidSightingError("RSSI must be an int")
        if not -127 <= self.rssi <= 20:
            raise InvalidSightingError(f"RSSI {self.rssi} dBm is implausible")
        if not math.isfinite(self.timestamp) or self.timestamp < 0:
            raise InvalidSightingError("timestamp must be finite Unix seconds")

    @property
    def interval(self) -> int:
        """ENIntervalNumber of the sighting."""
        return crypto.interval_number(self.timestamp)


class EncounterLog:
    """Sightings of other phones, kept for 14 days."""

    def __init__(self, *, clock: Clock = time.time) -> None:
        """Create an empty log."""
        self._clock = clock
        self._sightings: list[Sighting] = []

    def __len__(self) -> int:
        """Number of sightings."""
        return len(self._sightings)

    @property
    def sightings(self) -> tuple[Sighting, ...]:
        """All sightings in recording order."""
        return tuple(self._sightings)

    def record(self, rpi: bytes, aem: bytes, rssi: int, timestamp: float | None = None) -> None:
        """Log one sighting (``timestamp`` defaults to the clock)."""
        when = self._clock() if timestamp is None else timestamp
        self._sightings.append(Sighting(rpi, aem, rssi, when))

    def record_service_data(self, data: bytes, rssi: int, timestamp: float | None = None) -> None:
        """Log the 20-byte 0xFD6F service data of an advertisement."""
        decoded = payload.decode_service_data(data)
        self.record(decoded.rpi, decoded.aem, rssi, timestamp)

    def purge(self, now: float | None = None) -> None:
        """Forget sightings older than 14 days."""
        horizon = (self._clock() if now is None else now) - RETENTION_DAYS * 86400
        self._sightings = [s for s in self._sightings if s.timestamp >= horizon]


# --- matching --------------------------------------------------------------------------------


def default_infectiousness(days_since_onset: int | None) -> Infectiousness:
    """Infectiousness by days since onset of symptoms (our default mapping).

    High from two days before to three days after onset, standard within -5..9, none
    outside; unknown onset counts as standard. Pass your own mapping to match a health
    authority's policy.
    """
    if days_since_onset is None:
        return Infectiousness.STANDARD
    if -2 <= days_since_onset <= 3:
        return Infectiousness.HIGH
    if -5 <= days_since_onset <= 9:
        return Infectiousness.STANDARD
    return Infectiousness.NONE


@dataclass(frozen=True, slots=True)
class MatchedSighting:
    """A sighting attributed to a diagnosis key, with the decrypted transmit power."""

    key: TemporaryExposureKey
    sighting: Sighting
    interval: int
    tx_power: int
    attenuation_db: int


def match_sightings(
    log: EncounterLog | Iterable[Sighting],
    keys: Iterable[TemporaryExposureKey],
    *,
    calibration: DeviceCalibration = DEFAULT_CALIBRATION,
    now: datetime | float | None = None,
    tolerance_intervals: int = MATCH_TOLERANCE_INTERVALS,
) -> list[MatchedSighting]:
    """Return sightings produced by the diagnosis keys, oldest first.

    A sighting counts only if its time is within ``tolerance_intervals`` (default 12 = 2
    hours) of the interval of the matching RPI. When ``now`` is given, a key starting in the
    future raises :class:`InvalidIntervalError`. Revoked keys are ignored.
    """
    sightings = list(log.sightings if isinstance(log, EncounterLog) else log)
    key_list = [k for k in keys if k.report_type != ReportType.REVOKED]
    if now is not None:
        now_interval = crypto.interval_number(now)
        for key in key_list:
            key.check_not_future(now_interval)
    matcher = BatchMatcher(s.rpi for s in sightings)
    matched: list[MatchedSighting] = []
    for found in matcher.match(key_list):
        aemk = crypto.derive_aemk(found.key.key_data)
        for interval, position in found.hits:
            sighting = sightings[position]
            if abs(sighting.interval - interval) > tolerance_intervals:
                continue
            metadata = crypto.Metadata.from_bytes(
                crypto.decrypt_aem(aemk, sighting.rpi, sighting.aem)
            )
            matched.append(
                MatchedSighting(
                    key=found.key,
                    sighting=sighting,
                    interval=interval,
                    tx_power=metadata.tx_power,
                    attenuation_db=attenuation(
                        metadata.tx_power, sighting.rssi, calibration.rssi_correction
                    ),
                )
            )
    matched.sort(key=lambda m: (m.sighting.timestamp, m.key.key_data))
    return matched


def exposure_windows(
    matched: Iterable[MatchedSighting],
    *,
    calibration: DeviceCalibration = DEFAULT_CALIBRATION,
    infectiousness: Callable[[int | None], Infectiousness] = default_infectiousness,
    report_type_when_missing: ReportType = ReportType.CONFIRMED_TEST,
    scan_gap_seconds: float = 10.0,
    scan_interval_seconds: int = 300,
) -> list[ExposureWindow]:
    """Aggregate matched sightings into exposure windows of at most 30 minutes.

    Sightings of one key are split into windows that start at a sighting and last at most
    30 minutes (and never cross a UTC date). Within a window, sightings less than
    ``scan_gap_seconds`` apart form one scan instance (minimum and mean attenuation);
    ``seconds_since_last_scan`` is the time since the previous scan instance, or
    ``scan_interval_seconds`` (the phone's scan period) for the first one.
    Keys whose infectiousness is NONE produce no window, as in ENv2.
    """
    by_key: dict[bytes, list[MatchedSighting]] = defaultdict(list)
    for m in matched:
        by_key[m.key.key_data].append(m)
    windows: list[tuple[float, ExposureWindow]] = []
    for group in by_key.values():
        group.sort(key=lambda m: m.sighting.timestamp)
        key = group[0].key
        level = infectiousness(key.days_since_onset_of_symptoms)
        if level == Infectiousness.NONE:
            continue
        report = (
            key.report_type if key.report_type != ReportType.UNKNOWN else (report_type_when_missing)
        )
        chunks: list[list[MatchedSighting]] = []
        for m in group:
            if chunks:
                first = chunks[-1][0].sighting.timestamp
                same_day = _utc_date(first) == _utc_date(m.sighting.timestamp)
                if m.sighting.timestamp - first < MAX_WINDOW_SECONDS and same_day:
                    chunks[-1].append(m)
                    continue
            chunks.append([m])
        for chunk in chunks:
            scans: list[list[MatchedSighting]] = []
            for m in chunk:
                if scans and m.sighting.timestamp - scans[-1][-1].sighting.timestamp < (
                    scan_gap_seconds
                ):
                    scans[-1].append(m)
                else:
                    scans.append([m])
            instances = []
            previous: float | None = None
            for scan in scans:
                started = scan[0].sighting.timestamp
                gap = scan_interval_seconds if previous is None else round(started - previous)
                previous = started
                values = [m.attenuation_db for m in scan]
                instances.append(
                    ScanInstance(
                        min_attenuation_db=min(values),
                        typical_attenuation_db=round(statistics.fmean(values)),
                        seconds_since_last_scan=gap,
                    )
                )
            start = chunk[0].sighting.timestamp
            windows.append(
                (
                    start,
                    ExposureWindow(
                        date=_utc_date(start),
                        report_type=report,
                        infectiousness=level,
                        calibration_confidence=calibration.confidence,
                        scan_instances=tuple(instances),
                    ),
                )
            )
    windows.sort(key=lambda pair: pair[0])
    return [w for _, w in windows]


def _utc_date(timestamp: float) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def check_upload(keys: Iterable[TemporaryExposureKey], now: datetime | float) -> None:
    """Validate keys before upload: no key may start in the future or be a duplicate."""
    now_interval = crypto.interval_number(now)
    seen: set[bytes] = set()
    for key in keys:
        key.check_not_future(now_interval)
        if key.key_data in seen:
            raise InvalidKeyError("duplicate key in upload")
        seen.add(key.key_data)
    if not seen:
        raise InvalidKeyError("an upload needs at least one key")
