"""BatchMatcher's numpy fast path against a straightforward matcher, on vectors and random data."""

from __future__ import annotations

import hmac
import random
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from safezone.en import crypto, matcher
from safezone.en.errors import InvalidIntervalError
from safezone.en.keys import TemporaryExposureKey
from safezone.en.matcher import BatchMatcher, KeyMatch
from tests.en.en_testdata import VECTORS

TEK = bytes.fromhex(VECTORS["tek"])
START = VECTORS["rolling_start_interval_number"]
VECTOR_RPIS = [bytes.fromhex(v["rpi"]) for v in VECTORS["intervals"]]
DAY = 2_690_000 // 144 * 144
LAST_START = crypto.MAX_INTERVAL - 143  # the last start whose 144 intervals fit in uint32


def simple_rpis(key: TemporaryExposureKey) -> list[bytes]:
    """RPIs of a key the obvious way: RFC 5869 HKDF by hmac, one Cipher per interval."""
    prk = hmac.digest(bytes(32), key.key_data, "sha256")
    rpik = hmac.digest(prk, b"EN-RPIK\x01", "sha256")[:16]
    return [
        Cipher(algorithms.AES(rpik), modes.ECB())
        .encryptor()
        .update(crypto.padded_data(key.rolling_start_interval_number + j))
        for j in range(key.rolling_period)
    ]


def simple_match(keys: Sequence[TemporaryExposureKey], log: Sequence[bytes]) -> list[KeyMatch]:
    """The straightforward matcher: every RPI of every key looked up in a dict of the log."""
    positions: dict[bytes, list[int]] = {}
    for position, value in enumerate(log):
        positions.setdefault(value, []).append(position)
    found = []
    for key in keys:
        hits = tuple(
            (key.rolling_start_interval_number + j, position)
            for j, value in enumerate(simple_rpis(key))
            for position in positions.get(value, ())
        )
        if hits:
            found.append(KeyMatch(key, hits))
    return found


def check_same(keys: Sequence[TemporaryExposureKey], log: Sequence[bytes]) -> list[KeyMatch]:
    expected = simple_match(keys, log)
    fast = BatchMatcher(log)
    assert fast.match(keys) == expected
    assert fast.match(iter(keys)) == expected
    assert fast.count_matching_keys(keys) == len(expected)
    return expected


def test_vector_rpis_are_found_at_their_intervals() -> None:
    key = TemporaryExposureKey(TEK, START)
    log = [bytes(16), VECTOR_RPIS[0], VECTOR_RPIS[77], VECTOR_RPIS[143], VECTOR_RPIS[77]]
    found = check_same([key], log)
    assert found == [
        KeyMatch(key, ((START, 1), (START + 77, 2), (START + 77, 4), (START + 143, 3)))
    ]


def test_rpis_beyond_the_rolling_period_do_not_match() -> None:
    # The fast path encrypts a whole day for every key; blocks past the period must be ignored.
    short = TemporaryExposureKey(TEK, START, rolling_period=77)
    assert check_same([short], [VECTOR_RPIS[77], VECTOR_RPIS[143]]) == []
    assert check_same([short], [VECTOR_RPIS[76]]) == [KeyMatch(short, ((START + 76, 0),))]


@pytest.mark.parametrize("shared", [4, 8, 12, 15])
def test_prefix_decoys_are_not_matches(shared: int) -> None:
    key = TemporaryExposureKey(TEK, START)
    decoys = [r[:shared] + bytes(b ^ 0xFF for b in r[shared:]) for r in VECTOR_RPIS]
    assert check_same([key], decoys) == []
    assert check_same([key], [*decoys, VECTOR_RPIS[5]]) == [KeyMatch(key, ((START + 5, 144),))]


def test_empty_inputs() -> None:
    key = TemporaryExposureKey(TEK, START)
    assert BatchMatcher([]).match([key]) == []
    assert BatchMatcher([]).count_matching_keys([key]) == 0
    assert BatchMatcher(VECTOR_RPIS).match([]) == []
    assert BatchMatcher(VECTOR_RPIS).count_matching_keys([]) == 0
    assert len(BatchMatcher([*VECTOR_RPIS, VECTOR_RPIS[0]])) == 144


def test_keys_at_the_end_of_the_uint32_range(monkeypatch: pytest.MonkeyPatch) -> None:
    # A key starting after LAST_START has a template shorter than a day; with two keys per chunk
    # its slot still holds the previous chunk's ciphertext past that template, which must never
    # be reported.
    monkeypatch.setattr(matcher, "_CHUNK", 2)
    early = [TemporaryExposureKey(bytes([n]) * 16, DAY) for n in range(2)]
    late = [
        TemporaryExposureKey(bytes([9]) * 16, crypto.MAX_INTERVAL - 9, rolling_period=10),
        TemporaryExposureKey(bytes([8]) * 16, crypto.MAX_INTERVAL, rolling_period=1),
        TemporaryExposureKey(bytes([7]) * 16, LAST_START),
    ]
    log = [simple_rpis(k)[-1] for k in early + late] + [simple_rpis(early[1])[20]]
    found = check_same(early + late, log)
    assert [m.key for m in found] == early + late
    assert found[1].hits == ((DAY + 20, 5), (DAY + 143, 1))
    assert found[3].hits == ((crypto.MAX_INTERVAL, 3),)


