"""The campaign's vault: households' and visits' personal data, sealed like declarations'.

The mechanism is the shared :mod:`safezone.vault` built from the installation's key ring; the
campaign has its own key labels (HKDF purposes), so its keys are not the declarations' keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.households import rekey_import_key
from safezone.campaign.models import Household, Visit
from safezone.config import Settings
from safezone.vault import Vault

ENCRYPTION_LABEL = "safezone/campaign/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/campaign/blind-index-hmac/v1"


def vault_for(settings: Settings) -> Vault:
    """The vault sealing the campaign's personal data (cached by :meth:`Vault.from_ring`)."""
    return Vault.from_ring(
        settings.keyring, encryption_label=ENCRYPTION_LABEL, index_label=BLIND_INDEX_LABEL
    )


def rekey(session: Session, settings: Settings, *, batch: int = 500) -> int:
    """Re-encrypt and re-index households' and visits' personal data sealed under an older key
    of the ring (secret rotation, see docs/security.md); returns how many rows changed.

    Safe to run again. A household's ``import_key`` (the digest that recognises a re-imported
    row) is re-made under the current key from the sealed values, so an import file from before
    the rotation is still recognised after the old secret leaves the ring.
    """
    vault = vault_for(settings)

    def households(after: int) -> Sequence[Household | Visit]:
        query = select(Household).where(Household.id > after).order_by(Household.id)
        return session.scalars(query.limit(batch)).all()

    def visits(after: int) -> Sequence[Household | Visit]:
        query = select(Visit).where(Visit.id > after).order_by(Visit.id)
        return session.scalars(query.limit(batch)).all()

    changed = 0
    for rows_after in (households, visits):
        last = 0
        while rows := rows_after(last):
            for row in rows:
                last = row.id
                resealed = vault.reseal(row)
                rekeyed = isinstance(row, Household) and rekey_import_key(session, vault, row)
                changed += resealed or rekeyed
            session.flush()
    return changed
