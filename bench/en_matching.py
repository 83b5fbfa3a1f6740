"""Benchmark: derive all 144 RPIs of N diagnosis keys and match them against an encounter log.

Prints exactly one JSON line with keys/s for:

- ``ours``: :class:`safezone.en.matcher.BatchMatcher` (HKDF on precomputed SHA-256 states, one
  AES-ECB context per key writing into a chunk buffer, numpy prefix filters per chunk of keys,
  exact 16-byte confirmation of the survivors);
- ``straightforward``: the obvious implementation with ``cryptography``'s HKDF object and one
  ``Cipher`` per RPI, then a set lookup per RPI;
- ``exponot``: the PyPI package ``exponot``'s published RPI function (its output is first
  checked against ours; its clock functions are never called);
- ``openssl_limit``: what ``openssl speed`` says the machine could do at best for the same
  work (AES-128-ECB over 144 blocks plus 8 SHA-256 compressions per key), no Python at all;

and the ratios between them. All implementations must report the same number of matching
keys on the keys they process (planted matches), or the benchmark fails.

    .venv/bin/python bench/en_matching.py [--keys N] [--log-size 50000]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from safezone.en import crypto
from safezone.en.keys import TemporaryExposureKey
from safezone.en.matcher import BatchMatcher

DAY0 = crypto.interval_number(1_614_556_800) // 144 * 144  # 2021-03-01 UTC
DAYS = 14
PLANTED = 50


def make_workload(
    n_keys: int, log_size: int, rng: random.Random
) -> tuple[list[TemporaryExposureKey], list[bytes], list[int]]:
    """Random keys over 14 days and a log of random RPIs with some planted true sightings."""
    keys = [
        TemporaryExposureKey(rng.randbytes(16), DAY0 + 144 * rng.randrange(DAYS))
        for _ in range(n_keys)
    ]
    log = [rng.randbytes(16) for _ in range(log_size)]
    # Plant sightings of the first PLANTED keys, so every implementation has real hits.
    planted = list(range(min(PLANTED, n_keys)))
    for index in planted:
        key = keys[index]
        rpis = crypto.rolling_rpis(key.key_data, key.rolling_start_interval_number)
        log[rng.randrange(log_size)] = rpis[rng.randrange(144)]
    return keys, log, planted


def straightforward_count(keys: Sequence[TemporaryExposureKey], log: set[bytes]) -> int:
    """The obvious implementation: an HKDF object per key and a Cipher object per RPI."""
    found = 0
    for key in keys:
        rpik = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"EN-RPIK").derive(
            key.key_data
        )
        for j in range(key.rolling_period):
            padded = (
                b"EN-RPI" + bytes(6) + (key.rolling_start_interval_number + j).to_bytes(4, "little")
            )
            rpi = Cipher(algorithms.AES(rpik), modes.ECB()).encryptor().update(padded)
            if rpi in log:
                found += 1
                break
    return found


def exponot_functions() -> Any:
    """Import exponot's module, or None when it (or its pycryptodome dependency) is missing."""
    try:
        from exponot import exponot
    except ImportError:
        return None
    return exponot


def exponot_count(module: Any, keys: Sequence[TemporaryExposureKey], log: set[bytes]) -> int:
    """Match with exponot's published ``rolling_proximity_identifier`` (no clock functions)."""
    found = 0
    for key in keys:
        for j in range(key.rolling_period):
            rpi = module.rolling_proximity_identifier(
                key.rolling_start_interval_number + j, key.key_data
            )
            if rpi in log:
                found += 1
                break
    return found


def check_exponot_agrees(module: Any, rng: random.Random) -> None:
    """Fail loudly if exponot's outputs differ from ours."""
    metadata = bytes.fromhex("40080000")
    for _ in range(5):
        tek = rng.randbytes(16)
        interval = DAY0 + rng.randrange(144 * DAYS)
        rpi = crypto.rpi(crypto.derive_rpik(tek), interval)
        assert module.rolling_proximity_identifier_key(tek) == crypto.derive_rpik(tek)
        assert module.associated_encrypted_metadata_key(tek) == crypto.derive_aemk(tek)
        assert module.rolling_proximity_identifier(interval, tek) == rpi
        expected_aem = crypto.encrypt_aem(crypto.derive_aemk(tek), rpi, metadata)
        assert module.associated_encrypted_metadata(interval, tek, metadata) == expected_aem


