"""Limits of the phone endpoints: shared counters, a failed-guess budget that asks for a proof of
work instead of refusing, and no way for a stranger to lock a phone with a valid code out.

Every test runs against both counter stores (``counter_store``: SQL, then Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safezone.app import create_app
from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.exposure.api import ExposureRuntime
from safezone.exposure.limits import (
    Challenge,
    LimitsPolicy,
    PhoneLimits,
    address_group,
    leading_zero_bits,
    proof_digest,
    solve,
)
from safezone.ratelimit import CounterStore
from tests.exposure.conftest import IssueCode, new_app_key

BUDGET = 10
PER_CLIENT = 5
BASE_BITS = 4
MAX_BITS = 6


@pytest.fixture
def exposure_config() -> ExposureConfig:
    """Small limits and cheap proofs, so a test can exceed them quickly."""
    return ExposureConfig(
        health_authorities={"safezone-demo": "VN"},
        rate_limit_per_client=PER_CLIENT,
        failed_guess_budget=BUDGET,
        proof_of_work_base_bits=BASE_BITS,
        proof_of_work_max_bits=MAX_BITS,
    )


def policy(**changes: int) -> LimitsPolicy:
    values = {
        "per_client": PER_CLIENT,
        "window_seconds": 3600,
        "failed_guess_budget": BUDGET,
        "base_bits": BASE_BITS,
        "max_bits": MAX_BITS,
        "challenge_seconds": 300,
    } | changes
    return LimitsPolicy(**values)


def an_app(settings: Settings, store: CounterStore) -> FastAPI:
    """A new app instance, as another process (or the same one after a restart) builds it:
    its own database engine and runtime, nothing in memory shared with the others."""
    app = create_app(settings, Database(settings.sqlalchemy_url))
    app.state.exposure = ExposureRuntime.build(settings, app.state.database, store=store)
    return app


@contextmanager
def client_from(app: FastAPI, address: str) -> Iterator[TestClient]:
    """A client of ``app`` whose requests come from ``address``."""
    with TestClient(
        app,
        base_url="http://testserver",
        client=(address, 40000),
        headers={"X-API-Key": new_app_key(app.state.database)},
    ) as client:
        yield client


def verify(client: TestClient, code: str) -> Any:
    """POST /api/v1/verify as a phone does: when asked for a proof of work, solve it and send
    the same request again (again if the difficulty rose meanwhile)."""
    body: dict[str, str] = {"code": code}
    for _ in range(3):
        answer = client.post("/api/verify", json=body)
        if answer.status_code != 428:
            return answer
        asked = answer.json()
        solution = solve(Challenge(asked["powChallenge"], asked["powBits"]))
        body = {"code": code, "powChallenge": asked["powChallenge"], "powSolution": solution}
    return answer


def wrong_code(n: int) -> str:
    return f"{90_000_000 + n:08d}"


# --- the limits on their own -------------------------------------------------------------------


def test_proof_of_work_is_asked_only_over_the_budget_and_grows_with_it(
    counter_store: CounterStore,
) -> None:
    limits = PhoneLimits(counter_store, b"k" * 32, policy())
    fine = limits.client_has_room("phone")
    for _ in range(BUDGET):
        limits.record_failed_guess()
    assert limits.required_bits(fine) == 0  # within the budget: nothing asked
    limits.record_failed_guess()
    assert limits.required_bits(fine) == BASE_BITS
    for _ in range(BUDGET):
        limits.record_failed_guess()
    assert limits.required_bits(fine) == BASE_BITS + 1  # one bit per doubling
    for _ in range(8 * BUDGET):
        limits.record_failed_guess()
    assert limits.required_bits(fine) == MAX_BITS  # capped


def test_a_client_over_its_limit_pays_the_highest_difficulty(counter_store: CounterStore) -> None:
    limits = PhoneLimits(counter_store, b"k" * 32, policy())
    decisions = [limits.hit_client("busy") for _ in range(PER_CLIENT + 1)]
    assert [d.allowed for d in decisions] == [True] * PER_CLIENT + [False]
    assert not limits.client_has_room("busy")
    assert limits.required_bits(limits.client_has_room("busy")) == MAX_BITS
    assert limits.client_has_room("other")
    assert limits.required_bits(limits.client_has_room("other")) == 0


def test_a_proof_is_checked_spent_once_and_bound_to_our_key(counter_store: CounterStore) -> None:
    clock = [1_000_000.0]
    limits = PhoneLimits(counter_store, b"k" * 32, policy(), clock=lambda: clock[0])
    challenge = limits.challenge(BASE_BITS)
    solution = solve(challenge)
    assert leading_zero_bits(proof_digest(challenge.token, solution)) >= BASE_BITS
    wrong = next(
        str(n)
        for n in range(10_000)
        if leading_zero_bits(proof_digest(challenge.token, str(n))) < BASE_BITS
    )
    assert not limits.accept_proof(challenge.token, wrong, BASE_BITS)
    assert not limits.accept_proof(challenge.token, solution, BASE_BITS + 2)  # too easy by now
    forged = PhoneLimits(counter_store, b"x" * 32, policy()).challenge(BASE_BITS)
    assert not limits.accept_proof(forged.token, solve(forged), BASE_BITS)
    assert limits.accept_proof(challenge.token, solution, BASE_BITS + 1)  # one doubling late
    assert not limits.accept_proof(challenge.token, solution, BASE_BITS)  # replay
    late = limits.challenge(BASE_BITS)
    clock[0] += 301
    assert not limits.accept_proof(late.token, solve(late), BASE_BITS)  # expired


def test_an_ipv6_client_counts_as_its_64_prefix() -> None:
    assert address_group("2001:db8:1:2:aaaa::1") == address_group("2001:db8:1:2:bbbb::9")
    assert address_group("2001:db8:1:3::1") != address_group("2001:db8:1:2::1")
    assert address_group("::ffff:10.0.0.7") == "10.0.0.7"
    assert address_group("10.0.0.7") == "10.0.0.7"
    assert address_group("testclient") == "testclient"


# --- over HTTP: the attack of issue 8 item 3 ---------------------------------------------------


def test_many_addresses_guessing_never_stop_a_phone_with_a_valid_code(
    settings: Settings, counter_store: CounterStore, issue_code: IssueCode
) -> None:
    app = an_app(settings, counter_store)
    issued = issue_code()
    # 40 addresses guess, 3 codes each (under the per-address limit): 120 failed guesses, twelve
    # times the budget. Beyond the budget each guess needs a solved proof of work.
    for n in range(40):
        with client_from(app, f"198.51.100.{n}") as attacker:
            for m in range(3):
                answer = verify(attacker, wrong_code(3 * n + m))
                assert answer.status_code == 400, answer.text
    with client_from(app, "203.0.113.5") as stranger:
        unproven = stranger.post("/api/verify", json={"code": issued.short_code})
    assert unproven.status_code == 428
    assert unproven.json()["errorCode"] == "proof_of_work_required"
    assert unproven.json()["powBits"] == MAX_BITS  # 120 > 4 x budget: capped
    with client_from(app, "203.0.113.9") as phone:
        verified = verify(phone, issued.short_code)
    assert verified.status_code == 200, verified.text
    assert verified.json()["token"]
    # The unproven request above did not spend the code: the phone still got it.


def test_one_address_flooding_neither_locks_others_out_nor_guesses_for_free(
    settings: Settings, counter_store: CounterStore, issue_code: IssueCode
) -> None:
    app = an_app(settings, counter_store)
    issued = issue_code()
    with client_from(app, "198.51.100.1") as flood:
        answers = [
            flood.post("/api/verify", json={"code": wrong_code(n)}).status_code for n in range(30)
        ]
        # Its own limit: the first requests are checked, the rest wait for a proof of work.
        assert answers[:PER_CLIENT] == [400] * PER_CLIENT
        assert set(answers[PER_CLIENT:]) == {428}
        assert (
            flood.post("/api/certificate", json={"token": "t", "ekeyhmac": "x"}).status_code == 429
        )
    with client_from(app, "198.51.100.2") as phone:
        verified = phone.post("/api/verify", json={"code": issued.short_code})
        assert verified.status_code == 200  # no proof needed: only 5 guesses were checked
        certificate = phone.post(
            "/api/certificate",
            json={"token": verified.json()["token"], "ekeyhmac": "A" * 43 + "="},
        )
        assert certificate.status_code == 200, certificate.text


def test_limits_hold_across_two_app_instances_and_a_restart(
    settings: Settings, counter_store: CounterStore, issue_code: IssueCode
) -> None:
    first, second = an_app(settings, counter_store), an_app(settings, counter_store)
    with client_from(first, "198.51.100.1") as attacker:
        for n in range(PER_CLIENT):
            assert attacker.post("/api/verify", json={"code": wrong_code(n)}).status_code == 400
    with client_from(second, "198.51.100.1") as same_address:
        # The other process knows this address has used its share.
        answer = same_address.post("/api/verify", json={"code": wrong_code(99)})
        assert answer.status_code == 428
        assert answer.json()["powBits"] == MAX_BITS
    with client_from(second, "198.51.100.2") as attacker:
        for n in range(BUDGET - PER_CLIENT + 1):
            verify(attacker, wrong_code(100 + n))
    restarted = an_app(settings, counter_store)
    issued = issue_code()
    with client_from(restarted, "203.0.113.1") as phone:
        unproven = phone.post("/api/verify", json={"code": issued.short_code})
        assert unproven.status_code == 428  # the budget spent before the restart still counts
        assert unproven.json()["powBits"] == BASE_BITS
        assert verify(phone, issued.short_code).status_code == 200


def test_a_proof_of_work_buys_one_guess_only(
    settings: Settings, counter_store: CounterStore
) -> None:
    app = an_app(settings, counter_store)
    for _ in range(BUDGET + 1):
        app.state.exposure.limits.record_failed_guess()
    with client_from(app, "198.51.100.1") as attacker:
        asked = attacker.post("/api/verify", json={"code": wrong_code(0)}).json()
        proof = {
            "powChallenge": asked["powChallenge"],
            "powSolution": solve(Challenge(asked["powChallenge"], asked["powBits"])),
        }
        first = attacker.post("/api/verify", json={"code": wrong_code(1), **proof})
        replayed = attacker.post("/api/verify", json={"code": wrong_code(2), **proof})
    assert first.status_code == 400
    assert replayed.status_code == 428
    assert len(first.content) == len(replayed.content)  # padded like every phone answer
