"""What a sender needs from messaging at claim time: the law's decision with the contact's
current state, and the text (or ZNS data) of a message in the contact's language.

The sender (``safezone.messaging.sender``) owns claiming, gateways and status updates; it calls
:func:`check` on every claimed row and :func:`render_message` just before it submits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.messaging import contacts, law, links
from safezone.messaging.base import PHONE_FIELD, Policy
from safezone.messaging.models import Contact, Message, SendCampaign, Template
from safezone.messaging.sms import Encoding, segments
from safezone.messaging.templating import VARIABLES, render
from safezone.units.models import Unit
from safezone.units.names import display_name


def sent_times(
    session: Session, contact_id: int, since: dt.datetime, *, exclude: int | None = None
) -> list[dt.datetime]:
    """When messages to this contact went out (or were handed to a gateway) since ``since``,
    across every campaign: the rolling cap counts them."""
    query = select(Message.sent_at, Message.submitted_at).where(
        Message.contact_id == contact_id,
        (Message.sent_at > since) | (Message.submitted_at > since),
    )
    if exclude is not None:
        query = query.where(Message.id != exclude)
    times = []
    for sent_at, submitted_at in session.execute(query):
        moment = sent_at or submitted_at
        if moment is not None:
            times.append(moment)
    return times


def check(
    session: Session, policy: Policy, message: Message, *, now: dt.datetime | None = None
) -> law.Decision:
    """The law's decision for ``message`` now: send, defer (until when) or cancel (why)."""
    now = now or utcnow()
    contact = session.get(Contact, message.contact_id)
    if contact is None:  # pragma: no cover - cascade deletes messages with the contact
        return law.Decision("cancel", "no_contact")
    campaign = session.get(SendCampaign, message.campaign_id)
    if campaign is not None and campaign.status in ("cancelled", "paused"):
        return law.Decision(
            "cancel" if campaign.status == "cancelled" else "defer",
            f"campaign_{campaign.status}",
            now + dt.timedelta(hours=1),
        )
    app = campaign.app_code if campaign is not None else None
    installed = bool(app) and app in contacts.installed_apps(session, contact.id)
    since = now - policy.rules.cap_window
    return law.decide(
        now,
        contact_status=contact.status,
        installed=installed,
        sent_times=sent_times(session, contact.id, since, exclude=message.id),
        not_after=message.not_after,
        rules=policy.rules,
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for a gateway."""

    phone: str  # E.164
    language: str
    text: str  # the SMS text
    encoding: Encoding
    parts: int
    zns_template_id: str | None
    template_data: dict[str, str] = field(default_factory=dict)  # ZNS parameters


def render_message(
    session: Session, policy: Policy, message: Message, *, now: dt.datetime | None = None
) -> Rendered:
    """The text of ``message`` for its contact (creating its confirmation link if the
    template uses one). Decrypts the phone number: only the sender calls this."""
    contact = session.get_one(Contact, message.contact_id)
    template = session.get_one(Template, message.template_id)
    campaign = session.get(SendCampaign, message.campaign_id)
    app_code = template.app_code or (campaign.app_code if campaign else None)
    unit = session.get(Unit, contact.unit_code)
    variables = {
        "app": (app_code or "").capitalize() if app_code != "ncovi" else "NCOVI",
        "unit": display_name(unit) if unit is not None else "",
        "hotline": VARIABLES["hotline"],
        "link": "",
    }
    body = template.body_en if contact.language == "en" and template.body_en else template.body_vi
    if "link" in body and app_code:
        variables["link"] = links.link_for_message(session, policy, message, app_code, now=now)
    text = render(template, contact.language, variables)
    seg = segments(text)
    return Rendered(
        phone=policy.vault.get(contact, PHONE_FIELD),
        language=contact.language,
        text=text,
        encoding=seg.encoding,
        parts=seg.parts,
        zns_template_id=template.zns_template_id,
        template_data={k: v for k, v in variables.items() if v},
    )
