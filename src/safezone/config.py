"""Settings: one pydantic-settings object built from per-role sub-configs.

Every setting comes from the environment with the prefix ``SAFEZONE_`` (nested settings use
``__``, e.g. ``SAFEZONE_EXPOSURE__EXPORT_WINDOW_SECONDS``). The demo writes its generated secrets
to ``<data dir>/secrets.json`` (mode 0600); every command run with the same data directory reads
them, so the CLI and the demo work on the same database.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from safezone.keyring import KeyRing

DEMO_SECRET_PREFIX = "demo-"  # noqa: S105 - a marker, not a secret
SECRETS_FILE = "secrets.json"
MIN_SECRET_LENGTH = 32


class ConfigError(Exception):
    """A setting is missing or unsafe; the message names the setting in one line."""


class WebConfig(BaseModel):
    """The web process (`safezone serve`)."""

    model_config = ConfigDict(populate_by_name=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    # Served over HTTPS (directly or behind a TLS proxy): cookies get the ``Secure`` flag and
    # browsers are told to stay on HTTPS. ``SAFEZONE_WEB__SECURE_COOKIES`` is the older name.
    https: bool = Field(default=False, validation_alias=AliasChoices("https", "secure_cookies"))
    # Absolute lifetime of a staff session (and of its cookie).
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # Addresses (CIDR) that may read /metrics without a token; admins' tokens always may.
    # An empty list: token only. Behind a proxy on the same host, set ``trusted_proxies`` too,
    # or every request would come "from loopback".
    metrics_from: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # ``forwarded_allow_ips``): the client address that login throttling and /metrics see.
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("metrics_from")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @property
    def secure_cookies(self) -> bool:
        """The older name of ``https``."""
        return self.https


class AccountsConfig(BaseModel):
    """Staff sessions and login throttling (no hard lockout: see docs/security.md)."""

    # A session not used for this long ends (the absolute limit is web.session_max_age_seconds).
    session_idle_seconds: int = Field(default=3600, ge=60)
    # Failed logins allowed per (username, client address) per window, then that pair waits.
    login_pair_limit: int = Field(default=5, ge=1)
    login_pair_window_seconds: int = Field(default=15 * 60, ge=1)
    # Failed logins per username from all addresses per window; beyond it only addresses that
    # logged in to the account successfully before (within login_known_days) may still try.
    login_account_limit: int = Field(default=20, ge=1)
    login_account_window_seconds: int = Field(default=3600, ge=1)
    login_known_days: int = Field(default=30, ge=1)


class WorkerConfig(BaseModel):
    """The background process (`safezone worker`)."""

    poll_seconds: float = Field(default=2.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)


class DeclarationsConfig(BaseModel):
    """Health declarations: retention, QR pass validity, triage rules, key rotation."""

    retention_days: int = Field(default=30, ge=1)  # declarations older than this are purged
    # A QR pass lives this long after the health information it shows (docs/declarations.md:
    # 24 h matches the one-update-a-day rhythm; revocation covers changes within it).
    pass_lifetime_hours: int = Field(default=24, ge=1, le=72)
    idempotency_hours: int = Field(default=24, ge=1)  # how long a retried POST is recognised
    # Optional triage rules (JSON list, see docs/declarations.md); None = the documented default.
    triage_rules: list[dict[str, Any]] | None = None


class CampaignConfig(BaseModel):
    """The rollout campaign: the province's default smartphone ratio (docs/campaign.md)."""

    # Share of the population with a smartphone where no unit (or ancestor) sets its own.
    smartphone_ratio: float = Field(default=0.6, gt=0, le=1)


class DoorToDoorConfig(BaseModel):
    """The campaign's door-to-door drive: when households are visited again."""

    revisit_days: int = Field(default=2, ge=1, le=60)  # after "not home"
    max_tries: int = Field(default=3, ge=1, le=20)  # "not home" visits before giving up
    follow_up_days: int = Field(default=7, ge=1, le=90)  # after "will install later"
    max_follow_ups: int = Field(default=2, ge=0, le=20)


