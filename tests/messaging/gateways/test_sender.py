"""The sender's claim-time law, retries and ambiguity, with an in-memory channel and a clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from safezone.messaging.channels.base import Outgoing, SendResult
from safezone.messaging.models import Contact, Message
from safezone.messaging.sender import policy_channels
from tests.messaging.gateways.conftest import Live

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class Memory:
    """A channel that records what it was asked to send and answers from a script."""

    answers: list[str] = field(default_factory=list)  # outcomes to give next, then accepted
    sent: list[Outgoing] = field(default_factory=list)

    def send(self, outgoing: Outgoing) -> SendResult:
        outcome = self.answers.pop(0) if self.answers else "accepted"
        if outcome == "accepted":
            self.sent.append(outgoing)
        return SendResult(outcome, error_code=None if outcome == "accepted" else "x")  # type: ignore[arg-type]


@dataclass
class Clock:
    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


def local(day: int, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, second, tzinfo=VN).astimezone(dt.UTC)


def sender_for(offline: Live, clock: Clock, channel: Memory, **changes: object):  # type: ignore[no-untyped-def]
    return offline.sender(channels={"sms": channel}, rates={}, clock=clock, **changes)


def row(offline: Live, message_id: int) -> Message:
    with offline.db.read_session() as session:
        found = session.get(Message, message_id)
        assert found is not None
        session.expunge(found)
        return found


def test_due_at_2159_but_claimed_after_2200_waits_until_0700(offline: Live) -> None:
    clock = Clock(local(1, 22, 0, 5))
    seeded = offline.seed(contacts=1, due=local(1, 21, 59))
    channel = Memory()
    sender = sender_for(offline, clock, channel)
    report = sender.run_once()
    assert report.deferred == 1
    assert channel.sent == []
    message = row(offline, seeded.message_ids[0])
    assert message.status == "queued"
    assert message.reason == "quiet_hours"
    assert message.next_attempt_at == local(2, 7, 0)
    clock.now = local(2, 6, 59, 59)
    assert sender.run_once().claimed == 0  # not due yet
    clock.now = local(2, 7, 0)
    assert sender.run_once().sent == 1
    assert row(offline, seeded.message_ids[0]).status == "sent"
    assert [item.message_id for item in channel.sent] == seeded.message_ids


def test_at_2159_it_goes_out(offline: Live) -> None:
    clock = Clock(local(1, 21, 59, 30))
    seeded = offline.seed(contacts=1, due=local(1, 21, 59))
    channel = Memory()
    assert sender_for(offline, clock, channel).run_once().sent == 1
    assert row(offline, seeded.message_ids[0]).status == "sent"


def test_fourth_message_to_a_number_within_24h_is_deferred(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, messages_per_contact=4, due=local(1, 9, 0))
    channel = Memory()
    sender = sender_for(offline, clock, channel)
    report = sender.run_once()
    assert (report.sent, report.deferred) == (3, 1)
    fourth = row(offline, seeded.message_ids[3])
    assert fourth.reason == "cap"
    assert fourth.status == "queued"
    assert fourth.next_attempt_at == local(2, 9, 0)  # when the first one leaves the window
    clock.now = local(2, 9, 0)
    assert sender.run_once().sent == 1
    assert len(channel.sent) == 4


def test_cap_counts_every_campaign(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    first = offline.seed(contacts=1, messages_per_contact=3, due=local(1, 9, 0))
    other = offline.seed(contacts=0, due=local(1, 9, 0), first=50)
    del other
    # A second campaign's message to the same number.
    with offline.db.session() as session:
        base = session.get(Message, first.message_ids[0])
        assert base is not None
        session.add(
            Message(
                campaign_id=base.campaign_id,
                step=9,
                contact_id=base.contact_id,
                day=base.day,
                unit_code=base.unit_code,
                template_id=base.template_id,
                due_at=base.due_at,
                next_attempt_at=base.next_attempt_at,
                not_after=base.not_after,
            )
        )
    report = sender_for(offline, clock, Memory()).run_once()
    assert (report.sent, report.deferred) == (3, 1)


def test_opted_out_contact_is_cancelled_at_claim(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=2, due=local(1, 9, 0))
    with offline.db.session() as session:
        session.execute(
            update(Contact).where(Contact.id == seeded.contact_ids[0]).values(status="opted_out")
        )
    channel = Memory()
    report = sender_for(offline, clock, channel).run_once()
    assert (report.sent, report.cancelled) == (1, 1)
    message = row(offline, seeded.message_ids[0])
    assert (message.status, message.reason) == ("cancelled", "opted_out")


def test_retry_backs_off_then_gives_up_when_too_old(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0), valid=dt.timedelta(seconds=10))
    channel = Memory(answers=["retry", "retry", "retry"])
    sender = sender_for(offline, clock, channel)
    sender.run_once()
    message = row(offline, seeded.message_ids[0])
    assert message.status == "queued"
    assert message.submitted_at is None
    assert message.next_attempt_at == clock.now + dt.timedelta(seconds=1)
    clock.now += dt.timedelta(seconds=1)
    sender.run_once()
    assert row(offline, seeded.message_ids[0]).next_attempt_at == clock.now + dt.timedelta(
        seconds=2
    )
    clock.now += dt.timedelta(seconds=9)  # the next backoff (4 s) passes not_after
    sender.run_once()
    message = row(offline, seeded.message_ids[0])
    assert (message.status, message.reason) == ("failed", "too_old")
    assert channel.sent == []


def test_rejected_is_failed_for_good(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0))
    sender_for(offline, clock, Memory(answers=["rejected"])).run_once()
    assert row(offline, seeded.message_ids[0]).status == "failed"


def test_ambiguous_is_never_resent_while_the_gateway_may_hold_it(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0))
    channel = Memory(answers=["ambiguous"])
    gateway_holds: list[bool | None] = [False, None, True]
    asked: list[int] = []

    def gateway_empty() -> bool | None:
        asked.append(1)
        return gateway_holds.pop(0)

    sender = sender_for(offline, clock, channel, sms_gateway_empty=gateway_empty)
    assert sender.run_once().ambiguous == 1
    message_id = seeded.message_ids[0]
    assert row(offline, message_id).submitted_at is not None
    clock.now += dt.timedelta(seconds=1)
    assert sender.run_once().claimed == 0  # waits for a late DLR first
    for _ in range(2):  # the gateway says it holds messages, then cannot say
        clock.now += dt.timedelta(seconds=3)
        sender.run_once()
        assert channel.sent == []
        assert row(offline, message_id).status == "queued"
    clock.now += dt.timedelta(seconds=3)
    assert sender.run_once().sent == 1  # the gateway is empty: it never took it
    assert len(channel.sent) == 1
    assert len(asked) == 3


def test_ambiguous_with_a_report_is_sent_without_resending(offline: Live) -> None:
    from safezone.messaging.channels.models import GatewayEvent

    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0))
    channel = Memory(answers=["ambiguous"])
    sender = sender_for(offline, clock, channel)
    sender.run_once()
    with offline.db.session() as session:  # a DLR type we do not map still proves receipt
        session.add(GatewayEvent(message_id=seeded.message_ids[0], channel="sms", code="4"))
    clock.now += dt.timedelta(seconds=3)
    sender.run_once()
    assert row(offline, seeded.message_ids[0]).status == "sent"
    assert channel.sent == []


def test_installed_contact_is_cancelled(offline: Live) -> None:
    from safezone.messaging.models import ContactApp

    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0))
    with offline.db.session() as session:
        session.add(ContactApp(contact_id=seeded.contact_ids[0], app_code="bluezone", source="mo"))
    report = sender_for(offline, clock, Memory()).run_once()
    assert report.cancelled == 1
    assert row(offline, seeded.message_ids[0]).reason == "installed"


def test_policy_channels() -> None:
    assert policy_channels("sms_only", False) == ("sms",)
    assert policy_channels("zns_then_sms", False) == ("zns", "sms")
    assert policy_channels("zns_then_sms", True) == ("sms",)
    assert policy_channels("zns_only", True) == ()


def test_zns_only_without_zalo_fails(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=1, due=local(1, 9, 0), policy="zns_only")
    sender = offline.sender(
        channels={"zns": Memory(answers=["fallback"]), "sms": Memory()}, rates={}, clock=clock
    )
    sender.run_once()
    message = row(offline, seeded.message_ids[0])
    assert (message.status, message.channel) == ("failed", "zns")


def test_messages_claimed_by_two_senders_are_sent_once(offline: Live) -> None:
    clock = Clock(local(1, 9, 0))
    seeded = offline.seed(contacts=30, due=local(1, 9, 0))
    channel = Memory()
    import threading

    from tests.messaging.gateways.support_policy import small_batches

    senders = [sender_for(offline, clock, channel, policy=small_batches()) for _ in range(3)]

    def work(s):  # type: ignore[no-untyped-def]
        while s.run_once().claimed:
            pass

    threads = [threading.Thread(target=work, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [item.message_id for item in channel.sent]
    assert sorted(ids) == sorted(seeded.message_ids)
    with offline.db.read_session() as session:
        assert set(session.scalars(select(Message.status))) == {"sent"}
