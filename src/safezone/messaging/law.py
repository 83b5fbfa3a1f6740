"""The law and good manners of sending (Decree 91/2020), as pure functions.

* Messages go out only inside the daily window (07:00–22:00 Asia/Ho_Chi_Minh by default). A
  message due outside it waits for the next window; it is never dropped for that reason.
* At most ``cap`` messages per number in any rolling ``cap_window`` (3 in 24 hours), counted
  across all campaigns.
* An opted-out contact, or one who has installed the app a reminder is about, gets nothing
  more, including messages already queued.

The sender calls :func:`decide` when it claims a message (not only the planner when it
plans), with the contact's current state and the times of the messages already sent to that
number. Nothing here reads a clock or a database: time is an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

VIETNAM = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True, slots=True)
class Rules:
    """The configurable rules. ``window_start == window_end`` means no quiet hours; a start
    after the end is a window across midnight."""

    window_start: dt.time = dt.time(7, 0)
    window_end: dt.time = dt.time(22, 0)
    timezone: str = VIETNAM
    cap: int = 3
    cap_window: dt.timedelta = dt.timedelta(hours=24)

    def __post_init__(self) -> None:
        if self.cap < 1:
            raise ValueError("cap must be at least 1")
        if self.cap_window <= dt.timedelta(0):
            raise ValueError("cap_window must be positive")
        ZoneInfo(self.timezone)  # raises for an unknown zone

    @property
    def zone(self) -> ZoneInfo:
        """The zone the window is in."""
        return ZoneInfo(self.timezone)


DEFAULT_RULES = Rules()


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime given where an instant is required")
    return instant


def in_window(instant: dt.datetime, rules: Rules = DEFAULT_RULES) -> bool:
    """True if ``instant`` is inside the sending window (start included, end excluded)."""
    local = _aware(instant).astimezone(rules.zone).time().replace(tzinfo=None)
    start, end = rules.window_start, rules.window_end
    if start == end:
        return True
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight


def next_window_start(instant: dt.datetime, rules: Rules = DEFAULT_RULES) -> dt.datetime:
    """``instant`` if it is inside the window, else the next opening of the window (in UTC)."""
    if in_window(instant, rules):
        return _aware(instant).astimezone(dt.UTC)
    local = instant.astimezone(rules.zone)
    # Outside the window the next opening is today's start or tomorrow's.
    for days in (0, 1):
        day = local.date() + dt.timedelta(days=days)
        opening = dt.datetime.combine(day, rules.window_start, tzinfo=rules.zone)
        if opening > local:
            return opening.astimezone(dt.UTC)
    raise AssertionError("unreachable: an opening is always within a day")


def cap_free_at(
    sent_times: Sequence[dt.datetime], instant: dt.datetime, rules: Rules = DEFAULT_RULES
) -> dt.datetime:
    """The earliest instant at or after ``instant`` when one more message to the number keeps
    every rolling window at or under the cap.

    ``sent_times`` are the send times of messages already out to the number (any order, any
    age). A message sent at ``t`` stops counting at ``t + cap_window``.
    """
    _aware(instant)
    recent = sorted(t for t in sent_times if t > instant - rules.cap_window)
    if len(recent) < rules.cap:
        return instant.astimezone(dt.UTC)
    # Sending needs at most cap-1 in the window: wait until all but the newest cap-1 expire.
    blocker = recent[len(recent) - rules.cap]
    return (blocker + rules.cap_window).astimezone(dt.UTC)


def earliest_send(
    instant: dt.datetime, sent_times: Sequence[dt.datetime], rules: Rules = DEFAULT_RULES
) -> dt.datetime:
    """The first instant at or after ``instant`` inside the window and under the cap."""
    at = _aware(instant).astimezone(dt.UTC)
    # Each round moves past at least one blocking send, so this many rounds always suffice.
    for _ in range(2 * len(sent_times) + 4):
        at = next_window_start(at, rules)
        free = cap_free_at(sent_times, at, rules)
        if free == at:
            return at
        at = free
    raise AssertionError("earliest_send did not converge")  # pragma: no cover


Action = Literal["send", "defer", "cancel"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What a sender does with a claimed message: ``send`` now, ``defer`` until ``at``, or
    ``cancel`` for ``reason`` (``opted_out``, ``invalid``, ``installed``, ``too_old``)."""

    action: Action
    reason: str = ""
    at: dt.datetime | None = None


def decide(
    now: dt.datetime,
    *,
    contact_status: str,
    installed: bool,
    sent_times: Sequence[dt.datetime],
    not_after: dt.datetime,
    rules: Rules = DEFAULT_RULES,
) -> Decision:
    """The claim-time decision for one message.

    ``contact_status`` is the contact's status now (``active``, ``opted_out``, ``invalid``);
    ``installed`` whether the contact has installed the app the message is about (always False
    for messages about no app); ``sent_times`` the times of messages already sent to the number.
    """
    if contact_status != "active":
        return Decision("cancel", contact_status)  # opted_out, invalid
    if installed:
        return Decision("cancel", "installed")
    at = earliest_send(now, sent_times, rules)
    if at > not_after:
        return Decision("cancel", "too_old")
    if at == now.astimezone(dt.UTC):
        return Decision("send")
    reason = "quiet_hours" if not in_window(now, rules) else "cap"
    return Decision("defer", reason, at)