def timed(function: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` runs, and the function's result."""
    best, result = float("inf"), -1
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - started)
    return best, result


def openssl_bytes_per_second(algorithm: str, block: int) -> float | None:
    """Throughput of ``openssl speed -evp`` for one block size, in bytes/s."""
    binary = shutil.which("openssl")
    if binary is None:
        return None
    completed = subprocess.run(
        [binary, "speed", "-evp", algorithm, "-bytes", str(block), "-seconds", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    match = re.search(r"^\S+\s+([0-9.]+)k\s*$", completed.stdout, re.MULTILINE)
    return float(match.group(1)) * 1000 if match else None


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=50_000, help="diagnosis keys for ours")
    parser.add_argument("--log-size", type=int, default=50_000, help="sightings in the log")
    parser.add_argument("--baseline-keys", type=int, default=1_000, help="keys for straightforward")
    parser.add_argument("--exponot-keys", type=int, default=300, help="keys for exponot")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20210301)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    keys, log, planted = make_workload(args.keys, args.log_size, rng)
    log_set = set(log)

    matcher = BatchMatcher(log)
    ours_seconds, ours_found = timed(lambda: matcher.count_matching_keys(keys), args.repeat)
    if ours_found < len(planted):
        sys.exit(f"ours found {ours_found} keys, fewer than the {len(planted)} planted")

    def expected(n: int) -> int:
        return matcher.count_matching_keys(keys[:n])

    base_keys = keys[: args.baseline_keys]
    base_seconds, base_found = timed(lambda: straightforward_count(base_keys, log_set), 1)
    if base_found != expected(len(base_keys)):
        sys.exit("straightforward implementation disagrees with ours")

    module = exponot_functions()
    exponot_rate: float | None = None
    if module is not None:
        check_exponot_agrees(module, rng)
        ex_keys = keys[: args.exponot_keys]
        ex_seconds, ex_found = timed(lambda: exponot_count(module, ex_keys, log_set), 1)
        if ex_found != expected(len(ex_keys)):
            sys.exit("exponot disagrees with ours")
        exponot_rate = len(ex_keys) / ex_seconds

    aes = openssl_bytes_per_second("aes-128-ecb", 144 * 16)
    sha = openssl_bytes_per_second("sha256", 8192)
    # Per key: 144 AES blocks; HKDF = 2 HMACs = 8 SHA-256 compressions of 64 bytes.
    aes_limit = aes / (144 * 16) if aes else None
    sha_limit = sha / (8 * 64) if sha else None
    limit = 1 / (1 / aes_limit + 1 / sha_limit) if aes_limit and sha_limit else None

    ours_rate = len(keys) / ours_seconds
    base_rate = len(base_keys) / base_seconds

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 2) if a and b else None

    print(
        json.dumps(
            {
                "benchmark": "en_matching",
                "keys": len(keys),
                "log_sightings": len(log),
                "matching_keys": ours_found,
                "ours_keys_per_s": round(ours_rate),
                "straightforward_keys_per_s": round(base_rate),
                "exponot_keys_per_s": round(exponot_rate) if exponot_rate else None,
                "openssl_aes128ecb_limit_keys_per_s": round(aes_limit) if aes_limit else None,
                "openssl_sha256_limit_keys_per_s": round(sha_limit) if sha_limit else None,
                "openssl_limit_keys_per_s": round(limit) if limit else None,
                "ratio_ours_vs_straightforward": ratio(ours_rate, base_rate),
                "ratio_ours_vs_exponot": ratio(ours_rate, exponot_rate),
                "ratio_ours_vs_openssl_limit": ratio(ours_rate, limit),
                "target_keys_per_s": 200_000,
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )


if __name__ == "__main__":
    main()
