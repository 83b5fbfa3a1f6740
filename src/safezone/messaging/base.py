"""What every part of messaging shares: the vault, the configured rules, local time."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from safezone.config import MessagingConfig, Settings
from safezone.messaging.law import Rules
from safezone.vault import Vault

#: HKDF labels of this domain's keys (versioned: a future scheme gets independent keys).
ENCRYPTION_LABEL = "safezone/messaging/pii-aes-gcm/v1"
BLIND_INDEX_LABEL = "safezone/messaging/blind-index-hmac/v1"
LINK_LABEL = "safezone/messaging/link-token/v1"
#: The vault's field name (and associated data) of a contact's phone number.
PHONE_FIELD = "contact_phone"
#: App codes a contact can install (strings, so campaigns may add more).
APP_CODES: tuple[str, ...] = ("ncovi", "bluezone", "safezone")


def vault_for(settings: Settings) -> Vault:
    """The vault sealing this domain's personal data (phone numbers)."""
    return Vault.from_ring(
        settings.keyring, encryption_label=ENCRYPTION_LABEL, index_label=BLIND_INDEX_LABEL
    )


def rules_from(config: MessagingConfig) -> Rules:
    """The legal rules configured in ``config``."""
    return Rules(
        window_start=config.window_start,
        window_end=config.window_end,
        timezone=config.timezone,
        cap=config.cap_per_number,
        cap_window=dt.timedelta(hours=config.cap_window_hours),
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """What the use cases need from configuration."""

    vault: Vault
    rules: Rules = field(default_factory=Rules)
    config: MessagingConfig = field(default_factory=MessagingConfig)
    link_key: bytes = b""

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy configured in ``settings``."""
        return cls(
            vault=vault_for(settings),
            rules=rules_from(settings.messaging),
            config=settings.messaging,
            link_key=settings.keyring.keys(LINK_LABEL)[0],
        )

    @property
    def zone(self) -> ZoneInfo:
        """The zone of local days and send times."""
        return ZoneInfo(self.config.timezone)

    def local_day(self, instant: dt.datetime) -> dt.date:
        """The local calendar day of ``instant``."""
        return instant.astimezone(self.zone).date()
