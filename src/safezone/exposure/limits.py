"""Brute-force bounds of the phone endpoints without a lock-out (see docs/exposure.md).

Two limits, both kept in the counter store every process shares (:mod:`safezone.ratelimit`):

- **per address**: requests of one client (an opaque, day-scoped key of its address; an IPv6
  address counts as its /64, which one subscriber usually holds whole). Over the limit,
  ``certificate`` and ``publish`` answer 429; ``verify`` asks that address for a proof of work
  at the highest difficulty instead, so a crowd behind one carrier NAT is slowed, never shut out.
- **failed guesses, globally**: only *rejected codes* count, never requests. While the failed
  guesses of the sliding window stay within the budget nothing changes; above it, every code
  check must come with a proof of work whose difficulty grows with how far the budget is
  exceeded (one bit per doubling, capped). A valid code with a valid proof always verifies:
  a stranger's guesses can make verifying slower for a phone, never impossible.

The proof of work is hashcash over SHA-256: the server hands out a signed, expiring challenge;
the phone finds a ``solution`` such that ``SHA-256(challenge ":" solution)`` starts with
``bits`` zero bits (2**bits hashes expected); the server checks it with one hash and spends it
once (a marker in the shared store), so one solved challenge buys one guess.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import count

from safezone.ratelimit import CounterStore, Decision, SlidingWindow

CHALLENGE_VERSION = "1"
MAX_SOLUTION_LENGTH = 32
_GLOBAL = "all"


@dataclass(frozen=True, slots=True)
class Challenge:
    """A proof-of-work challenge handed to a phone: solve ``token`` to ``bits`` zero bits."""

    token: str
    bits: int


@dataclass(frozen=True, slots=True)
class LimitsPolicy:
    """The numbers of the phone limits (from ``ExposureConfig``)."""

    per_client: int
    window_seconds: int
    failed_guess_budget: int
    base_bits: int
    max_bits: int
    challenge_seconds: int


def address_group(address: str) -> str:
    """The unit one client is counted as: an IPv4 address, or the /64 of an IPv6 address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def leading_zero_bits(digest: bytes) -> int:
    """How many leading zero bits ``digest`` has."""
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def proof_digest(challenge: str, solution: str) -> bytes:
    """The hash a solution is judged by: ``SHA-256(challenge ":" solution)``."""
    return hashlib.sha256(f"{challenge}:{solution}".encode()).digest()


def solve(challenge: Challenge) -> str:
    """A solution of ``challenge`` (what a phone computes; 2**bits hashes expected)."""
    for attempt in count():
        solution = format(attempt, "x")
        if leading_zero_bits(proof_digest(challenge.token, solution)) >= challenge.bits:
            return solution
    raise AssertionError("unreachable")  # pragma: no cover


class PhoneLimits:
    """The per-address limit, the failed-guess budget and the proof-of-work challenges."""

    def __init__(
        self,
        store: CounterStore,
        key: bytes,
        policy: LimitsPolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._store = store
        self._key = key
        self._clock = clock
        self._clients = SlidingWindow(
            store,
            "exposure:client",
            limit=policy.per_client,
            window_seconds=policy.window_seconds,
            clock=clock,
        )
        self._failed = SlidingWindow(
            store,
            "exposure:failed-guess",
            limit=policy.failed_guess_budget,
            window_seconds=policy.window_seconds,
            clock=clock,
        )

    def hit_client(self, client: str) -> Decision:
        """Count one request of ``client`` (an opaque key) against the per-address limit."""
        return self._clients.hit(client)

    def client_has_room(self, client: str) -> bool:
        """Whether one more request of ``client`` stays within its limit (counts nothing)."""
        return self._clients.peek(client).count + 1 <= self.policy.per_client

    def record_failed_guess(self) -> None:
        """Count one rejected code against the global budget."""
        self._failed.hit(_GLOBAL)

    def failed_guesses(self) -> float:
        """The failed guesses in the current sliding window (estimate)."""
        return self._failed.peek(_GLOBAL).count

    def required_bits(self, client_has_room: bool = True) -> int:
        """The proof-of-work difficulty a code check needs now (0: none).

        Over the budget: the base difficulty plus one bit per doubling of the excess, capped;
        a client over its own limit gets the cap.
        """
        policy = self.policy
        bits = 0
        failed = self.failed_guesses()
        if failed > policy.failed_guess_budget:
            excess = math.floor(math.log2(failed / policy.failed_guess_budget))
            bits = min(policy.max_bits, policy.base_bits + excess)
        if not client_has_room:
            bits = policy.max_bits
        return bits

    def _mac(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def challenge(self, bits: int) -> Challenge:
        """A fresh challenge of ``bits`` zero bits, valid ``challenge_seconds``."""
        expires = int(self._clock()) + self.policy.challenge_seconds
        body = f"{CHALLENGE_VERSION}.{expires}.{bits}.{secrets.token_hex(12)}"
        return Challenge(f"{body}.{self._mac(body)}", bits)

    def accept_proof(self, token: str, solution: str, required_bits: int) -> bool:
        """Whether ``solution`` solves a challenge we issued, unexpired, unspent, hard enough.

        A challenge one bit easier than now required is still accepted: the failed guesses may
        have doubled while the phone was solving it. Spends the challenge when accepted.
        """
        parts = token.split(".")
        if len(parts) != 5 or parts[0] != CHALLENGE_VERSION or len(solution) > MAX_SOLUTION_LENGTH:
            return False
        body, mac = ".".join(parts[:4]), parts[4]
        if not hmac.compare_digest(mac, self._mac(body)):
            return False
        try:
            expires, bits = int(parts[1]), int(parts[2])
        except ValueError:
            return False
        if expires <= self._clock() or bits < required_bits - 1:
            return False
        if leading_zero_bits(proof_digest(token, solution)) < bits:
            return False
        # One solved challenge buys one guess, in every process: the first to spend it wins.
        spent = self._store.add(
            f"exposure:pow-spent:{mac}", expires, 1, self.policy.challenge_seconds
        )
        return spent == 1
