"""Risk scoring of exposure windows: Corona-Warn-App (default), ENv2 daily summaries, ENv1.

The result is meant for a person: per day, how long and how close, and whether that counts as
low or high risk -- never whom. The Corona-Warn-App (CWA) model is the shipped default
(:func:`cwa_default`, values as published by the CWA project):

1. transmission risk level (TRL) = infectiousness offset + report-type offset;
2. windows are dropped by TRL filters and by "minutes at attenuation" filters;
3. weighted minutes = sum of seconds-since-last-scan x weight(minimum attenuation) / 60
   (0-63 dB x0.8, 63-73 dB x1.0, 73-79 dB x0.1);
4. normalized time = weighted minutes x transmission risk value(TRL); a window is high risk
   from 9 normalized minutes;
5. per date the normalized times add up: low risk from 5, high from 9; dates below 5 drop out;
6. distinct encounters per date = distinct (TRL, calibration confidence) pairs among that
   date's low (high) risk windows.

Arithmetic is exact (fractions), so a day at exactly 9.0 minutes is high risk, never 8.99.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any

from safezone.en.errors import InvalidExposureWindowError, InvalidRiskParametersError
from safezone.en.keys import ReportType


class Infectiousness(enum.IntEnum):
    """Infectiousness of the sender on the day of the window (ENv2)."""

    NONE = 0
    STANDARD = 1
    HIGH = 2


class CalibrationConfidence(enum.IntEnum):
    """How well the receiving device's Bluetooth calibration is known (ENv2)."""

    LOWEST = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3


class RiskLevel(enum.IntEnum):
    """CWA risk levels: 1 low, 2 high."""

    LOW = 1
    HIGH = 2


