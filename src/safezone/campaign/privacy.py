"""The campaign's vault: households' and visits' personal data, sealed like declarations'.

The mechanism is the shared :mod:`safezone.vault` built from the installation's key ring; the
campaign has its own key labels (HKDF purposes), so its keys are not the declarations' keys.
"""

from __future__ import annotations

from safezone.config import Settings
from safezone.vault import Vault

ENCRYPTION_LABEL = "safezone/campaign/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/campaign/blind-index-hmac/v1"


def vault_for(settings: Settings) -> Vault:
    """The vault sealing the campaign's personal data (cached by :meth:`Vault.from_ring`)."""
    return Vault.from_ring(
        settings.keyring, encryption_label=ENCRYPTION_LABEL, index_label=BLIND_INDEX_LABEL
    )
