"""Risk scoring: CWA worked examples (data file), parameters, ENv2 and ENv1."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safezone.en.errors import InvalidExposureWindowError, InvalidRiskParametersError
from safezone.en.keys import ReportType
from safezone.en.risk import (
    CalibrationConfidence,
    DailySummariesConfig,
    ExposureWindow,
    Infectiousness,
    RiskLevel,
    RiskParameters,
    ScanInstance,
    attenuation_durations,
    cwa_default,
    daily_summaries,
    evaluate,
    score_window,
)
from tests.en.en_testdata import load_json

WORKED = load_json("cwa_risk_worked_examples.json")
TODAY = date(2021, 3, 10)


def window_from(data: dict[str, Any]) -> ExposureWindow:
    return ExposureWindow(
        date=TODAY - timedelta(days=data["age_in_days"]),
        report_type=data["report_type"],
        infectiousness=data["infectiousness"],
        calibration_confidence=data["calibration_confidence"],
        scan_instances=[ScanInstance(**s) for s in data["scan_instances"]],
    )


def age(d: date | None) -> int | None:
    return None if d is None else (TODAY - d).days


@pytest.mark.parametrize("case", WORKED["cases"], ids=lambda c: c["description"][:60])
def test_cwa_worked_example(case: dict[str, Any]) -> None:
    result = evaluate([window_from(w) for w in case["exposure_windows"]], cwa_default(), TODAY)
    expected = case["expected"]
    assert result.total_risk_level == expected["total_risk_level"]
    assert (
        age(result.most_recent_date_with_low_risk)
        == (expected["age_of_most_recent_date_with_low_risk"])
    )
    assert (
        age(result.most_recent_date_with_high_risk)
        == (expected["age_of_most_recent_date_with_high_risk"])
    )
    assert result.days_with_low_risk == expected["days_with_low_risk"]
    assert result.days_with_high_risk == expected["days_with_high_risk"]
    assert result.min_distinct_encounters_low_risk == expected["min_distinct_encounters_low_risk"]
    assert (
        result.min_distinct_encounters_high_risk == (expected["min_distinct_encounters_high_risk"])
    )


def test_cwa_default_published_values() -> None:
    params = cwa_default()
    weights = [(r.min, r.max, w) for r, w in params.minutes_at_attenuation_weights]
    assert weights == [(0, 63, Fraction(4, 5)), (63, 73, 1), (73, 79, Fraction(1, 10))]
    assert params.transmission_risk_values[6] == Fraction(6, 5)
    assert params.trl_encoding.trl(Infectiousness.HIGH, ReportType.CONFIRMED_TEST) == 8
    assert params.trl_encoding.trl(Infectiousness.NONE, ReportType.UNKNOWN) == 0


def test_parameters_json_round_trip() -> None:
    params = cwa_default()
    assert RiskParameters.from_json(params.to_json()) == params


def test_filters_drop_windows() -> None:
    data = cwa_default().to_json()
    data["trlFilters"] = [{"dropIfTrlInRange": {"min": 1, "max": 5}}]
    data["minutesAtAttenuationFilters"] = [
        {
            "attenuationRange": {"min": 0, "max": 73, "maxExclusive": True},
            "dropIfMinutesInRange": {"min": 0, "max": 10, "maxExclusive": True},
        }
    ]
    params = RiskParameters.from_json(data)
    trl5 = ExposureWindow(
        TODAY, ReportType.CONFIRMED_CLINICAL_DIAGNOSIS, 1, 0, [ScanInstance(30, 30, 900)]
    )
    short = ExposureWindow(TODAY, ReportType.CONFIRMED_TEST, 2, 0, [ScanInstance(30, 30, 540)])
    long = ExposureWindow(TODAY, ReportType.CONFIRMED_TEST, 2, 0, [ScanInstance(30, 30, 600)])
    assert score_window(trl5, params) is None
    assert score_window(short, params) is None
    scored = score_window(long, params)
    assert scored is not None
    # 10 minutes x 0.8 (30 dB) x 1.6 (TRL 8)
    assert scored.normalized_time == Fraction(64, 5)
    assert scored.risk_level == RiskLevel.HIGH


def test_daily_detail_for_people() -> None:
    windows = [
        ExposureWindow(TODAY, 1, 2, 0, [ScanInstance(40, 45, 300), ScanInstance(60, 62, 300)]),
        ExposureWindow(TODAY - timedelta(days=1), 2, 1, 0, [ScanInstance(65, 66, 300)]),
    ]
    result = evaluate(windows, cwa_default(), TODAY)
    assert [(d.date, d.risk_level) for d in result.days] == [
        (TODAY - timedelta(days=1), RiskLevel.LOW),
        (TODAY, RiskLevel.HIGH),
    ]
    assert result.days[1].exposure_minutes == 10
    assert result.days[1].closest_attenuation_db == 40
    assert result.days[1].normalized_minutes == pytest.approx(12.8)
    as_json = result.to_json()
    assert as_json["total_risk_level"] == 2
    assert as_json["most_recent_date_with_high_risk"] == TODAY.isoformat()
    assert as_json["days"][0]["risk_level"] == 1


def test_windows_after_today_are_rejected() -> None:
    window = ExposureWindow(TODAY + timedelta(days=1), 1, 1, 0, [ScanInstance(30, 30, 300)])
    with pytest.raises(InvalidExposureWindowError):
        evaluate([window], cwa_default(), TODAY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"report_type": 9},
        {"infectiousness": 3},
        {"calibration_confidence": 4},
        {"date": "2021-03-10"},
    ],
)
def test_invalid_windows(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "date": TODAY,
        "report_type": 1,
        "infectiousness": 1,
        "calibration_confidence": 0,
    }
    args.update(kwargs)
    with pytest.raises(InvalidExposureWindowError):
        ExposureWindow(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(-1, 0, 0), (0, 256, 0), (True, 0, 0), (0, 0, 1.5)])
def test_invalid_scan_instances(args: tuple[Any, Any, Any]) -> None:
    with pytest.raises(InvalidExposureWindowError):
        ScanInstance(*args)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.pop("minutesAtAttenuationWeights"),
        lambda d: d["trlEncoding"].pop("infectiousnessOffsetHigh"),
        lambda d: d["minutesAtAttenuationWeights"][0].update(weight="heavy"),
        lambda d: d["minutesAtAttenuationWeights"][0].update(weight=None),
        lambda d: d["normalizedTimePerEWToRiskLevelMapping"][0].update(riskLevel=7),
        lambda d: d["normalizedTimePerDayToRiskLevelMapping"][0].update(normalizedTimeRange={}),
    ],
)
def test_invalid_parameters(mutate: Any) -> None:
    data = cwa_default().to_json()
    mutate(data)
    with pytest.raises(InvalidRiskParametersError):
        RiskParameters.from_json(data)


def test_range_membership_rules() -> None:
    params = cwa_default()
    rng = params.normalized_time_per_day_to_risk_level[0][0]
    assert 5 in rng
    assert Fraction(9) not in rng
    assert "5" not in rng
    assert Fraction(9) in params.normalized_time_per_day_to_risk_level[1][0]


# --- ENv2 and ENv1 ---------------------------------------------------------------------------


def test_daily_summaries_weights() -> None:
    config = DailySummariesConfig(
        attenuation_thresholds_db=(50, 60, 70),
        attenuation_weights=(1.0, 0.5, 0.25, 0.0),
        infectiousness_weights={Infectiousness.STANDARD: 1.0, Infectiousness.HIGH: 2.0},
        report_type_weights={ReportType.CONFIRMED_TEST: 1.0, ReportType.SELF_REPORT: 0.5},
        minimum_window_score=100,
    )
    day = TODAY - timedelta(days=2)
    windows = [
        # 300 s at 45 dB (x1.0) + 300 s at 55 dB (x0.5) = 450 weighted seconds, x2 (high)
        ExposureWindow(
            day,
            ReportType.CONFIRMED_TEST,
            Infectiousness.HIGH,
            0,
            [ScanInstance(40, 45, 300), ScanInstance(50, 55, 300)],
        ),
        # 300 s at 65 dB (x0.25) = 75, x1 x0.5 = 37.5 < 100: ignored
        ExposureWindow(
            day, ReportType.SELF_REPORT, Infectiousness.STANDARD, 0, [ScanInstance(60, 65, 300)]
        ),
        # beyond 70 dB: weight 0, no summary for that day
        ExposureWindow(TODAY, ReportType.CONFIRMED_TEST, 1, 0, [ScanInstance(80, 90, 600)]),
        # report type without a weight counts zero
        ExposureWindow(TODAY, ReportType.RECURSIVE, 1, 0, [ScanInstance(30, 30, 600)]),
    ]
    [summary] = daily_summaries(windows, config)
    assert summary.date == day
    assert summary.maximum_score == 900
    assert summary.score_sum == 900
    assert summary.weighted_duration_sum == 450


def test_daily_summaries_default_config() -> None:
    window = ExposureWindow(TODAY, 1, 1, 0, [ScanInstance(40, 40, 120), ScanInstance(40, 70, 60)])
    [summary] = daily_summaries([window])
    assert summary.weighted_duration_sum == 150
    assert summary.score_sum == 150


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attenuation_thresholds_db": (60, 50, 70)},
        {"attenuation_thresholds_db": (50, 60)},
        {"attenuation_weights": (1.0, 1.0, 1.0)},
        {"attenuation_weights": (3.0, 1.0, 1.0, 1.0)},
        {"infectiousness_weights": {Infectiousness.HIGH: -1.0}},
    ],
)
def test_daily_summaries_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRiskParametersError):
        DailySummariesConfig(**kwargs)


def test_env1_attenuation_durations() -> None:
    window = ExposureWindow(
        TODAY,
        1,
        1,
        0,
        [
            ScanInstance(40, 40, 600),
            ScanInstance(55, 55, 420),
            ScanInstance(80, 80, 3600),
            ScanInstance(40, 45, -30),
        ],
    )
    assert attenuation_durations(window) == (10, 5, 30)
    assert attenuation_durations(window, (60, 90)) == (15, 30, 0)
    with pytest.raises(InvalidRiskParametersError):
        attenuation_durations(window, (70, 50))


def test_enums_are_the_en_api_numbering() -> None:
    assert [int(c) for c in CalibrationConfidence] == [0, 1, 2, 3]
    assert int(ReportType.REVOKED) == 5


def _reference_score(window: ExposureWindow, params: RiskParameters) -> Any:
    """CWA's window scoring written the plain way: a Fraction per scan, ranges compared."""
    trl = params.trl_encoding.trl(window.infectiousness, window.report_type)
    if any(trl in rng for rng in params.trl_filters):
        return None
    for attenuation_range, drop_range in params.minutes_at_attenuation_filters:
        seconds = sum(
            max(scan.seconds_since_last_scan, 0)
            for scan in window.scan_instances
            if scan.min_attenuation_db in attenuation_range
        )
        if Fraction(seconds, 60) in drop_range:
            return None
    weighted = Fraction(0)
    for scan in window.scan_instances:
        for rng, weight in params.minutes_at_attenuation_weights:
            if scan.min_attenuation_db in rng:
                weighted += max(scan.seconds_since_last_scan, 0) * weight
                break
    normalized = weighted / 60 * params.transmission_risk_values.get(trl, Fraction(0))
    level = next(
        (lvl for rng, lvl in params.normalized_time_per_window_to_risk_level if normalized in rng),
        None,
    )
    return trl, normalized, level


