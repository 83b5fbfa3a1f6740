"""Install-confirmation links ``/i/{token}``: unguessable, single purpose, expiring.

A token is 128 bits. For a message it is derived from the message id with a key of this
domain (HMAC), so rendering the same message twice (a retry) gives the same link; only its
SHA-256 is stored. A token confirms one app for one contact and nothing else; after
``link_days`` it no longer opens. Opening records the first click; the button confirms
(marks the app installed, which stops the reminders), and pressing it again changes nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.errors import NotFound
from safezone.messaging import contacts
from safezone.messaging.base import Policy
from safezone.messaging.models import Contact, Link, Message

TOKEN_BYTES = 16
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22}$")
PURPOSE = "confirm_install"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def message_token(policy: Policy, message_id: int) -> str:
    """The link token of a message (the same on every rendering)."""
    mac = hmac.new(policy.link_key, f"link\x00{message_id}".encode(), hashlib.sha256).digest()
    return _encode(mac[:TOKEN_BYTES])


def url_for(policy: Policy, token: str) -> str:
    """The link as sent: the configured public address (if any) + ``/i/`` + token."""
    return f"{policy.config.public_base_url.rstrip('/')}/i/{token}"


def link_for_message(
    session: Session,
    policy: Policy,
    message: Message,
    app_code: str,
    *,
    now: dt.datetime | None = None,
) -> str:
    """The confirmation link of ``message`` (created on first use); returns the URL."""
    now = now or utcnow()
    token = message_token(policy, message.id)
    digest = token_hash(token)
    existing = session.scalars(select(Link).where(Link.message_id == message.id)).first()
    if existing is not None and existing.token_hash != digest:
        # The link key changed (secret rotation) before this message went out: the link that
        # goes out now is the one that works.
        existing.token_hash = digest
    if existing is None:
        session.add(
            Link(
                token_hash=digest,
                purpose=PURPOSE,
                contact_id=message.contact_id,
                app_code=app_code,
                message_id=message.id,
                campaign_id=message.campaign_id,
                template_id=message.template_id,
                unit_code=message.unit_code,
                expires_at=now + dt.timedelta(days=policy.config.link_days),
                created_at=now,
            )
        )
        session.flush()
    return url_for(policy, token)


def create_link(
    session: Session,
    policy: Policy,
    contact: Contact,
    app_code: str,
    *,
    now: dt.datetime | None = None,
) -> str:
    """A confirmation link not tied to a message (a leaflet, a test); returns the token."""
    now = now or utcnow()
    token = _encode(secrets.token_bytes(TOKEN_BYTES))
    session.add(
        Link(
            token_hash=token_hash(token),
            purpose=PURPOSE,
            contact_id=contact.id,
            app_code=app_code,
            unit_code=contact.unit_code,
            expires_at=now + dt.timedelta(days=policy.config.link_days),
            created_at=now,
        )
    )
    session.flush()
    return token


def _not_found() -> NotFound:
    # One answer for unknown, malformed and expired tokens: a stranger learns nothing.
    return NotFound.single(
        "token",
        "link_not_found",
        "Liên kết không tồn tại hoặc đã hết hạn.",
        "This link does not exist or has expired.",
    )


@dataclass(frozen=True, slots=True)
class LinkPage:
    """What the confirmation page shows: no personal data beyond the reader's language."""

    language: str
    app_code: str
    confirmed: bool


def _live_link(session: Session, token: str, now: dt.datetime) -> tuple[Link, Contact]:
    if not TOKEN_PATTERN.match(token):
        raise _not_found()
    link = session.scalars(select(Link).where(Link.token_hash == token_hash(token))).first()
    if link is None or link.purpose != PURPOSE or link.expires_at <= now:
        raise _not_found()
    contact = session.get(Contact, link.contact_id)
    if contact is None:  # pragma: no cover - cascade deletes the link with the contact
        raise _not_found()
    return link, contact


def open_link(session: Session, token: str, *, now: dt.datetime | None = None) -> LinkPage:
    """The page behind a token; records the first click. NotFound for anything not live."""
    now = now or utcnow()
    link, contact = _live_link(session, token, now)
    if link.clicked_at is None:
        link.clicked_at = now
    installed = link.app_code in contacts.installed_apps(session, contact.id)
    return LinkPage(contact.language, link.app_code, link.confirmed_at is not None or installed)


def confirm(session: Session, token: str, *, now: dt.datetime | None = None) -> LinkPage:
    """The button "I have installed it": marks the app installed, stops reminders."""
    now = now or utcnow()
    link, contact = _live_link(session, token, now)
    if link.clicked_at is None:
        link.clicked_at = now
    if link.confirmed_at is None:
        link.confirmed_at = now
        contacts.mark_contact_installed(session, contact, link.app_code, "link", now=now)
    return LinkPage(contact.language, link.app_code, True)
