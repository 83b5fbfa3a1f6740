"""SMS encoding and segment counting, and Vietnamese without diacritics.

GSM-7 (3GPP TS 23.038 default alphabet plus its extension table, whose characters take two
septets) fits 160 septets in one SMS, or 153 per part of a concatenated message (the UDH takes
the rest). Anything else goes as UCS-2: 70 UTF-16 units, or 67 per part. Parts never split an
escape pair or a surrogate pair. Any Vietnamese diacritic forces UCS-2, even the few letters
GSM-7 happens to have (à, è, é, ì, ò, ù): a text half in one alphabet reads badly, and the
gateway is asked for UCS-2 (``coding=2``) whenever a text is Vietnamese with marks.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)

Encoding = Literal["GSM-7", "UCS-2"]
SINGLE = {"GSM-7": 160, "UCS-2": 70}
PART = {"GSM-7": 153, "UCS-2": 67}


def strip_diacritics(text: str) -> str:
    """Vietnamese (and other Latin) text without marks: ``Đà Nẵng`` -> ``Da Nang``."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def has_diacritics(text: str) -> bool:
    """Whether ``text`` has a letter with a mark (or đ)."""
    return strip_diacritics(text) != unicodedata.normalize("NFC", text)


def encoding_of(text: str) -> Encoding:
    """GSM-7 if every character is in the GSM-7 alphabet and none carries a diacritic."""
    if has_diacritics(text):
        return "UCS-2"
    if all(ch in _BASIC or ch in _EXTENSION for ch in text):
        return "GSM-7"
    return "UCS-2"


def _units(text: str, encoding: Encoding) -> list[int]:
    """The size of each character in the encoding's units (septets or UTF-16 units)."""
    if encoding == "GSM-7":
        return [2 if ch in _EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


@dataclass(frozen=True, slots=True)
class Segments:
    """How a text goes out as SMS."""

    encoding: Encoding
    length: int  # in the encoding's units (septets for GSM-7, UTF-16 units for UCS-2)
    parts: int
    characters: int

    @property
    def per_part(self) -> int:
        """Units per part for this text (160/70 single, 153/67 concatenated)."""
        return SINGLE[self.encoding] if self.parts <= 1 else PART[self.encoding]


def segments(text: str) -> Segments:
    """Encoding, length and number of SMS parts of ``text``."""
    text = unicodedata.normalize("NFC", text)
    encoding = encoding_of(text)
    units = _units(text, encoding)
    length = sum(units)
    if length <= SINGLE[encoding]:
        return Segments(encoding, length, 1 if text else 0, len(text))
    parts, used = 1, 0
    for size in units:
        if used + size > PART[encoding]:  # a pair never straddles two parts
            parts, used = parts + 1, 0
        used += size
    return Segments(encoding, length, parts, len(text))