class ExposureConfig(BaseModel):
    """The exposure-notification server: codes, publish, export batches, storage, retention."""

    # Health authorities whose phones may publish: id -> region (ISO 3166 code or MCC).
    # Empty outside the demo; the demo uses ``safezone-demo`` -> ``VN``.
    health_authorities: dict[str, str] = Field(default_factory=dict)
    certificate_issuer: str = "safezone"
    certificate_audience: str = "safezone-exposure"
    # Verification codes, tokens and certificates.
    short_code_minutes: int = Field(default=15, ge=1, le=24 * 60)
    long_code_hours: int = Field(default=24, ge=1, le=14 * 24)
    token_hours: int = Field(default=24, ge=1, le=14 * 24)
    certificate_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # Brute-force bounds on the phone endpoints, in the shared counter store (docs/exposure.md):
    # requests per address, and failed code guesses of everyone in a sliding window; above that
    # budget every code check needs a proof of work (base bits, +1 per doubling, capped).
    rate_limit_window_seconds: int = Field(default=3600, ge=1)
    rate_limit_per_client: int = Field(default=30, ge=1)
    failed_guess_budget: int = Field(default=1000, ge=1)
    proof_of_work_base_bits: int = Field(default=18, ge=1, le=32)
    proof_of_work_max_bits: int = Field(default=24, ge=1, le=32)
    proof_of_work_seconds: int = Field(default=300, ge=10, le=3600)
    # Publish rules (the reference server's defaults).
    max_keys_per_publish: int = Field(default=30, ge=1, le=100)
    max_same_start_interval_keys: int = Field(default=3, ge=1)
    max_interval_age_hours: int = Field(default=360, ge=1)  # keys older than 15 days refused
    max_symptom_onset_days: int = Field(default=14, ge=1)
    max_symptom_onset_report_days: int = Field(default=28, ge=1)
    default_symptom_onset_days_ago: int = Field(default=4, ge=0)
    embargo_seconds: int = Field(default=0, ge=0)  # extra hold-back after a key expires
    max_publish_bytes: int = Field(default=64 * 1024, ge=1024)
    response_size_bytes: int = Field(default=2048, ge=512)  # phone responses padded to this
    # Export batches.
    export_window_seconds: int = Field(default=3600, ge=60)
    export_min_age_seconds: int = Field(default=2 * 3600, ge=0)
    export_every_seconds: int = Field(default=600, ge=10)
    min_keys_per_file: int = Field(default=1000, ge=0)
    padding_jitter_keys: int = Field(default=200, ge=0)
    max_keys_per_file: int = Field(default=500_000, ge=1)
    signing_key_id: str = Field(default="452", min_length=1, max_length=32)  # Vietnam's MCC
    signing_key_overlap_hours: int = Field(default=7 * 24, ge=0)  # old key signs after rotate
    # Retention of keys, exports, codes and tokens.
    retention_days: int = Field(default=14, ge=1)
    # Storage of export files: "local" (served at /exposure/v1/) or "s3".
    storage: str = Field(default="local", pattern="^(local|s3)$")
    local_dir: Path | None = None  # default: <data dir>/exposure
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None


class KannelConfig(BaseModel):
    """SMS through Kannel's smsbox (sendsms over HTTP); see docs/messaging-gateways.md."""

    sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    username: str = ""
    password: SecretStr = SecretStr("")
    sender: str = ""  # ``from``; empty: the smsbox's global-sender
    smsc_id: str = ""  # force a route (``smsc=``); empty: Kannel routes
    timeout_seconds: float = Field(default=10.0, gt=0)
    # bearerbox admin status, asked before resending after an ambiguous timeout.
    admin_url: str = ""
    admin_password: SecretStr = SecretStr("")
    messages_per_second: float = Field(default=50.0, gt=0)  # shared by every sender process


class ZnsConfig(BaseModel):
    """Zalo Notification Service (template messages); see docs/messaging-gateways.md."""

    api_url: str = "https://business.openapi.zalo.me/message/template"
    oauth_url: str = "https://oauth.zaloapp.com/v4/oa/access_token"
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")  # refreshes tokens and verifies webhook signatures
    # The first refresh token (from the OA authorisation); later ones are stored encrypted.
    refresh_token: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=10.0, gt=0)
    messages_per_second: float = Field(default=20.0, gt=0)