_FILTERED = RiskParameters.from_json(
    {
        **cwa_default().to_json(),
        "minutesAtAttenuationFilters": [
            {
                "attenuationRange": {"min": 0, "max": 73, "maxExclusive": True},
                "dropIfMinutesInRange": {"min": 0, "max": 10, "maxExclusive": True},
            }
        ],
    }
)
_scans = st.lists(
    st.builds(
        ScanInstance,
        st.integers(0, 255),
        st.integers(0, 255),
        st.sampled_from([-60, 0, 1, 59, 60, 180, 240, 300, 540, 600, 3600]),
    ),
    max_size=10,
)


@given(
    scans=_scans,
    infectiousness=st.sampled_from(list(Infectiousness)),
    report_type=st.sampled_from(list(ReportType)),
    params=st.sampled_from([cwa_default(), _FILTERED]),
)
def test_window_scoring_equals_the_plain_arithmetic_whatever_was_scored_before(
    scans: list[ScanInstance],
    infectiousness: Infectiousness,
    report_type: ReportType,
    params: RiskParameters,
) -> None:
    # Scored twice (the second from the memo) and with the scans reversed (the same key).
    window = ExposureWindow(TODAY, report_type, infectiousness, 0, scans)
    reversed_window = ExposureWindow(TODAY, report_type, infectiousness, 0, scans[::-1])
    expected = _reference_score(window, params)
    for scored in (
        score_window(window, params),
        score_window(window, params),
        score_window(reversed_window, params),
    ):
        got = (
            None
            if scored is None
            else (
                scored.transmission_risk_level,
                scored.normalized_time,
                scored.risk_level,
            )
        )
        assert got == expected
