"""tekmac: the verification-protocol HMAC over keys."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from safezone.en.errors import InvalidKeyError, InvalidTekMacError
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import tekmac, tekmac_message, verify_tekmac

K1 = TemporaryExposureKey(bytes(range(16)), 2650032, 144, transmission_risk_level=5)
K2 = TemporaryExposureKey(b"\xff" * 16, 2649888, 100, transmission_risk_level=0)
SECRET = b"device-secret-0123456789abcdef"


def test_message_format_is_sorted_and_comma_joined() -> None:
    # Plain string order: "/" (0x2f) sorts before "A".
    assert tekmac_message([K2, K1]) == (
        b"/////////////////////w==.2649888.100.0,AAECAwQFBgcICQoLDA0ODw==.2650032.144.5"
    )
    assert tekmac_message([K1, K2]) == tekmac_message([K2, K1])
    assert tekmac_message([]) == b""


def test_tekmac_value() -> None:
    message = b"/////////////////////w==.2649888.100.0,AAECAwQFBgcICQoLDA0ODw==.2650032.144.5"
    expected = base64.b64encode(hmac.new(SECRET, message, hashlib.sha256).digest()).decode()
    assert tekmac([K1, K2], SECRET) == expected
    assert len(base64.b64decode(expected)) == 32


def test_verify_accepts_and_rejects() -> None:
    mac = tekmac([K1, K2], SECRET)
    verify_tekmac([K2, K1], SECRET, mac)
    with pytest.raises(InvalidTekMacError):
        verify_tekmac([K1], SECRET, mac)
    with pytest.raises(InvalidTekMacError):
        verify_tekmac([K1, K2], SECRET + b"x", mac)
    with pytest.raises(InvalidTekMacError):
        verify_tekmac([K1, K2], SECRET, mac[:-2] + "é")


def test_secret_must_be_bytes() -> None:
    with pytest.raises(InvalidKeyError):
        tekmac([K1], b"")
    with pytest.raises(InvalidKeyError):
        tekmac([K1], "secret")  # type: ignore[arg-type]
