"""Fast batch matching of diagnosis keys against an encounter log.

Keys are processed in chunks of :data:`_CHUNK`. For every key, Python does only what cannot be
batched: HKDF by hand on precomputed SHA-256 states (six compressions, no ``hmac`` module
overhead) and one AES-128-ECB context that encrypts the key's 144 padded blocks straight into
the key's slot of a shared chunk buffer. Matching is then done for the whole chunk with numpy:
the first 32-bit word of every RPI is looked up in a boolean table of the log's prefixes, the
survivors' second word in a second table, and only the few blocks left are compared in full
(16 bytes) against the log's index in Python. Filters never drop a real match; every reported
hit is an exact 16-byte equality, so results equal the straightforward implementation's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import (
    Cipher,
    CipherAlgorithm,
    CipherContext,
    algorithms,
    modes,
)

from safezone.en import crypto
from safezone.en.keys import TemporaryExposureKey

_BLOCKS: Final = crypto.TEK_ROLLING_PERIOD
_SLOT: Final = _BLOCKS * crypto.RPI_LENGTH
_CHUNK = 1024
"""Keys per numpy batch: the chunk buffer (2.3 MB) and the filter tables stay near L2 size."""

# HKDF-SHA256(TEK, salt=None, info="EN-RPIK"): extract = HMAC(32 zero bytes, TEK) starts from
# two fixed states (the key blocks 0x36*64 and 0x5c*64), which are copied instead of rehashed;
# expand = HMAC(PRK, "EN-RPIK" || 0x01) XORs PRK with the pads by bytes.translate.
_EXTRACT_INNER: Final = hashlib.sha256(b"\x36" * 64)
_EXTRACT_OUTER: Final = hashlib.sha256(b"\x5c" * 64)
_IPAD: Final = bytes(value ^ 0x36 for value in range(256))
_OPAD: Final = bytes(value ^ 0x5C for value in range(256))
_EXPAND_INNER_TAIL: Final = b"\x36" * 32 + crypto.RPIK_INFO + b"\x01"
_EXPAND_OUTER_TAIL: Final = b"\x5c" * 32

_ECB: Final = modes.ECB()  # noqa: S305 -- the spec prescribes one independent block per RPI

ContextFactory = Callable[[CipherAlgorithm, modes.ECB], CipherContext]


def _public_context(algorithm: CipherAlgorithm, mode: modes.ECB) -> CipherContext:
    return Cipher(algorithm, mode).encryptor()


def _fast_context_factory() -> ContextFactory:
    """Return ``cryptography``'s context constructor without its Python wrappers if it works.

    ``Cipher(...).encryptor()`` spends about 1 us per key in Python validation around the Rust
    call that creates the OpenSSL context. The Rust call is used directly only if it exists and
    passes the FIPS-197 (appendix C.1) known-answer test; otherwise the public API is used.
    """
    try:
        from cryptography.hazmat.bindings._rust import openssl as rust_openssl

        factory: ContextFactory = rust_openssl.ciphers.create_encryption_ctx
        context = factory(algorithms.AES128(bytes(range(16))), _ECB)
        answer = context.update(bytes.fromhex("00112233445566778899aabbccddeeff") * 2)
    except Exception:  # noqa: BLE001 -- any failure of a private API means: do not use it
        return _public_context
    if answer != bytes.fromhex("69c4e0d86a7b0430d8cdb78070b4c55a") * 2:
        return _public_context
    return factory


_new_context: ContextFactory = _fast_context_factory()


def _derive_into(
    keys: Sequence[TemporaryExposureKey],
    slots: Sequence[memoryview],
    templates: dict[int, bytes],
    make_template: Callable[[int], bytes],
) -> None:
    """Write the ciphertext of each key's padded blocks into its slot (one AES call per key)."""
    inner_copy = _EXTRACT_INNER.copy
    outer_copy = _EXTRACT_OUTER.copy
    sha256 = hashlib.sha256
    ipad, opad = _IPAD, _OPAD
    inner_tail, outer_tail = _EXPAND_INNER_TAIL, _EXPAND_OUTER_TAIL
    new_context, ecb = _new_context, _ECB
    # One algorithm object per call, re-keyed for every key: the context copies the key when it
    # is created, and the object never leaves this function.
    algorithm = algorithms.AES128(bytes(16))
    cached = templates.get
    for key, slot in zip(keys, slots, strict=False):
        start = key.rolling_start_interval_number
        template = cached(start)
        if template is None:
            template = make_template(start)
        state = inner_copy()
        state.update(key.key_data)
        extracted = state.digest()
        state = outer_copy()
        state.update(extracted)
        prk = state.digest()
        inner = sha256(prk.translate(ipad) + inner_tail).digest()
        algorithm.key = sha256(prk.translate(opad) + outer_tail + inner).digest()[:16]
        new_context(algorithm, ecb).update_into(template, slot)


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A diagnosis key whose RPIs were seen: ``hits`` are ``(interval, log_index)`` pairs."""

    key: TemporaryExposureKey
    hits: tuple[tuple[int, int], ...]


def _table(words: npt.NDArray[np.uint32], bits: int) -> npt.NDArray[np.bool_]:
    table = np.zeros(1 << bits, dtype=np.bool_)
    table[words >> (32 - bits)] = True
    return table


class BatchMatcher:
    """Index of logged RPIs that many diagnosis keys can be matched against quickly.

    ``rpis[i]`` is the RPI of log entry ``i``; several entries may share one RPI (the same
    advertisement seen in several scans).
    """

    def __init__(self, rpis: Iterable[bytes]) -> None:
        """Build the index (one dict entry per distinct RPI) and the two prefix tables."""
        index: dict[bytes, list[int]] = {}
        for position, value in enumerate(rpis):
            index.setdefault(bytes(value), []).append(position)
        self._index = index
        # Table sizes grow with the log: at most 1/16 of the first table and 1/64 of the second
        # are set, so ~5 of a key's 144 blocks pass the first and ~0.1 the second.
        size = len(index).bit_length()
        self._bits = (min(size + 4, 22), min(size + 6, 24))
        words = np.frombuffer(b"".join(r[:8] for r in index), dtype="<u4").reshape(-1, 2)
        self._first = _table(words[:, 0], self._bits[0])
        self._second = _table(words[:, 1], self._bits[1])
        self._templates: dict[int, bytes] = {}

    def __len__(self) -> int:
        """Number of distinct RPIs in the index."""
        return len(self._index)

    def _new_template(self, start: int) -> bytes:
        """Cache and return the padded blocks of ``start`` .. ``start + 143``.

        Fewer blocks at the end of the uint32 range. Every key is encrypted over a full day;
        blocks at or beyond its rolling period are ignored when hits are confirmed, so one
        template serves every period.
        """
        count = min(_BLOCKS, crypto.MAX_INTERVAL + 1 - crypto.check_interval(start))
        template = self._templates[start] = crypto.padded_block(start, count)
        return template

    def _found(self, keys: Sequence[TemporaryExposureKey]) -> Iterator[tuple[int, int, bytes]]:
        """Yield ``(key position, block, rpi)`` for every RPI of ``keys`` that is in the log.

        Blocks come in ascending order per key and keys in input order.
        """
        index = self._index
        if not index or not keys:
            return
        chunk_size = min(_CHUNK, len(keys))
        # ``update_into`` wants block size - 1 spare bytes after the output; ECB never uses them.
        buffer = bytearray(chunk_size * _SLOT + 15)
        view = memoryview(buffer)
        slots = [view[i * _SLOT :] for i in range(chunk_size)]
        words = np.frombuffer(buffer, dtype="<u4", count=chunk_size * _SLOT // 4)
        first_words, second_words = words[0::4], words[1::4]
        first, second = self._first, self._second
        first_shift, second_shift = 32 - self._bits[0], 32 - self._bits[1]
        scratch = np.empty(chunk_size * _BLOCKS, dtype=np.intp)
        passed = np.empty(chunk_size * _BLOCKS, dtype=np.bool_)
        templates, make_template = self._templates, self._new_template
        for begin in range(0, len(keys), chunk_size):
            chunk = keys[begin : begin + chunk_size]
            _derive_into(chunk, slots, templates, make_template)
            blocks = len(chunk) * _BLOCKS
            np.right_shift(
                first_words[:blocks], first_shift, out=scratch[:blocks], casting="unsafe"
            )
            # Indices are in range by construction; "clip" skips numpy's per-index check.
            np.take(first, scratch[:blocks], out=passed[:blocks], mode="clip")
            candidates = np.flatnonzero(passed[:blocks])
            shifted = second_words[candidates] >> second_shift
            candidates = candidates[np.take(second, shifted, mode="clip")]
            for block in candidates.tolist():
                position, offset = divmod(block, _BLOCKS)
                if offset >= chunk[position].rolling_period:
                    continue  # beyond the key's validity (or stale bytes of a shorter template)
                rpi = bytes(view[block * 16 : block * 16 + 16])
                if rpi in index:
                    yield begin + position, offset, rpi

    def match(self, keys: Iterable[TemporaryExposureKey]) -> list[KeyMatch]:
        """Return the keys with at least one RPI in the log, in input order."""
        key_list = keys if isinstance(keys, list | tuple) else list(keys)
        index = self._index
        results: list[KeyMatch] = []
        current, hits = -1, list[tuple[int, int]]()
        for position, offset, rpi in self._found(key_list):
            if position != current:
                if hits:
                    results.append(KeyMatch(key_list[current], tuple(hits)))
                current, hits = position, []
            interval = key_list[position].rolling_start_interval_number + offset
            hits.extend((interval, log_index) for log_index in index[rpi])
        if hits:
            results.append(KeyMatch(key_list[current], tuple(hits)))
        return results

    def count_matching_keys(self, keys: Sequence[TemporaryExposureKey]) -> int:
        """Return how many keys have a seen RPI (the benchmark's hot loop, no result objects)."""
        return len({position for position, _, _ in self._found(keys)})
