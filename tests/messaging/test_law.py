"""The law (quiet hours, rolling cap, claim-time decision) against a simple reference model.

The reference walks time minute by minute and checks the rules literally; the hypothesis
tests keep every instant on whole minutes so the walk lands on the exact answer.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safezone.messaging import law
from safezone.messaging.law import Rules

VN = ZoneInfo("Asia/Ho_Chi_Minh")
BASE = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def local(y: int, m: int, d: int, hh: int, mm: int) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN)


# --- examples the issue names -----------------------------------------------------------------


def test_a_message_due_at_21_59_sent_at_22_00_waits_until_07_00() -> None:
    assert law.in_window(local(2026, 11, 30, 21, 59))
    assert not law.in_window(local(2026, 11, 30, 22, 0))
    assert law.next_window_start(local(2026, 11, 30, 22, 0)) == local(2026, 12, 1, 7, 0)
    decision = law.decide(
        local(2026, 11, 30, 22, 0),
        contact_status="active",
        installed=False,
        sent_times=[],
        not_after=local(2026, 12, 1, 21, 0),
    )
    assert decision == law.Decision("defer", "quiet_hours", local(2026, 12, 1, 7, 0))


def test_before_opening_waits_for_today() -> None:
    assert law.next_window_start(local(2026, 11, 30, 6, 59)) == local(2026, 11, 30, 7, 0)


def test_a_fourth_message_within_24_hours_is_deferred() -> None:
    sent = [local(2026, 11, 30, 8, 0), local(2026, 11, 30, 9, 0), local(2026, 11, 30, 10, 0)]
    decision = law.decide(
        local(2026, 11, 30, 11, 0),
        contact_status="active",
        installed=False,
        sent_times=sent,
        not_after=local(2026, 12, 2, 0, 0),
    )
    assert decision == law.Decision("defer", "cap", local(2026, 12, 1, 8, 0))


def test_cap_then_quiet_hours() -> None:
    # The cap frees at 23:00, which is outside the window: the answer is 07:00 next day.
    sent = [local(2026, 11, 29, 23, 0), local(2026, 11, 30, 8, 0), local(2026, 11, 30, 9, 0)]
    at = law.earliest_send(local(2026, 11, 30, 12, 0), sent)
    assert at == local(2026, 12, 1, 7, 0)


@pytest.mark.parametrize(
    ("status", "installed", "reason"),
    [
        ("opted_out", False, "opted_out"),
        ("invalid", False, "invalid"),
        ("active", True, "installed"),
    ],
)
def test_cancel_reasons(status: str, installed: bool, reason: str) -> None:
    decision = law.decide(
        local(2026, 11, 30, 10, 0),
        contact_status=status,
        installed=installed,
        sent_times=[],
        not_after=local(2026, 12, 1, 0, 0),
    )
    assert decision == law.Decision("cancel", reason)


def test_too_old_when_the_window_opens_after_not_after() -> None:
    decision = law.decide(
        local(2026, 11, 30, 23, 0),
        contact_status="active",
        installed=False,
        sent_times=[],
        not_after=local(2026, 12, 1, 6, 0),
    )
    assert decision == law.Decision("cancel", "too_old")


def test_window_across_midnight_and_no_window() -> None:
    night = Rules(window_start=dt.time(20, 0), window_end=dt.time(6, 0))
    assert law.in_window(local(2026, 11, 30, 23, 0), night)
    assert not law.in_window(local(2026, 11, 30, 12, 0), night)
    assert law.next_window_start(local(2026, 11, 30, 12, 0), night) == local(2026, 11, 30, 20, 0)
    always = Rules(window_start=dt.time(0, 0), window_end=dt.time(0, 0))
    assert law.in_window(local(2026, 11, 30, 3, 0), always)


def test_bad_rules_and_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        Rules(cap=0)
    with pytest.raises(ValueError, match="naive"):
        law.in_window(dt.datetime(2026, 1, 1))


# --- the reference model -----------------------------------------------------------------------


def ref_in_window(instant: dt.datetime, rules: Rules) -> bool:
    minutes = instant.astimezone(VN).hour * 60 + instant.astimezone(VN).minute
    start = rules.window_start.hour * 60 + rules.window_start.minute
    end = rules.window_end.hour * 60 + rules.window_end.minute
    if start == end:
        return True
    allowed = {m % 1440 for m in range(start, end if end > start else end + 1440)}
    return minutes in allowed


def ref_count(sent: list[dt.datetime], instant: dt.datetime, rules: Rules) -> int:
    return sum(1 for t in sent if instant - rules.cap_window < t <= instant)


def ref_earliest(instant: dt.datetime, sent: list[dt.datetime], rules: Rules) -> dt.datetime:
    at = instant
    while not (ref_in_window(at, rules) and ref_count(sent, at, rules) < rules.cap):
        at += MINUTE
    return at


minutes_of_day = st.integers(min_value=0, max_value=1439).map(lambda m: dt.time(m // 60, m % 60))
rules_strategy = st.builds(
    Rules,
    window_start=minutes_of_day,
    window_end=minutes_of_day,
    cap=st.integers(min_value=1, max_value=4),
    cap_window=st.integers(min_value=1, max_value=30).map(lambda h: dt.timedelta(hours=h)),
)
instants = st.integers(min_value=0, max_value=3 * 1440).map(lambda m: BASE + m * MINUTE)


@settings(max_examples=150, deadline=None)
@given(rules=rules_strategy, now=instants, offsets=st.lists(st.integers(0, 2 * 1440), max_size=8))
def test_earliest_send_matches_the_reference(
    rules: Rules, now: dt.datetime, offsets: list[int]
) -> None:
    sent = [now - m * MINUTE for m in offsets]  # all in the past (or now)
    assert law.earliest_send(now, sent, rules) == ref_earliest(now, sent, rules)


@settings(max_examples=150, deadline=None)
@given(rules=rules_strategy, now=instants)
def test_in_window_matches_the_reference(rules: Rules, now: dt.datetime) -> None:
    assert law.in_window(now, rules) == ref_in_window(now, rules)


@settings(max_examples=60, deadline=None)
@given(
    rules=rules_strategy,
    arrivals=st.lists(st.integers(0, 4 * 1440), min_size=1, max_size=12),
)
def test_a_sender_obeying_decide_never_breaks_the_law(rules: Rules, arrivals: list[int]) -> None:
    """Messages to one number arrive at random times; the sender sends each at the instant
    decide allows. Every send is inside the window and no rolling window exceeds the cap."""
    sent: list[dt.datetime] = []
    for offset in sorted(arrivals):
        now = BASE + offset * MINUTE
        decision = law.decide(
            now,
            contact_status="active",
            installed=False,
            sent_times=sent,
            not_after=now + dt.timedelta(days=30),
            rules=rules,
        )
        at = now if decision.action == "send" else decision.at
        assert decision.action in ("send", "defer")
        assert at is not None
        # A sender retrying at the deferred time gets "send".
        assert law.decide(
            at,
            contact_status="active",
            installed=False,
            sent_times=sent,
            not_after=at + dt.timedelta(days=1),
            rules=rules,
        ) == law.Decision("send")
        sent.append(at)
    for t in sent:
        assert ref_in_window(t, rules)
        assert ref_count(sent, t, rules) <= rules.cap
