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
    assert live.rig is not None and live.rig.smsc is not None
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
