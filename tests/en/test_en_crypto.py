"""Crypto tests generated from the official GAEN v1.2 test vectors, plus properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from safezone.en import crypto
from safezone.en.errors import (
    EnError,
    InvalidIntervalError,
    InvalidKeyError,
    InvalidMetadataError,
    NaiveDatetimeError,
)
from tests.en.en_testdata import VECTORS

TEK = bytes.fromhex(VECTORS["tek"])
RPIK = bytes.fromhex(VECTORS["rpik"])
AEMK = bytes.fromhex(VECTORS["aemk"])
METADATA = bytes.fromhex(VECTORS["metadata"])
START = VECTORS["rolling_start_interval_number"]
INTERVALS = VECTORS["intervals"]


def test_vector_file_has_a_full_day() -> None:
    assert len(INTERVALS) == 144
    assert [v["interval_number"] for v in INTERVALS] == list(range(START, START + 144))


def test_derive_rpik_and_aemk() -> None:
    assert crypto.derive_rpik(TEK) == RPIK
    assert crypto.derive_aemk(TEK) == AEMK


def test_interval_number_of_key_generation_time() -> None:
    seconds = VECTORS["key_generation_unix_seconds"]
    assert crypto.interval_number(seconds) == START
    assert crypto.interval_number(datetime.fromtimestamp(seconds, UTC)) == START
    # Same instant in another zone: ENIN is UTC-only, the zone must not matter.
    ict = timezone(timedelta(hours=7))
    assert crypto.interval_number(datetime.fromtimestamp(seconds, ict)) == START
    assert crypto.interval_number(seconds + 599.9) == START
    assert crypto.interval_number(seconds + 600) == START + 1


@pytest.mark.parametrize("vector", INTERVALS, ids=lambda v: str(v["interval_number"]))
def test_rpi_vector(vector: dict[str, object]) -> None:
    interval = vector["interval_number"]
    assert isinstance(interval, int)
    assert crypto.rpi(RPIK, interval).hex() == vector["rpi"]


@pytest.mark.parametrize("vector", INTERVALS, ids=lambda v: str(v["interval_number"]))
def test_aem_vector(vector: dict[str, object]) -> None:
    rpi = bytes.fromhex(str(vector["rpi"]))
    aem = crypto.encrypt_aem(AEMK, rpi, METADATA)
    assert aem.hex() == vector["aem"]
    assert crypto.decrypt_aem(AEMK, rpi, aem) == METADATA


def test_rolling_rpis_matches_every_vector() -> None:
    assert [r.hex() for r in crypto.rolling_rpis(TEK, START)] == [v["rpi"] for v in INTERVALS]
    assert [r.hex() for r in crypto.rolling_rpis(TEK, START + 10, 3)] == [
        v["rpi"] for v in INTERVALS[10:13]
    ]


def test_padded_data_layout() -> None:
    assert crypto.padded_data(0x01020304) == b"EN-RPI" + bytes(6) + b"\x04\x03\x02\x01"


def test_metadata_vector() -> None:
    meta = crypto.Metadata.from_bytes(METADATA)
    assert (meta.version_major, meta.version_minor, meta.tx_power) == (1, 0, 8)
    assert meta.to_bytes() == METADATA
    assert crypto.Metadata(tx_power=-20, version_minor=2).to_bytes() == bytes([0x60, 0xEC, 0, 0])


@given(st.binary(min_size=16, max_size=16))
def test_hkdf_by_hand_equals_rfc5869(tek: bytes) -> None:
    for info, derive in ((b"EN-RPIK", crypto.derive_rpik), (b"EN-AEMK", crypto.derive_aemk)):
        reference = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=info)
        assert derive(tek) == reference.derive(tek)


@given(
    aemk=st.binary(min_size=16, max_size=16),
    rpi=st.binary(min_size=16, max_size=16),
    metadata=st.binary(min_size=4, max_size=4),
)
def test_aem_round_trip(aemk: bytes, rpi: bytes, metadata: bytes) -> None:
    aem = crypto.encrypt_aem(aemk, rpi, metadata)
    assert len(aem) == 4
    assert crypto.decrypt_aem(aemk, rpi, aem) == metadata


@given(
    tx=st.integers(-128, 127),
    major=st.integers(0, 3),
    minor=st.integers(0, 3),
    reserved=st.binary(min_size=2, max_size=2),
)
def test_metadata_round_trip(tx: int, major: int, minor: int, reserved: bytes) -> None:
    meta = crypto.Metadata(tx_power=tx, version_major=major, version_minor=minor, reserved=reserved)
    assert crypto.Metadata.from_bytes(meta.to_bytes()) == meta


def test_generate_tek_uses_injected_randomness() -> None:
    assert crypto.generate_tek(lambda n: bytes(range(n))) == bytes(range(16))
    assert len(crypto.generate_tek()) == 16
    assert crypto.generate_tek() != crypto.generate_tek()
    with pytest.raises(InvalidKeyError):
        crypto.generate_tek(lambda n: bytes(n - 1))


@pytest.mark.parametrize("bad", [b"", bytes(15), bytes(17), "0" * 16, None])
def test_wrong_key_lengths_raise(bad: object) -> None:
    with pytest.raises(InvalidKeyError):
        crypto.derive_rpik(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        crypto.rpi(bad, START)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        crypto.encrypt_aem(bad, bytes(16), METADATA)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        crypto.decrypt_aem(AEMK, bad, METADATA)  # type: ignore[arg-type]


def test_bytearray_and_memoryview_keys_are_accepted() -> None:
    assert crypto.derive_rpik(bytearray(TEK)) == RPIK
    assert crypto.derive_rpik(memoryview(TEK)) == RPIK


@pytest.mark.parametrize("metadata", [b"", bytes(3), bytes(5), "abcd"])
def test_wrong_metadata_raises(metadata: object) -> None:
    with pytest.raises(InvalidMetadataError):
        crypto.encrypt_aem(AEMK, bytes(16), metadata)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tx_power": 128},
        {"tx_power": -129},
        {"tx_power": 0, "version_major": 4},
        {"tx_power": 0, "version_minor": -1},
        {"tx_power": 0, "reserved": b"\x00"},
    ],
)
def test_metadata_ranges(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidMetadataError):
        crypto.Metadata(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(InvalidMetadataError):
        crypto.Metadata.from_bytes(bytes(3))


@pytest.mark.parametrize("period", [0, 145, -1, True, 1.5])
def test_rolling_period_out_of_range(period: object) -> None:
    with pytest.raises(InvalidIntervalError):
        crypto.rolling_rpis(TEK, START, period)  # type: ignore[arg-type]


@pytest.mark.parametrize("interval", [-1, 2**32, "1", None])
def test_interval_out_of_range(interval: object) -> None:
    with pytest.raises(InvalidIntervalError):
        crypto.rpi(RPIK, interval)  # type: ignore[arg-type]


def test_rolling_rpis_may_not_run_past_uint32() -> None:
    with pytest.raises(InvalidIntervalError):
        crypto.rolling_rpis(TEK, 2**32 - 10)


@pytest.mark.parametrize(
    "when", [-600, float("nan"), float("inf"), True, "2020-04-02", 2**40 * 600]
)
def test_interval_number_rejects_bad_times(when: object) -> None:
    with pytest.raises(EnError):
        crypto.interval_number(when)  # type: ignore[arg-type]


def test_interval_number_rejects_naive_datetime() -> None:
    with pytest.raises(NaiveDatetimeError):
        crypto.interval_number(datetime(2020, 4, 2))


def test_rolling_start_and_interval_start() -> None:
    assert crypto.rolling_start(START + 143) == START
    assert crypto.rolling_start(START + 144) == START + 144
    assert crypto.interval_start(START) == VECTORS["key_generation_unix_seconds"]