class GatewaysConfig(BaseModel):
    """The message sender and its gateways (Kannel SMS, Zalo ZNS) and their callbacks."""

    # Where Kannel reaches our DLR endpoint (the dlr-url's base).
    callback_base_url: str = "http://127.0.0.1:8000"
    # Addresses (CIDR) that may call the DLR/MO endpoints (with the secret as well).
    callback_allow_from: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # The MO endpoint's shared secret (the ``key`` in Kannel's get-url); unset: derived from
    # the key ring (``safezone messaging gateway-urls`` prints it).
    mo_secret: SecretStr | None = None
    batch_size: int = Field(default=50, ge=1, le=1000)
    lease_seconds: int = Field(default=120, ge=5)
    max_attempts: int = Field(default=6, ge=1)
    backoff_seconds: int = Field(default=30, ge=1)
    # After an ambiguous send (timeout), wait this long for a DLR before asking the gateway.
    ambiguous_grace_seconds: int = Field(default=300, ge=1)
    # MO keywords (matched without accents or case): opt out / "DA CAI <APP>" marks installed.
    opt_out_keywords: list[str] = Field(default_factory=lambda: ["TU CHOI", "HUY", "STOP"])
    install_keywords: list[str] = Field(default_factory=lambda: ["DA CAI"])
    app_aliases: dict[str, str] = Field(
        default_factory=lambda: {
            "NCOVI": "ncovi",
            "BLUEZONE": "bluezone",
            "SAFEZONE": "safezone",
        }
    )
    kannel: KannelConfig = KannelConfig()
    zns: ZnsConfig = ZnsConfig()

    @field_validator("callback_allow_from")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value


class MessagingConfig(BaseModel):
    """Messaging: the legal window and caps (Decree 91/2020), prices, approval, links."""

    # Sending window, local time in ``timezone`` (start included, end excluded).
    window_start: dt.time = dt.time(7, 0)
    window_end: dt.time = dt.time(22, 0)
    timezone: str = "Asia/Ho_Chi_Minh"
    cap_per_number: int = Field(default=3, ge=1)  # messages per number per rolling window
    cap_window_hours: int = Field(default=24, ge=1)
    # Prices in VND: SMS per segment, ZNS per message (the preview multiplies them out).
    prices: dict[str, int] = Field(default_factory=lambda: {"sms": 350, "zns": 250})
    # Sends to more recipients than this need a second officer's approval.
    approval_threshold: int = Field(default=1000, ge=0)
    # Confirmation links: lifetime, and the public address they start with (empty: relative).
    link_days: int = Field(default=14, ge=1, le=90)
    public_base_url: str = ""
    # The planner writes outbox rows this many days ahead.
    plan_days_ahead: int = Field(default=7, ge=1, le=60)
    # The sender and its gateways (Kannel SMS, Zalo ZNS); see docs/messaging-gateways.md.
    gateways: GatewaysConfig = GatewaysConfig()
    # Store links shown on the confirmation page, per app code.
    store_links: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "ncovi": {
                "android": "https://play.google.com/store/apps/details?id=com.vnptit.innovation.ncovi",
                "ios": "https://apps.apple.com/vn/app/ncovi/id1501934178",
            },
            "bluezone": {
                "android": "https://play.google.com/store/apps/details?id=com.mic.bluezone",
                "ios": "https://apps.apple.com/vn/app/bluezone/id1508062685",
            },
            "safezone": {"android": "", "ios": ""},
        }
    )


class MaterialsConfig(BaseModel):
    """Campaign materials: printed links, the report mailer (SMTP) and the DHIS2 push."""

    # Where citizens reach this installation: QR codes on posters point here.
    public_url: str = "http://127.0.0.1:8000"
    smtp_host: str = ""  # empty: reports are not e-mailed
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_sender: str = "safezone@localhost"
    smtp_timeout_seconds: float = Field(default=30, gt=0)
    dhis2_url: str = ""  # e.g. https://dhis2.example.org (no trailing /api)
    dhis2_username: str = ""
    dhis2_password: SecretStr | None = None
    dhis2_mapping: Path | None = None  # JSON mapping file (docs/campaign-materials.md)
    dhis2_retries: int = Field(default=3, ge=0, le=10)


