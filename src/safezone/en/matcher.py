"""Fast batch matching of diagnosis keys against an encounter log.

Per key the cost is two HMAC-SHA256 calls (HKDF by hand), one AES-128-ECB call over all of
the key's padded blocks (templates are built once per ``(rolling_start, rolling_period)``)
and one C-level set test of the RPIs' 4-byte prefixes against the log. Only keys that pass
the prefix filter take the slow path that compares full RPIs and finds the intervals.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from safezone.en import crypto
from safezone.en.keys import TemporaryExposureKey

_ZERO_SALT = bytes(32)
_RPIK_EXPAND = crypto.RPIK_INFO + b"\x01"


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A diagnosis key whose RPIs were seen: ``hits`` are ``(interval, log_index)`` pairs."""

    key: TemporaryExposureKey
    hits: tuple[tuple[int, int], ...]


class BatchMatcher:
    """Index of logged RPIs that many diagnosis keys can be matched against quickly.

    ``rpis[i]`` is the RPI of log entry ``i``; several entries may share one RPI (the same
    advertisement seen in several scans).
    """

    def __init__(self, rpis: Iterable[bytes]) -> None:
        """Build the index (one dict entry per distinct RPI)."""
        index: dict[bytes, list[int]] = {}
        for position, value in enumerate(rpis):
            index.setdefault(bytes(value), []).append(position)
        self._index = index
        # A uint32-prefix filter is cheaper to probe than 16-byte keys (no hashing of bytes);
        # a prefix hit is confirmed against the full RPI, so false positives cost nothing else.
        self._prefixes = frozenset(int.from_bytes(r[:4], "little") for r in index)
        self._templates: dict[tuple[int, int], bytes] = {}
        self._splitters: dict[int, struct.Struct] = {}

    def __len__(self) -> int:
        """Number of distinct RPIs in the index."""
        return len(self._index)

    def _template(self, start: int, period: int) -> bytes:
        template = self._templates.get((start, period))
        if template is None:
            template = crypto.padded_block(start, period)
            self._templates[(start, period)] = template
        return template

    def _splitter(self, period: int) -> struct.Struct:
        # One C call extracts the first 4 bytes of each of the ``period`` RPIs as integers.
        splitter = self._splitters.get(period)
        if splitter is None:
            splitter = struct.Struct("<" + "I12x" * period)
            self._splitters[period] = splitter
        return splitter

    def match(self, keys: Iterable[TemporaryExposureKey]) -> list[KeyMatch]:
        """Return the keys with at least one RPI in the log, in input order."""
        digest = hmac.digest
        prefixes = self._prefixes
        index = self._index
        aes = algorithms.AES
        ecb = crypto._ECB
        results: list[KeyMatch] = []
        for key in keys:
            start, period = key.rolling_start_interval_number, key.rolling_period
            rpik = digest(digest(_ZERO_SALT, key.key_data, "sha256"), _RPIK_EXPAND, "sha256")
            out = Cipher(aes(rpik[:16]), ecb).encryptor().update(self._template(start, period))
            if prefixes.isdisjoint(self._splitter(period).unpack(out)):
                continue
            hits = tuple(
                (start + offset // 16, position)
                for offset in range(0, len(out), 16)
                for position in index.get(out[offset : offset + 16], ())
            )
            if hits:
                results.append(KeyMatch(key, hits))
        return results

    def count_matching_keys(self, keys: Sequence[TemporaryExposureKey]) -> int:
        """Return how many keys have a seen RPI (the benchmark's hot loop, no result objects)."""
        digest = hmac.digest
        prefixes = self._prefixes
        index = self._index
        aes = algorithms.AES
        ecb = crypto._ECB
        found = 0
        for key in keys:
            rpik = digest(digest(_ZERO_SALT, key.key_data, "sha256"), _RPIK_EXPAND, "sha256")
            template = self._template(key.rolling_start_interval_number, key.rolling_period)
            out = Cipher(aes(rpik[:16]), ecb).encryptor().update(template)
            if not prefixes.isdisjoint(self._splitter(key.rolling_period).unpack(out)) and any(
                out[i : i + 16] in index for i in range(0, len(out), 16)
            ):
                found += 1
        return found