@dataclass(frozen=True, slots=True)
class ScanInstance:
    """One Bluetooth scan in which the sender was seen."""

    min_attenuation_db: int
    typical_attenuation_db: int
    seconds_since_last_scan: int

    def __post_init__(self) -> None:
        """Attenuations are unsigned bytes in the EN API."""
        for name in ("min_attenuation_db", "typical_attenuation_db"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise InvalidExposureWindowError(f"{name} must be an int in 0..255, got {value!r}")
        if not isinstance(self.seconds_since_last_scan, int):
            raise InvalidExposureWindowError("seconds_since_last_scan must be an int")


@dataclass(frozen=True, slots=True)
class ExposureWindow:
    """Up to 30 minutes of sightings of one diagnosis key, on one UTC date."""

    date: date
    report_type: ReportType
    infectiousness: Infectiousness
    calibration_confidence: CalibrationConfidence
    scan_instances: tuple[ScanInstance, ...] = ()

    def __post_init__(self) -> None:
        """Coerce ints to the enums and lists to tuples; reject unknown values."""
        try:
            object.__setattr__(self, "report_type", ReportType(self.report_type))
            object.__setattr__(self, "infectiousness", Infectiousness(self.infectiousness))
            object.__setattr__(
                self, "calibration_confidence", CalibrationConfidence(self.calibration_confidence)
            )
        except ValueError as exc:
            raise InvalidExposureWindowError(str(exc)) from None
        if not isinstance(self.date, date):
            raise InvalidExposureWindowError("date must be a datetime.date")
        object.__setattr__(self, "scan_instances", tuple(self.scan_instances))

    @property
    def seconds(self) -> int:
        """Total duration covered by the scans (negative scan gaps count as zero)."""
        return sum(max(s.seconds_since_last_scan, 0) for s in self.scan_instances)


# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """A numeric range with inclusive bounds unless marked exclusive (as in CWA configs)."""

    min: Fraction
    max: Fraction
    min_exclusive: bool = False
    max_exclusive: bool = False

    def __contains__(self, value: object) -> bool:
        """Test membership (numbers only)."""
        if not isinstance(value, int | Fraction):
            return False
        above = value > self.min if self.min_exclusive else value >= self.min
        below = value < self.max if self.max_exclusive else value <= self.max
        return above and below

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Range:
        """Build from ``{"min": .., "max": .., "minExclusive": .., "maxExclusive": ..}``."""
        try:
            return cls(
                _fraction(data["min"]),
                _fraction(data["max"]),
                bool(data.get("minExclusive", False)),
                bool(data.get("maxExclusive", False)),
            )
        except (KeyError, TypeError) as exc:
            raise InvalidRiskParametersError(f"invalid range {data!r}") from exc

    def to_json(self) -> dict[str, Any]:
        """Inverse of :meth:`parse`."""
        return {
            "min": _number(self.min),
            "max": _number(self.max),
            "minExclusive": self.min_exclusive,
            "maxExclusive": self.max_exclusive,
        }


def _fraction(value: object) -> Fraction:
    # Via str() so 0.8 becomes exactly 4/5, not the nearest binary float.
    if isinstance(value, bool) or not isinstance(value, int | float | str | Fraction):
        raise InvalidRiskParametersError(f"not a number: {value!r}")
    try:
        return Fraction(str(value))
    except ValueError as exc:
        raise InvalidRiskParametersError(f"not a number: {value!r}") from exc


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


@dataclass(frozen=True, slots=True)
class TrlEncoding:
    """Offsets that turn infectiousness and report type into a transmission risk level."""

    infectiousness_offset_standard: int
    infectiousness_offset_high: int
    report_type_offset_recursive: int
    report_type_offset_self_report: int
    report_type_offset_confirmed_clinical_diagnosis: int
    report_type_offset_confirmed_test: int

    def trl(self, infectiousness: Infectiousness, report_type: ReportType) -> int:
        """Return the transmission risk level of a window."""
        infectiousness_offset = {
            Infectiousness.STANDARD: self.infectiousness_offset_standard,
            Infectiousness.HIGH: self.infectiousness_offset_high,
        }.get(infectiousness, 0)
        report_offset = {
            ReportType.RECURSIVE: self.report_type_offset_recursive,
            ReportType.SELF_REPORT: self.report_type_offset_self_report,
            ReportType.CONFIRMED_CLINICAL_DIAGNOSIS: (
                self.report_type_offset_confirmed_clinical_diagnosis
            ),
            ReportType.CONFIRMED_TEST: self.report_type_offset_confirmed_test,
        }.get(report_type, 0)
        return infectiousness_offset + report_offset


_TRL_JSON = {
    "infectiousnessOffsetStandard": "infectiousness_offset_standard",
    "infectiousnessOffsetHigh": "infectiousness_offset_high",
    "reportTypeOffsetRecursive": "report_type_offset_recursive",
    "reportTypeOffsetSelfReport": "report_type_offset_self_report",
    "reportTypeOffsetConfirmedClinicalDiagnosis": "report_type_offset_confirmed_clinical_diagnosis",
    "reportTypeOffsetConfirmedTest": "report_type_offset_confirmed_test",
}


@dataclass(frozen=True, slots=True)
class RiskParameters:
    """Parameters of the CWA risk model (the shape of CWA's published configuration)."""

    minutes_at_attenuation_filters: tuple[tuple[Range, Range], ...]
    trl_filters: tuple[Range, ...]
    minutes_at_attenuation_weights: tuple[tuple[Range, Fraction], ...]
    normalized_time_per_window_to_risk_level: tuple[tuple[Range, RiskLevel], ...]
    normalized_time_per_day_to_risk_level: tuple[tuple[Range, RiskLevel], ...]
    trl_encoding: TrlEncoding
    transmission_risk_values: Mapping[int, Fraction] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RiskParameters:
        """Parse CWA's JSON form (camelCase keys, e.g. ``minutesAtAttenuationWeights``)."""
        try:
            return cls(
                minutes_at_attenuation_filters=tuple(
                    (Range.parse(f["attenuationRange"]), Range.parse(f["dropIfMinutesInRange"]))
                    for f in data.get("minutesAtAttenuationFilters", [])
                ),
                trl_filters=tuple(
                    Range.parse(f["dropIfTrlInRange"]) for f in data.get("trlFilters", [])
                ),
                minutes_at_attenuation_weights=tuple(
                    (Range.parse(w["attenuationRange"]), _fraction(w["weight"]))
                    for w in data["minutesAtAttenuationWeights"]
                ),
                normalized_time_per_window_to_risk_level=tuple(
                    (Range.parse(m["normalizedTimeRange"]), RiskLevel(m["riskLevel"]))
                    for m in data["normalizedTimePerEWToRiskLevelMapping"]
                ),
                normalized_time_per_day_to_risk_level=tuple(
                    (Range.parse(m["normalizedTimeRange"]), RiskLevel(m["riskLevel"]))
                    for m in data["normalizedTimePerDayToRiskLevelMapping"]
                ),
                trl_encoding=TrlEncoding(
                    **{py: int(data["trlEncoding"][js]) for js, py in _TRL_JSON.items()}
                ),
                transmission_risk_values={
                    int(m["transmissionRiskLevel"]): _fraction(m["transmissionRiskValue"])
                    for m in data["transmissionRiskValueMapping"]
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidRiskParametersError):
                raise
            raise InvalidRiskParametersError(f"invalid risk parameters: {exc!r}") from exc

    def to_json(self) -> dict[str, Any]:
        """Inverse of :meth:`from_json`."""
        return {
            "minutesAtAttenuationFilters": [
                {"attenuationRange": a.to_json(), "dropIfMinutesInRange": m.to_json()}
                for a, m in self.minutes_at_attenuation_filters
            ],
            "trlFilters": [{"dropIfTrlInRange": r.to_json()} for r in self.trl_filters],
            "minutesAtAttenuationWeights": [
                {"attenuationRange": r.to_json(), "weight": _number(w)}
                for r, w in self.minutes_at_attenuation_weights
            ],
            "normalizedTimePerEWToRiskLevelMapping": [
                {"normalizedTimeRange": r.to_json(), "riskLevel": int(level)}
                for r, level in self.normalized_time_per_window_to_risk_level
            ],
            "normalizedTimePerDayToRiskLevelMapping": [
                {"normalizedTimeRange": r.to_json(), "riskLevel": int(level)}
                for r, level in self.normalized_time_per_day_to_risk_level
            ],
            "trlEncoding": {js: getattr(self.trl_encoding, py) for js, py in _TRL_JSON.items()},
            "transmissionRiskValueMapping": [
                {"transmissionRiskLevel": trl, "transmissionRiskValue": _number(v)}
                for trl, v in sorted(self.transmission_risk_values.items())
            ],
        }


_CWA_DEFAULT: dict[str, Any] = {
    "minutesAtAttenuationFilters": [],
    "trlFilters": [],
    "minutesAtAttenuationWeights": [
        {"attenuationRange": {"min": 0, "max": 63, "maxExclusive": True}, "weight": 0.8},
        {"attenuationRange": {"min": 63, "max": 73, "maxExclusive": True}, "weight": 1},
        {"attenuationRange": {"min": 73, "max": 79, "maxExclusive": True}, "weight": 0.1},
    ],
    "normalizedTimePerEWToRiskLevelMapping": [
        {"normalizedTimeRange": {"min": 0, "max": 9, "maxExclusive": True}, "riskLevel": 1},
        {"normalizedTimeRange": {"min": 9, "max": 9999}, "riskLevel": 2},
    ],
    "normalizedTimePerDayToRiskLevelMapping": [
        {"normalizedTimeRange": {"min": 5, "max": 9, "maxExclusive": True}, "riskLevel": 1},
        {"normalizedTimeRange": {"min": 9, "max": 99999}, "riskLevel": 2},
    ],
    "trlEncoding": {
        "infectiousnessOffsetStandard": 1,
        "infectiousnessOffsetHigh": 2,
        "reportTypeOffsetRecursive": 0,
        "reportTypeOffsetSelfReport": 2,
        "reportTypeOffsetConfirmedClinicalDiagnosis": 4,
        "reportTypeOffsetConfirmedTest": 6,
    },
    "transmissionRiskValueMapping": [
        {"transmissionRiskLevel": level, "transmissionRiskValue": value}
        for level, value in (
            (1, 0),
            (2, 0),
            (3, 0.6),
            (4, 0.8),
            (5, 1),
            (6, 1.2),
            (7, 1.4),
            (8, 1.6),
        )
    ],
}


def cwa_default() -> RiskParameters:
    """Return the Corona-Warn-App risk parameters (the shipped default profile)."""
    return RiskParameters.from_json(json.loads(json.dumps(_CWA_DEFAULT)))


# --- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowRisk:
    """How one exposure window was scored."""

    window: ExposureWindow
    transmission_risk_level: int
    normalized_time: Fraction
    risk_level: RiskLevel | None


@dataclass(frozen=True, slots=True)
class DailyRisk:
    """What a person is told about one day: how long, how close, and the risk level."""

    date: date
    risk_level: RiskLevel
    normalized_minutes: float
    exposure_minutes: float
    closest_attenuation_db: int | None
    minimum_distinct_encounters_low_risk: int
    minimum_distinct_encounters_high_risk: int


@dataclass(frozen=True, slots=True)
class RiskResult:
    """Aggregated risk over all exposure windows (CWA semantics)."""

    total_risk_level: RiskLevel
    most_recent_date_with_low_risk: date | None
    most_recent_date_with_high_risk: date | None
    days_with_low_risk: int
    days_with_high_risk: int
    min_distinct_encounters_low_risk: int
    min_distinct_encounters_high_risk: int
    days: tuple[DailyRisk, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (dates as ISO strings)."""

        def iso(d: date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "total_risk_level": int(self.total_risk_level),
            "most_recent_date_with_low_risk": iso(self.most_recent_date_with_low_risk),
            "most_recent_date_with_high_risk": iso(self.most_recent_date_with_high_risk),
            "days_with_low_risk": self.days_with_low_risk,
            "days_with_high_risk": self.days_with_high_risk,
            "min_distinct_encounters_low_risk": self.min_distinct_encounters_low_risk,
            "min_distinct_encounters_high_risk": self.min_distinct_encounters_high_risk,
            "days": [
                {
                    "date": d.date.isoformat(),
                    "risk_level": int(d.risk_level),
                    "normalized_minutes": d.normalized_minutes,
                    "exposure_minutes": d.exposure_minutes,
                    "closest_attenuation_db": d.closest_attenuation_db,
                    "min_distinct_encounters_low_risk": d.minimum_distinct_encounters_low_risk,
                    "min_distinct_encounters_high_risk": d.minimum_distinct_encounters_high_risk,
                }
                for d in self.days
            ],
        }


def _lookup(value: Fraction, mapping: Iterable[tuple[Range, RiskLevel]]) -> RiskLevel | None:
    for rng, level in mapping:
        if value in rng:
            return level
    return None


@lru_cache(maxsize=64)
def _bucket_of(ranges: tuple[Range, ...]) -> tuple[int, ...]:
    """For every attenuation a scan can report (0..255 dB, a byte in the EN API), the index of
    the first of ``ranges`` holding it, or -1: one table lookup per scan instead of Fraction
    comparisons (the simulator scores hundreds of thousands of windows)."""
    return tuple(
        next((index for index, rng in enumerate(ranges) if attenuation in rng), -1)
        for attenuation in range(256)
    )


_Score = tuple[Fraction, RiskLevel | None] | None  # None: a filter drops the window

#: Scores already computed, per parameter set: windows with the same transmission risk level and
#: the same seconds per attenuation bucket score the same, and a simulation scores hundreds of
#: thousands of them. Keyed by ``id``, holding the parameters so the id cannot be reused.
_Scans = tuple[tuple[int, int], ...]  # (min attenuation, seconds) per scan, sorted
_SCORES: dict[int, tuple[RiskParameters, dict[tuple[int, _Scans], _Score]]] = {}
_SCORES_PER_PARAMETERS = 100_000


def _scores_for(parameters: RiskParameters) -> dict[tuple[int, _Scans], _Score]:
    entry = _SCORES.get(id(parameters))
    if entry is None or entry[0] is not parameters:
        if len(_SCORES) >= 16:
            _SCORES.clear()
        entry = _SCORES[id(parameters)] = (parameters, {})
    if len(entry[1]) >= _SCORES_PER_PARAMETERS:
        entry[1].clear()
    return entry[1]


def _score(trl: int, pairs: _Scans, parameters: RiskParameters) -> _Score:
    """The exact CWA arithmetic for a window whose scans are ``pairs`` (attenuation, seconds);
    ``None`` if a filter drops it."""
    if any(trl in rng for rng in parameters.trl_filters):
        return None
    for attenuation_range, drop_range in parameters.minutes_at_attenuation_filters:
        inside = _bucket_of((attenuation_range,))
        seconds = sum(gap for attenuation, gap in pairs if inside[attenuation] == 0)
        if Fraction(seconds, 60) in drop_range:
            return None
    weights = parameters.minutes_at_attenuation_weights
    bucket_of = _bucket_of(tuple(rng for rng, _ in weights))
    seconds_in = [0] * len(weights)
    for attenuation, gap in pairs:
        bucket = bucket_of[attenuation]
        if bucket >= 0:
            seconds_in[bucket] += gap
    # Exact: the weighted sum is each weight times its bucket's integer seconds.
    weighted_seconds = sum(
        (weight * total for (_, weight), total in zip(weights, seconds_in, strict=True) if total),
        Fraction(0),
    )
    trv = parameters.transmission_risk_values.get(trl, Fraction(0))
    normalized = weighted_seconds / 60 * trv
    return normalized, _lookup(normalized, parameters.normalized_time_per_window_to_risk_level)


def score_window(window: ExposureWindow, parameters: RiskParameters) -> WindowRisk | None:
    """Score one window; ``None`` if a filter drops it."""
    trl = parameters.trl_encoding.trl(window.infectiousness, window.report_type)
    # Negative gaps happen when the clock is changed; they carry no exposure time. Scans in a
    # window are summed, so their order does not matter: sorted, equal windows share a key.
    pairs = tuple(
        sorted(
            (scan.min_attenuation_db, max(scan.seconds_since_last_scan, 0))
            for scan in window.scan_instances
        )
    )
    scores = _scores_for(parameters)
    key = (trl, pairs)
    if key in scores:
        score = scores[key]
    else:
        score = scores[key] = _score(trl, pairs, parameters)
    if score is None:
        return None
    return WindowRisk(window, trl, score[0], score[1])


def evaluate(
    windows: Iterable[ExposureWindow], parameters: RiskParameters, today: date
) -> RiskResult:
    """Aggregate exposure windows into a CWA risk result.

    ``today`` bounds the input: windows dated after it are an error (time never runs back).
    """
    by_date: dict[date, list[WindowRisk]] = defaultdict(list)
    for window in windows:
        if window.date > today:
            raise InvalidExposureWindowError(f"window dated {window.date}, after today {today}")
        scored = score_window(window, parameters)
        if scored is not None and scored.risk_level is not None:
            by_date[window.date].append(scored)

    days: list[DailyRisk] = []
    for day in sorted(by_date):
        scored_windows = by_date[day]
        normalized = sum((w.normalized_time for w in scored_windows), Fraction(0))
        level = _lookup(normalized, parameters.normalized_time_per_day_to_risk_level)
        if level is None:  # below the lowest threshold: not worth telling anyone
            continue
        encounters = {
            risk: len(
                {
                    (w.transmission_risk_level, w.window.calibration_confidence)
                    for w in scored_windows
                    if w.risk_level == risk
                }
            )
            for risk in RiskLevel
        }
        attenuations = [
            s.min_attenuation_db for w in scored_windows for s in w.window.scan_instances
        ]
        days.append(
            DailyRisk(
                date=day,
                risk_level=level,
                normalized_minutes=float(normalized),
                exposure_minutes=sum(w.window.seconds for w in scored_windows) / 60,
                closest_attenuation_db=min(attenuations) if attenuations else None,
                minimum_distinct_encounters_low_risk=encounters[RiskLevel.LOW],
                minimum_distinct_encounters_high_risk=encounters[RiskLevel.HIGH],
            )
        )

    low = [d for d in days if d.risk_level == RiskLevel.LOW]
    high = [d for d in days if d.risk_level == RiskLevel.HIGH]
    return RiskResult(
        total_risk_level=RiskLevel.HIGH if high else RiskLevel.LOW,
        most_recent_date_with_low_risk=max((d.date for d in low), default=None),
        most_recent_date_with_high_risk=max((d.date for d in high), default=None),
        days_with_low_risk=len(low),
        days_with_high_risk=len(high),
        min_distinct_encounters_low_risk=sum(d.minimum_distinct_encounters_low_risk for d in days),
        min_distinct_encounters_high_risk=sum(
            d.minimum_distinct_encounters_high_risk for d in days
        ),
        days=tuple(days),
    )


# --- ENv2 daily summaries --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DailySummariesConfig:
    """ENv2 ``DailySummariesConfig``: attenuation buckets and weights.

    Three ascending thresholds split the typical attenuation into four buckets (immediate,
    near, medium, other); each bucket, infectiousness and report type has a weight (1.0 =
    100 %). Windows scoring below ``minimum_window_score`` are ignored.
    """

    attenuation_thresholds_db: tuple[int, int, int] = (55, 63, 73)
    attenuation_weights: tuple[float, float, float, float] = (1.0, 1.0, 0.5, 0.0)
    infectiousness_weights: Mapping[Infectiousness, float] = field(
        default_factory=lambda: {Infectiousness.STANDARD: 1.0, Infectiousness.HIGH: 1.0}
    )
    report_type_weights: Mapping[ReportType, float] = field(
        default_factory=lambda: {
            ReportType.CONFIRMED_TEST: 1.0,
            ReportType.CONFIRMED_CLINICAL_DIAGNOSIS: 1.0,
            ReportType.SELF_REPORT: 1.0,
            ReportType.RECURSIVE: 0.0,
        }
    )
    minimum_window_score: float = 0.0

    def __post_init__(self) -> None:
        """Check the shape the EN API requires."""
        t = self.attenuation_thresholds_db
        if len(t) != 3 or not 0 <= t[0] <= t[1] <= t[2] <= 255:
            raise InvalidRiskParametersError("need three ascending thresholds in 0..255")
        weights = [
            *self.attenuation_weights,
            *self.infectiousness_weights.values(),
            *self.report_type_weights.values(),
        ]
        if len(self.attenuation_weights) != 4 or any(not 0 <= w <= 2.5 for w in weights):
            raise InvalidRiskParametersError("need four attenuation weights, all in 0..2.5")


@dataclass(frozen=True, slots=True)
class DailySummary:
    """ENv2 ``DailySummary.ExposureSummaryData`` for one date (durations in seconds)."""

    date: date
    maximum_score: float
    score_sum: float
    weighted_duration_sum: float


def _bucket(attenuation: int, thresholds: Sequence[int]) -> int:
    for index, threshold in enumerate(thresholds):
        if attenuation <= threshold:
            return index
    return len(thresholds)


def daily_summaries(
    windows: Iterable[ExposureWindow], config: DailySummariesConfig | None = None
) -> list[DailySummary]:
    """Return ENv2 daily summaries, oldest date first.

    Weighted duration = sum of seconds x attenuation-bucket weight (by typical attenuation);
    window score = weighted duration x infectiousness weight x report-type weight.
    """
    config = config or DailySummariesConfig()
    per_day: dict[date, list[tuple[float, float]]] = defaultdict(list)
    for window in windows:
        duration = sum(
            max(s.seconds_since_last_scan, 0)
            * config.attenuation_weights[
                _bucket(s.typical_attenuation_db, config.attenuation_thresholds_db)
            ]
            for s in window.scan_instances
        )
        score = (
            duration
            * config.infectiousness_weights.get(window.infectiousness, 0.0)
            * config.report_type_weights.get(window.report_type, 0.0)
        )
        if score > 0 and score >= config.minimum_window_score:
            per_day[window.date].append((score, duration))
    return [
        DailySummary(
            date=day,
            maximum_score=max(s for s, _ in values),
            score_sum=sum(s for s, _ in values),
            weighted_duration_sum=sum(d for _, d in values),
        )
        for day, values in sorted(per_day.items())
    ]


# --- ENv1 ------------------------------------------------------------------------------------


def attenuation_durations(
    window: ExposureWindow, thresholds_db: tuple[int, int] = (50, 70)
) -> tuple[int, int, int]:
    """ENv1 attenuation durations in minutes: below, between and above the two thresholds.

    As in ENv1, each bucket is rounded down to 5-minute steps and capped at 30 minutes.
    """
    low, high = thresholds_db
    if not 0 <= low <= high <= 255:
        raise InvalidRiskParametersError("ENv1 thresholds must be ascending within 0..255")
    seconds = [0, 0, 0]
    for scan in window.scan_instances:
        bucket = (
            0
            if scan.typical_attenuation_db < low
            else 1
            if scan.typical_attenuation_db < high
            else 2
        )
        seconds[bucket] += max(scan.seconds_since_last_scan, 0)
    minutes = [min(30, s // 60 // 5 * 5) for s in seconds]
    return minutes[0], minutes[1], minutes[2]
