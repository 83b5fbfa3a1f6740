"""The device's state at rest: encrypted with a device-local key, kept 14 days."""

from __future__ import annotations

import base64
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safezone.device.store import DeviceKeyStore, DeviceState, StateError, StateFile
from safezone.en.device import EncounterLog

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()
DAY = 86400


def _empty(clock: float = NOW) -> tuple[DeviceKeyStore, EncounterLog]:
    return DeviceKeyStore(clock=lambda: clock), EncounterLog(clock=lambda: clock)


def _filled(directory: Path) -> tuple[StateFile, DeviceState, bytes]:
    state_file = StateFile(directory)
    keys, log = _empty()
    state = state_file.load(keys, log, NOW)
    for days_ago in range(16, -1, -1):
        state.keys.current_key(NOW - days_ago * DAY)
    rpi = os.urandom(16)
    log.record(rpi, b"\x01\x02\x03\x04", -60, NOW - 3600)
    log.record(os.urandom(16), b"\x01\x02\x03\x04", -70, NOW - 15 * DAY)
    state.exposures = [{"day": "2026-03-09", "day_number": 20521, "minutes": 5}]
    state_file.save(state, NOW)
    return state_file, state, rpi


def test_round_trip_and_file_modes(tmp_path: Path) -> None:
    directory = tmp_path / "dev"
    state_file, state, rpi = _filled(directory)
    keys, log = _empty()
    loaded = state_file.load(keys, log, NOW)
    assert [k.key_data for k in loaded.keys.keys] == [k.key_data for k in state.keys.keys]
    assert [s.rpi for s in loaded.log.sightings] == [rpi]
    assert loaded.exposures == state.exposures
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("device.key", "state.bin"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert [p.name for p in directory.iterdir() if p.suffix == ".tmp"] == []


def test_nothing_readable_at_rest(tmp_path: Path) -> None:
    state_file, state, rpi = _filled(tmp_path)
    blob = state_file.path.read_bytes()
    for secret in [rpi] + [k.key_data for k in state.keys.keys]:
        assert secret not in blob
        assert base64.b64encode(secret) not in blob
        assert secret.hex().encode() not in blob
    assert b"sightings" not in blob


def test_keys_and_sightings_are_kept_14_days(tmp_path: Path) -> None:
    state_file, _, rpi = _filled(tmp_path)
    keys, log = _empty()
    loaded = state_file.load(keys, log, NOW)
    oldest = min(k.rolling_start_interval_number for k in loaded.keys.keys) * 600
    assert NOW - oldest <= 15 * DAY  # the key of 14 days ago is kept, 15-16 days are gone
    assert len(loaded.keys.keys) == 15
    assert [s.rpi for s in loaded.log.sightings] == [rpi]
    # A week later only what is younger than 14 days remains.
    later = NOW + 7 * DAY
    keys, log = _empty(later)
    loaded = state_file.load(keys, log, later)
    assert len(loaded.keys.keys) == 8
    assert [s.rpi for s in loaded.log.sightings] == [rpi]
    keys, log = _empty(NOW + 20 * DAY)
    loaded = state_file.load(keys, log, NOW + 20 * DAY)
    assert len(loaded.log) == 0
    assert loaded.exposures == []


def test_tampered_or_foreign_state_is_refused(tmp_path: Path) -> None:
    state_file, _, _ = _filled(tmp_path)
    blob = bytearray(state_file.path.read_bytes())
    blob[-1] ^= 1
    state_file.path.write_bytes(bytes(blob))
    with pytest.raises(StateError, match="tampered"):
        state_file.load(*_empty(), NOW)
    other, _, _ = _filled(tmp_path / "other")
    (tmp_path / "state.bin").write_bytes(other.path.read_bytes())
    with pytest.raises(StateError, match="wrong device key"):
        state_file.load(*_empty(), NOW)
    state_file.path.write_bytes(b"\x09" + bytes(40))
    with pytest.raises(StateError, match="unknown format"):
        state_file.load(*_empty(), NOW)
    (tmp_path / "device.key").write_bytes(b"short")
    with pytest.raises(StateError, match="not a device key"):
        state_file.load(*_empty(), NOW)
