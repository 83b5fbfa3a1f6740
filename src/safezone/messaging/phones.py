"""Phone numbers: parsing to E.164 with ``phonenumbers``, and the carrier by prefix (data)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import phonenumbers

from safezone.errors import FieldError

DEFAULT_REGION = "VN"


class InvalidPhone(ValueError):
    """Not a phone number we can send to; ``error`` is the bilingual reason."""

    def __init__(self, error: FieldError) -> None:
        self.error = error
        super().__init__(error.message_en)


def _bad(field: str, code: str, vi: str, en: str) -> InvalidPhone:
    return InvalidPhone(FieldError(field, code, vi, en))


def normalise(raw: str, *, field: str = "phone", region: str = DEFAULT_REGION) -> str:
    """``raw`` as E.164 (``+84905123456``); national Vietnamese forms (``0905 123 456``,
    ``84905123456``) are accepted. Raises :class:`InvalidPhone` naming ``field``."""
    text = (raw or "").strip()
    if not text:
        raise _bad(field, "required", "Thiếu số điện thoại.", "The phone number is missing.")
    if len(text) > 32:
        raise _bad(field, "too_long", "Số điện thoại quá dài.", "The phone number is too long.")
    # "84905123456" without the plus is common in carrier exports.
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith(("+", "0")) and digits.startswith("84") and len(digits) == 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise _bad(
            field,
            "not_a_number",
            f"Không phải số điện thoại: {text!r}.",
            f"Not a phone number: {text!r}.",
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise _bad(
            field,
            "invalid",
            f"Số điện thoại không hợp lệ: {text!r}.",
            f"Not a valid phone number: {text!r}.",
        )
    kind = phonenumbers.number_type(number)
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise _bad(
            field,
            "not_mobile",
            f"Không phải số di động: {text!r}.",
            f"Not a mobile number: {text!r}.",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _prefixes() -> dict[str, str]:
    raw = resources.files("safezone.messaging").joinpath("data/carriers.json").read_text("utf-8")
    data = json.loads(raw)
    return {
        prefix: code for code, carrier in data["carriers"].items() for prefix in carrier["prefixes"]
    }


@lru_cache(maxsize=1)
def carrier_names() -> dict[str, str]:
    """Carrier code -> display name."""
    raw = resources.files("safezone.messaging").joinpath("data/carriers.json").read_text("utf-8")
    return {code: c["name"] for code, c in json.loads(raw)["carriers"].items()}


def carrier_of(e164: str) -> str | None:
    """The carrier code of a Vietnamese mobile number in E.164 (None: unknown or foreign)."""
    if not e164.startswith("+84") or len(e164) != 12:
        return None
    return _prefixes().get(e164[3:5])


def masked(e164: str) -> str:
    """``+84905123456`` -> ``+84 90x xxx 456``-style display that hides the middle."""
    if len(e164) < 7:
        return "***"
    return e164[:5] + "*" * (len(e164) - 8) + e164[-3:]
