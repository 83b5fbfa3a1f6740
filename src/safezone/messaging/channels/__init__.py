"""The gateways a message can go through: SMS by Kannel (:mod:`.kannel`), Zalo ZNS (:mod:`.zns`).

:func:`send_test` is the CLI's ``safezone messaging send-test``: one message outside any
campaign, through the configured gateways, answered in one line.
"""

from __future__ import annotations

from typing import Any

from safezone.messaging.channels.base import Outgoing, SendResult


def send_test(
    settings: Any,
    *,
    to: str,
    text: str,
    zns_template_id: str | None = None,
    template_data: dict[str, Any] | None = None,
) -> str:
    """Send ``text`` to ``to`` (E.164) now: by ZNS first when a Zalo app is configured and a
    ZNS template is given (falling back to SMS as the sender would), else by SMS. No outbox
    row, no delivery report; the returned line says which gateway answered what."""
    from safezone.db.engine import Database
    from safezone.messaging.sender import build_sender

    db = Database(settings.sqlalchemy_url)
    try:
        sender = build_sender(settings, db, _no_compose)
        outgoing = Outgoing(
            message_id=0,
            phone=to,
            text=text,
            zns_template_id=zns_template_id,
            zns_data={key: str(value) for key, value in (template_data or {}).items()},
        )
        order = ["sms"]
        if zns_template_id and "zns" in sender.channels:
            order.insert(0, "zns")
        lines = []
        for name in order:
            result = sender.channels[name].send(outgoing)
            lines.append(_describe(name, result))
            if result.outcome not in {"fallback", "quota"}:
                break
        return "; ".join(lines)
    finally:
        db.dispose()


def _describe(channel: str, result: SendResult) -> str:
    detail = f" ({result.detail})" if result.detail else ""
    code = f" [{result.error_code}]" if result.error_code else ""
    return f"{channel}: {result.outcome}{code}{detail}"


def _no_compose(session: Any, message: Any, contact: Any) -> Outgoing:  # pragma: no cover
    raise NotImplementedError("send_test composes its one message itself")


__all__ = ["Outgoing", "SendResult", "send_test"]
