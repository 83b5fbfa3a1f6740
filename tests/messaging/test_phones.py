"""Phone numbers to E.164 and carriers by prefix."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from safezone.messaging.phones import InvalidPhone, carrier_of, masked, normalise


@pytest.mark.parametrize(
    ("raw", "e164", "carrier"),
    [
        ("0905123456", "+84905123456", "mobifone"),
        ("0905 123 456", "+84905123456", "mobifone"),
        ("090.512.3456", "+84905123456", "mobifone"),
        ("+84 905 123 456", "+84905123456", "mobifone"),
        ("84905123456", "+84905123456", "mobifone"),
        ("0981234567", "+84981234567", "viettel"),
        ("0321234567", "+84321234567", "viettel"),
        ("0912345678", "+84912345678", "vinaphone"),
        ("0832345678", "+84832345678", "vinaphone"),
        ("0921234567", "+84921234567", "vietnamobile"),
        ("0991234567", "+84991234567", "gmobile"),
        ("0871234567", "+84871234567", None),  # Itelecom: not one of the five, kept as unknown
    ],
)
def test_vietnamese_numbers(raw: str, e164: str, carrier: str | None) -> None:
    assert normalise(raw) == e164
    assert carrier_of(e164) == carrier


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("abc", "not_a_number"),
        ("0905", "invalid"),
        ("02573823456", "not_mobile"),  # a Phú Yên landline
        ("9" * 40, "too_long"),
    ],
)
def test_bad_numbers_name_the_field(raw: str, code: str) -> None:
    with pytest.raises(InvalidPhone) as caught:
        normalise(raw, field="so_dien_thoai")
    assert caught.value.error.field == "so_dien_thoai"
    assert caught.value.error.code == code
    assert caught.value.error.message_vi
    assert caught.value.error.message_en


def test_foreign_numbers_have_no_carrier() -> None:
    assert carrier_of("+14155552671") is None


def test_masked_hides_the_middle() -> None:
    assert masked("+84905123456") == "+8490****456"


@given(st.sampled_from(["90", "98", "32", "91", "92", "99"]), st.integers(0, 9_999_999))
def test_every_form_gives_the_same_number(prefix: str, rest: int) -> None:
    national = f"0{prefix}{rest:07d}"
    # Not every number under a carrier's prefix is allocated (0992 000 000 is not): the
    # property is about numbers the numbering plan holds valid.
    assume(phonenumbers.is_valid_number(phonenumbers.parse(national, "VN")))
    e164 = normalise(national)
    assert normalise(e164) == e164
    assert normalise("84" + national[1:]) == e164
    assert normalise(f"{national[:4]} {national[4:7]} {national[7:]}") == e164
