"""Settings: defaults, one clear line per bad setting, refusing unsafe secrets."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from safezone.config import ConfigError, load_settings, read_demo_secrets, write_demo_secrets


def test_defaults_put_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEZONE_DATABASE_URL", raising=False)
    monkeypatch.setenv("SAFEZONE_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'safezone.db'}"
    assert settings.is_sqlite


def test_postgres_urls_use_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEZONE_DATABASE_URL", "postgresql://u@h/db")
    assert load_settings().sqlalchemy_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SAFEZONE_DATABASE_URL", "mysql://x", "SAFEZONE_DATABASE_URL"),
        ("SAFEZONE_WEB__PORT", "99999", "SAFEZONE_WEB__PORT"),
        ("SAFEZONE_LOG_LEVEL", "LOUD", "SAFEZONE_LOG_LEVEL"),
        ("SAFEZONE_ACCOUNTS__LOGIN_PAIR_LIMIT", "zero", "SAFEZONE_ACCOUNTS__LOGIN_PAIR_LIMIT"),
    ],
)
def test_bad_setting_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(expected + ":")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("key", "reason"),
    [(None, "not set"), ("short-key", "too short"), ("demo-" + "x" * 40, "demo")],
)
def test_production_refuses_missing_short_or_demo_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str | None, reason: str
) -> None:
    monkeypatch.setenv("SAFEZONE_DATA_DIR", str(tmp_path))
    if key is None:
        monkeypatch.delenv("SAFEZONE_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SAFEZONE_SECRET_KEY", key)
    with pytest.raises(ConfigError, match=reason):
        load_settings().check_production_safe()


def test_demo_secrets_are_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAFEZONE_SECRET_KEY", raising=False)
    first = write_demo_secrets(tmp_path)
    assert write_demo_secrets(tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600
    settings = load_settings(data_dir=tmp_path)
    assert settings.demo_mode
    assert (
        settings.secret().decode()
        == first["secret_key"]
        == read_demo_secrets(tmp_path)["secret_key"]
    )