class Settings(BaseSettings):
    """All settings of a safezone installation."""

    model_config = SettingsConfigDict(
        env_prefix="SAFEZONE_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    data_dir: Path = Path("safezone-data")
    database_url: str = ""
    secret_key: SecretStr | None = None
    # Secrets used before the current one: still accepted to decrypt data and verify signatures
    # until `safezone secrets rotate` has re-encrypted everything (see docs/security.md).
    # A JSON list or a comma-separated string.
    previous_secret_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    demo_mode: bool = False
    # Shared rate-limit counters in Redis (``redis://host:6379/0``); unset: in the database.
    redis_url: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True
    web: WebConfig = WebConfig()
    accounts: AccountsConfig = AccountsConfig()
    worker: WorkerConfig = WorkerConfig()
    declarations: DeclarationsConfig = DeclarationsConfig()
    exposure: ExposureConfig = ExposureConfig()
    messaging: MessagingConfig = MessagingConfig()
    campaign: CampaignConfig = CampaignConfig()
    materials: MaterialsConfig = MaterialsConfig()
    door_to_door: DoorToDoorConfig = DoorToDoorConfig()

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql", "postgres")):
            msg = "must start with sqlite:// or postgresql:// (SQLite and PostgreSQL are supported)"
            raise ValueError(msg)
        return value

    @field_validator("previous_secret_keys", mode="before")
    @classmethod
    def _split_previous_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            msg = "must be one of DEBUG, INFO, WARNING, ERROR"
            raise ValueError(msg)
        return value.upper()

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        # Frozen model: defaults that depend on other fields are filled through __dict__.
        if not self.database_url:
            self.__dict__["database_url"] = f"sqlite:///{self.data_dir / 'safezone.db'}"
        return self

    @cached_property
    def sqlalchemy_url(self) -> str:
        """The database URL with the driver SQLAlchemy should use (psycopg 3 for PostgreSQL)."""
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        """Whether the embedded SQLite database is in use."""
        return self.sqlalchemy_url.startswith("sqlite")

    def secret(self) -> bytes:
        """The secret key as bytes; raises ConfigError when none is configured."""
        if self.secret_key is None or not self.secret_key.get_secret_value():
            raise ConfigError("SAFEZONE_SECRET_KEY: not set (required to sign sessions and tokens)")
        return self.secret_key.get_secret_value().encode()

    @property
    def keyring(self) -> KeyRing:
        """The installation's key ring: the secret key plus the previous ones (rotation)."""
        previous = [key.get_secret_value().encode() for key in self.previous_secret_keys]
        return KeyRing(self.secret(), previous)

    def check_production_safe(self) -> None:
        """Refuse secrets that are missing, short or generated for the demo."""
        key = self.secret().decode()
        if key.startswith(DEMO_SECRET_PREFIX):
            raise ConfigError(
                "SAFEZONE_SECRET_KEY: this is the demo's key; set a new random key for production"
            )
        if len(key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                f"SAFEZONE_SECRET_KEY: too short ({len(key)} characters, need {MIN_SECRET_LENGTH})"
            )


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = "__".join(str(part) for part in first["loc"]).upper()
    return f"SAFEZONE_{loc}: {first['msg']}"


def read_demo_secrets(data_dir: Path) -> dict[str, Any]:
    """The secrets the demo generated in ``data_dir``, or an empty dict."""
    path = data_dir / SECRETS_FILE
    if not path.is_file():
        return {}
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def write_demo_secrets(data_dir: Path) -> dict[str, Any]:
    """Create (once) the demo's secrets file, readable only by its owner; return its content.

    The data directory is made private too (0700), also when it already existed.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)  # mkdir's mode does not apply to an existing directory
    existing = read_demo_secrets(data_dir)
    if existing:
        return existing
    content = {"secret_key": DEMO_SECRET_PREFIX + secrets.token_urlsafe(32)}
    path = data_dir / SECRETS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
    return content


def load_settings(**overrides: Any) -> Settings:
    """Build the settings from the environment (and the demo's secrets file, when present).

    Raises ConfigError with one line naming the bad setting.
    """
    try:
        settings = Settings(**overrides)
        if settings.secret_key is None:
            stored = read_demo_secrets(settings.data_dir)
            if stored.get("secret_key"):
                settings = Settings(
                    **{**overrides, "secret_key": stored["secret_key"], "demo_mode": True}
                )
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None
    except (OSError, json.JSONDecodeError) as error:
        raise ConfigError(f"SAFEZONE_DATA_DIR: cannot read {SECRETS_FILE}: {error}") from None
    return settings
