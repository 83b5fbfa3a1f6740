"""Secret rotation across every domain: re-encrypt what is stored under the previous secrets.

What the key ring protects, and what rotation does with it:

- re-encrypted here (stored, long-lived): declarations' personal data and blind indexes
  (:func:`safezone.declarations.rekey`), exposure's export signing keys
  (:func:`safezone.exposure.signing.rekey`), messaging contacts' phone numbers
  (:func:`safezone.messaging.contacts.rekey`), households' and door-to-door visits' personal
  data (:func:`safezone.campaign.privacy.rekey`);
- verified under every key of the ring until the previous secret is dropped (short-lived, held
  by people and phones, cannot be re-made by the server): QR passes, verification codes and
  tokens, certificates, revision tokens, session cookies;
- nothing to do: staff sessions and API tokens are stored as plain SHA-256 of 256-bit random
  values (no key involved); rate-limit and login-throttle counters are keyed by an HMAC under
  the current secret, so they simply start afresh.

The functions take a session and settings: the CLI (``safezone secrets``) is a thin shell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from safezone.accounts.service import record
from safezone.campaign.privacy import rekey as rekey_campaign
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations import rekey as rekey_declarations
from safezone.exposure.signing import rekey as rekey_signing_keys
from safezone.messaging import rekey as rekey_messaging

Rekey = Callable[[Session, Settings], int]


#: What holds data sealed with a key of the ring: name -> function re-encrypting it under the
#: current key and returning how many rows changed (idempotent, safe to run again).
PARTS: dict[str, Rekey] = {
    "declarations": rekey_declarations,
    "exposure_signing_keys": rekey_signing_keys,
    "messaging_contacts": rekey_messaging,
    "campaign_households_visits": rekey_campaign,
}


@dataclass(frozen=True, slots=True)
class PartStatus:
    """How many rows of one part are still sealed under a previous secret, or why unknown."""

    name: str
    stale: int | None
    error: str | None = None


def rotate(database: Database, settings: Settings) -> dict[str, int]:
    """Re-encrypt every part under the current secret; rows changed per part.

    Each part commits on its own, so an interrupted run keeps what it finished and can be run
    again. Raises (naming nothing secret) if a row opens under no key of the ring.
    """
    changed: dict[str, int] = {}
    for name, rekey in PARTS.items():
        with database.session() as session:
            changed[name] = rekey(session, settings)
    with database.session() as session:
        record(session, actor=None, action="secrets.rotate", detail=dict(changed))
    return changed


def status(database: Database, settings: Settings) -> list[PartStatus]:
    """Rows still under previous secrets, per part: a dry run of :func:`rotate`, rolled back."""
    result: list[PartStatus] = []
    for name, rekey in PARTS.items():
        session = database.sessionmaker()
        try:
            result.append(PartStatus(name, rekey(session, settings)))
        except Exception as error:  # noqa: BLE001 - reported per part, e.g. a missing old key
            result.append(PartStatus(name, None, f"{type(error).__name__}: {error}"))
        finally:
            session.rollback()
            session.close()
    return result
