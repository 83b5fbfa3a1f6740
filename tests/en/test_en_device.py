"""Device side: key store, encounter log, matching, exposure windows, end to end."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from safezone.en import crypto, device, export
from safezone.en.errors import (
    InvalidIntervalError,
    InvalidKeyError,
    InvalidPayloadError,
    InvalidSightingError,
)
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.en.matcher import BatchMatcher
from safezone.en.risk import (
    CalibrationConfidence,
    Infectiousness,
    RiskLevel,
    cwa_default,
    evaluate,
)

DAY0 = datetime(2021, 3, 1, tzinfo=UTC).timestamp()  # a UTC midnight
START0 = crypto.interval_number(DAY0)


def counter_random() -> crypto.RandomSource:
    counter = itertools.count(1)
    return lambda n: next(counter).to_bytes(n, "big")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_key_store_one_key_per_utc_day() -> None:
    store = device.KeyStore(random=counter_random(), clock=FakeClock(DAY0))
    morning = store.current_key(DAY0 + 3600)
    evening = store.current_key(DAY0 + 86399)
    tomorrow = store.current_key(DAY0 + 86400)
    assert morning == evening
    assert morning.rolling_start_interval_number == START0
    assert morning.rolling_period == 144
    assert tomorrow.rolling_start_interval_number == START0 + 144
    assert tomorrow.key_data != morning.key_data
    assert store.current_key() == morning  # default time comes from the injected clock


def test_key_store_releases_only_expired_keys() -> None:
    store = device.KeyStore(random=counter_random())
    day1 = store.current_key(DAY0)
    day2 = store.current_key(DAY0 + 86400)
    assert store.keys_for_upload(DAY0 + 86400 + 60) == [day1]
    assert day2 not in store.keys_for_upload(DAY0 + 86400 + 60)


def test_key_store_releases_today_and_rotates() -> None:
    store = device.KeyStore(random=counter_random())
    today = store.current_key(DAY0)
    noon = DAY0 + 12 * 3600  # interval 72 of the day
    released = store.keys_for_upload(noon, include_today=True)
    assert [k.key_data for k in released] == [today.key_data]
    assert released[0].rolling_period == 73  # intervals 0..72 were used
    later = store.current_key(noon + 600)
    assert later.key_data != today.key_data
    assert later.rolling_start_interval_number == START0 + 73
    assert later.end_interval_number == START0 + 144
    # The rest of the current interval still uses the released key.
    assert store.current_key(noon) == released[0]


def test_key_store_retention_is_14_days() -> None:
    store = device.KeyStore(random=counter_random())
    first = store.current_key(DAY0)
    for day in range(1, 16):
        store.current_key(DAY0 + day * 86400)
    assert first not in store.keys
    assert len(store.keys) == 15
    assert store.keys[0].rolling_start_interval_number == START0 + 144


def test_advertisement_carries_tx_power() -> None:
    calibration = device.DeviceCalibration(tx_power=-12, rssi_correction=3)
    store = device.KeyStore(random=counter_random(), calibration=calibration)
    data = store.advertisement(DAY0 + 700)
    key = store.current_key(DAY0)
    rpi, aem = data[:16], data[16:]
    assert rpi == crypto.rpi(crypto.derive_rpik(key.key_data), START0 + 1)
    meta = crypto.Metadata.from_bytes(
        crypto.decrypt_aem(crypto.derive_aemk(key.key_data), rpi, aem)
    )
    assert meta.tx_power == -12


def test_encounter_log_validates_and_purges() -> None:
    log = device.EncounterLog(clock=FakeClock(DAY0))
    log.record(bytes(16), bytes(4), -60)
    log.record_service_data(bytes(20), -70, DAY0 - 15 * 86400)
    assert len(log) == 2
    assert log.sightings[0].timestamp == DAY0
    log.purge()
    assert len(log) == 1
    with pytest.raises(InvalidPayloadError):
        log.record_service_data(bytes(19), -70)
    for rpi, aem, rssi, ts in [
        (bytes(15), bytes(4), -60, DAY0),
        (bytes(16), bytes(5), -60, DAY0),
        (bytes(16), bytes(4), -200, DAY0),
        (bytes(16), bytes(4), True, DAY0),
        (bytes(16), bytes(4), -60, float("nan")),
        (bytes(16), bytes(4), -60, -1.0),
    ]:
        with pytest.raises(InvalidSightingError):
            log.record(rpi, aem, rssi, ts)


def test_attenuation_and_calibration() -> None:
    assert device.attenuation(-10, -70, 5) == 55
    assert device.attenuation(20, 10, 0) == 10
    assert device.attenuation(-100, 0, 0) == 0
    assert device.attenuation(127, -127, -128) == 255
    table = device.CalibrationTable(
        {("Google", "Pixel 4"): device.DeviceCalibration(-20, 8, CalibrationConfidence.HIGH)}
    )
    assert table.lookup("google", "PIXEL 4").confidence == CalibrationConfidence.HIGH
    assert table.lookup("Acme", "X") == device.DEFAULT_CALIBRATION
    with pytest.raises(InvalidSightingError):
        device.DeviceCalibration(tx_power=200, rssi_correction=0)


def meet(
    sender: device.KeyStore,
    receiver: device.EncounterLog,
    start: float,
    minutes: int,
    rssi: int = -60,
    every: int = 60,
) -> None:
    """Simulate the receiver hearing the sender once every ``every`` seconds."""
    for second in range(0, minutes * 60, every):
        receiver.record_service_data(sender.advertisement(start + second), rssi, start + second)


def test_end_to_end_exposure_to_high_risk() -> None:
    alice = device.KeyStore(random=counter_random(), calibration=device.DeviceCalibration(-10, 0))
    bob_calibration = device.DeviceCalibration(-10, 5, CalibrationConfidence.MEDIUM)
    bob_log = device.EncounterLog()
    stranger = device.KeyStore(random=lambda n: bytes([0xAB]) * n)
    meet(alice, bob_log, DAY0 + 9 * 3600, 20, rssi=-70)  # 20 minutes, attenuation 55 dB
    meet(stranger, bob_log, DAY0 + 9 * 3600, 5)
    # Alice is diagnosed the next day and uploads yesterday's key.
    uploaded = [
        TemporaryExposureKey(
            k.key_data,
            k.rolling_start_interval_number,
            k.rolling_period,
            report_type=ReportType.CONFIRMED_TEST,
            days_since_onset_of_symptoms=0,
        )
        for k in alice.keys_for_upload(DAY0 + 86400 + 3600)
    ]
    device.check_upload(uploaded, DAY0 + 86400 + 3600)
    signer = export.SigningKey(ec.generate_private_key(ec.SECP256R1()), "452", "v1")
    zipped = export.write_export(
        uploaded,
        region="VN",
        start_timestamp=int(DAY0),
        end_timestamp=int(DAY0) + 86400,
        signing_keys=[signer],
    )
    downloaded = export.read_export(zipped, {("452", "v1"): signer.private_key.public_key()})

    matched = device.match_sightings(
        bob_log, downloaded.keys, calibration=bob_calibration, now=DAY0 + 2 * 86400
    )
    assert len(matched) == 20
    assert {m.tx_power for m in matched} == {-10}
    assert {m.attenuation_db for m in matched} == {55}  # -10 - (-70 + 5)
    windows = device.exposure_windows(matched, calibration=bob_calibration)
    assert len(windows) == 1
    [window] = windows
    assert window.date == date(2021, 3, 1)
    assert window.report_type == ReportType.CONFIRMED_TEST
    assert window.infectiousness == Infectiousness.HIGH
    assert window.calibration_confidence == CalibrationConfidence.MEDIUM
    assert len(window.scan_instances) == 20
    assert window.scan_instances[0].seconds_since_last_scan == 300
    assert all(s.seconds_since_last_scan == 60 for s in window.scan_instances[1:])
    result = evaluate(windows, cwa_default(), date(2021, 3, 3))
    assert result.total_risk_level == RiskLevel.HIGH
    assert result.most_recent_date_with_high_risk == date(2021, 3, 1)


def test_windows_are_at_most_30_minutes_and_scans_group_close_sightings() -> None:
    alice = device.KeyStore(random=counter_random(), calibration=device.DeviceCalibration(0, 0))
    log = device.EncounterLog()
    start = DAY0 + 3600
    meet(alice, log, start, 70, rssi=-50, every=300)  # 14 sightings over 70 minutes
    log.record_service_data(alice.advertisement(start + 2), -40, start + 2)  # same scan
    key = alice.current_key(start)
    matched = device.match_sightings(log, [key])
    windows = device.exposure_windows(matched)
    assert [len(w.scan_instances) for w in windows] == [6, 6, 2]
    first = windows[0].scan_instances[0]
    assert (first.min_attenuation_db, first.typical_attenuation_db) == (40, 45)
    assert windows[0].report_type == ReportType.CONFIRMED_TEST  # UNKNOWN -> when-missing
    assert windows[0].infectiousness == Infectiousness.STANDARD  # onset unknown


def test_windows_never_cross_a_utc_date() -> None:
    alice = device.KeyStore(random=counter_random())
    log = device.EncounterLog()
    meet(alice, log, DAY0 + 86400 - 600, 20, every=300)
    keys = [alice.current_key(DAY0), alice.current_key(DAY0 + 86400)]
    windows = device.exposure_windows(device.match_sightings(log, keys))
    assert [w.date for w in windows] == [date(2021, 3, 1), date(2021, 3, 2)]


def test_match_tolerance_is_two_hours() -> None:
    key = TemporaryExposureKey(bytes(range(16)), START0)
    rpis = crypto.rolling_rpis(key.key_data, START0)
    aem = crypto.encrypt_aem(crypto.derive_aemk(key.key_data), rpis[50], bytes(4))
    log = device.EncounterLog()
    log.record(rpis[50], aem, -60, DAY0 + (50 + 12) * 600)  # 2 hours late: accepted
    log.record(rpis[50], aem, -60, DAY0 + (50 - 13) * 600)  # more than 2 hours early
    matched = device.match_sightings(log, [key])
    assert [m.sighting.timestamp for m in matched] == [DAY0 + 62 * 600]
    assert matched[0].interval == START0 + 50


def test_revoked_future_and_non_infectious_keys() -> None:
    key = TemporaryExposureKey(bytes(range(16)), START0, days_since_onset_of_symptoms=12)
    rpis = crypto.rolling_rpis(key.key_data, START0)
    aem = crypto.encrypt_aem(crypto.derive_aemk(key.key_data), rpis[0], bytes(4))
    sightings = [device.Sighting(rpis[0], aem, -60, DAY0)]
    assert len(device.match_sightings(sightings, [key])) == 1
    assert device.exposure_windows(device.match_sightings(sightings, [key])) == []
    revoked = TemporaryExposureKey(key.key_data, START0, report_type=ReportType.REVOKED)
    assert device.match_sightings(sightings, [revoked]) == []
    with pytest.raises(InvalidIntervalError):
        device.match_sightings(sightings, [key], now=DAY0 - 600)


def test_default_infectiousness_mapping() -> None:
    assert device.default_infectiousness(None) == Infectiousness.STANDARD
    assert device.default_infectiousness(-2) == Infectiousness.HIGH
    assert device.default_infectiousness(3) == Infectiousness.HIGH
    assert device.default_infectiousness(-5) == Infectiousness.STANDARD
    assert device.default_infectiousness(10) == Infectiousness.NONE


def test_check_upload() -> None:
    key = TemporaryExposureKey(bytes(16), START0)
    device.check_upload([key], DAY0)
    with pytest.raises(InvalidIntervalError):
        device.check_upload([key], DAY0 - 1)
    with pytest.raises(InvalidKeyError):
        device.check_upload([key, key], DAY0)
    with pytest.raises(InvalidKeyError):
        device.check_upload([], DAY0)


def test_batch_matcher_finds_every_hit_and_nothing_else() -> None:
    keys = [
        TemporaryExposureKey(bytes([n]) * 16, START0 + 144 * (n % 3), 100 + n) for n in range(20)
    ]
    rpis = {
        k.key_data: crypto.rolling_rpis(
            k.key_data, k.rolling_start_interval_number, k.rolling_period
        )
        for k in keys
    }
    log = [
        bytes([0xEE]) * 16,
        rpis[keys[4].key_data][99],
        rpis[keys[7].key_data][0],
        rpis[keys[7].key_data][0],
        rpis[keys[7].key_data][106],
    ]
    matcher = BatchMatcher(log)
    assert len(matcher) == 4
    found = matcher.match(keys)
    assert [m.key for m in found] == [keys[4], keys[7]]
    assert found[0].hits == ((keys[4].rolling_start_interval_number + 99, 1),)
    start7 = keys[7].rolling_start_interval_number
    assert found[1].hits == ((start7, 2), (start7, 3), (start7 + 106, 4))
    assert matcher.count_matching_keys(keys) == 2
    assert BatchMatcher([]).count_matching_keys(keys) == 0


def test_batch_matcher_prefix_collision_is_not_a_match() -> None:
    key = TemporaryExposureKey(bytes(16), START0)
    real = crypto.rolling_rpis(key.key_data, START0)[5]
    decoy = real[:4] + bytes(12)  # same 4-byte prefix, different RPI
    matcher = BatchMatcher([decoy])
    assert matcher.match([key]) == []
    assert matcher.count_matching_keys([key]) == 0
