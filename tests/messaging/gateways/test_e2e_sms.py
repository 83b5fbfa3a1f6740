"""End to end through a real Kannel: each message reaches the SMSC exactly once, DLRs mark
it delivered, Vietnamese text arrives intact."""

from __future__ import annotations

from tests.messaging.gateways import support
from tests.messaging.gateways.conftest import Live


def drain(live: Live, sender_rounds: int = 100) -> None:
    sender = live.sender()
    try:
        for _ in range(sender_rounds):
            if sender.run_once().claimed == 0:
                break
    finally:
        sender.close()


def test_200_contacts_each_receive_exactly_once_and_are_delivered(live: Live) -> None:
    seeded = live.seed(contacts=200)
    drain(live)
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    expected = {
        (seeded.phones[cid], support.text_for(mid))
        for cid, mid in zip(seeded.contact_ids, seeded.message_ids, strict=True)
    }
    live.wait(lambda: len(smsc.snapshot()) >= 200)
    live.wait(lambda: set(support.statuses(live.db, seeded.message_ids).values()) == {"delivered"})
    counts = smsc.counts()
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    # Vietnamese went as UCS-2 and decodes back exactly.
    assert {item.kind for item in smsc.snapshot()} == {"ucs-2"}


def test_production_composer_renders_messagings_template(live: Live) -> None:
    from safezone.messaging.sender import build_sender, default_composer

    seeded = live.seed(contacts=2)
    sender = build_sender(live.settings, live.db, default_composer(live.settings))
    try:
        assert sender.run_once().sent == 2
    finally:
        sender.close()
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    live.wait(lambda: len(smsc.snapshot()) == 2)
    assert {item.to for item in smsc.snapshot()} == set(seeded.phones.values())
    assert {item.text for item in smsc.snapshot()} == {"Hãy cài đặt Bluezone"}
    live.wait(lambda: set(support.statuses(live.db, seeded.message_ids).values()) == {"delivered"})


def test_send_test_goes_through_kannel(live: Live) -> None:
    from safezone.messaging.channels import send_test

    line = send_test(live.settings, to="+84905000999", text="Thử nghiệm")
    assert line.startswith("sms: accepted")
    assert live.rig is not None
    assert live.rig.smsc is not None
    smsc = live.rig.smsc
    live.wait(lambda: len(smsc.snapshot()) == 1)
    assert (smsc.snapshot()[0].to, smsc.snapshot()[0].text) == ("+84905000999", "Thử nghiệm")