def test_chunks_of_every_size_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    keys = [
        TemporaryExposureKey(rng.randbytes(16), DAY + 144 * rng.randrange(3), rng.randint(1, 144))
        for _ in range(23)
    ]
    log = [rng.choice(simple_rpis(k)) for k in keys[::3]] + [rng.randbytes(16) for _ in range(50)]
    expected = simple_match(keys, log)
    assert len(expected) == 8
    for size in (1, 2, 5, 22, 23, 24, 1024):
        monkeypatch.setattr(matcher, "_CHUNK", size)
        assert BatchMatcher(log).match(keys) == expected
        assert BatchMatcher(log).count_matching_keys(keys) == 8


def test_duplicate_keys_count_twice() -> None:
    key = TemporaryExposureKey(TEK, START)
    assert BatchMatcher(VECTOR_RPIS[:1]).count_matching_keys([key, key]) == 2
    assert len(check_same([key, key], VECTOR_RPIS[:1])) == 2


def test_invalid_start_raises() -> None:
    class Forged:
        key_data = TEK
        rolling_start_interval_number = -1
        rolling_period = 144

    with pytest.raises(InvalidIntervalError):
        BatchMatcher(VECTOR_RPIS).count_matching_keys([Forged()])  # type: ignore[list-item]


def test_public_cipher_api_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    key = TemporaryExposureKey(TEK, START)
    monkeypatch.setattr(matcher, "_new_context", matcher._public_context)
    assert BatchMatcher(VECTOR_RPIS[3:4]).match([key]) == [KeyMatch(key, ((START + 3, 0),))]


def test_fast_context_factory_falls_back_when_the_private_api_misbehaves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert matcher._fast_context_factory() is not matcher._public_context  # the fast path is live
    from cryptography.hazmat.bindings._rust import openssl as rust_openssl

    original = rust_openssl.ciphers.create_encryption_ctx

    def wrong(algorithm: algorithms.AES128, mode: modes.Mode) -> object:
        return original(algorithms.AES128(bytes(16)), mode)  # ignores the key

    monkeypatch.setattr(rust_openssl.ciphers, "create_encryption_ctx", wrong)
    assert matcher._fast_context_factory() is matcher._public_context
    monkeypatch.delattr(rust_openssl.ciphers, "create_encryption_ctx")
    assert matcher._fast_context_factory() is matcher._public_context


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[TemporaryExposureKey], list[bytes], int]:
    """Keys, a log mixing their RPIs (in and past their period), decoys and noise; a chunk size."""
    starts = st.sampled_from([DAY, DAY + 144, DAY + 5, 0, LAST_START, crypto.MAX_INTERVAL - 3])
    keys = []
    for data in draw(st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=8)):
        start = draw(starts)
        period = draw(st.integers(1, min(144, crypto.MAX_INTERVAL + 1 - start)))
        keys.append(TemporaryExposureKey(data, start, period))
    keys += draw(st.lists(st.sampled_from(keys), max_size=2))  # repeated keys
    log: list[bytes] = []
    for key in keys:
        start = key.rolling_start_interval_number
        # A whole day of RPIs where the uint32 range allows it, else just the key's own.
        whole = TemporaryExposureKey(key.key_data, start) if start <= LAST_START else key
        rpis = simple_rpis(whole)
        for choice in draw(st.lists(st.integers(0, len(rpis) - 1), max_size=3)):
            rpi = rpis[choice]  # past the key's period when choice >= rolling_period
            log.append(rpi)
            log.append(rpi[:8] + bytes(8))  # same 8-byte prefix: passes both numpy filters
    log += draw(st.lists(st.binary(min_size=16, max_size=16), max_size=5))
    log = draw(st.permutations(log))
    return keys, log, draw(st.sampled_from([1, 2, 3, 1024]))


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_fast_path_equals_simple_path(
    scenario: tuple[list[TemporaryExposureKey], list[bytes], int],
) -> None:
    keys, log, chunk = scenario
    saved = matcher._CHUNK
    matcher._CHUNK = chunk
    try:
        check_same(keys, log)
    finally:
        matcher._CHUNK = saved


def test_fast_path_equals_simple_path_on_a_big_random_log() -> None:
    rng = random.Random(2021)
    keys = [
        TemporaryExposureKey(
            rng.randbytes(16), DAY + 144 * rng.randrange(14), rng.randint(100, 144)
        )
        for _ in range(300)
    ]
    log = [rng.randbytes(16) for _ in range(20_000)]
    for key in keys[:40]:
        log[rng.randrange(len(log))] = rng.choice(simple_rpis(key))
    expected = check_same(keys, log)
    assert 30 <= len(expected) <= 40
