"""How units are named for people: display names, one spelling convention, accent-free search.

Display names are Vietnamese in both page languages ("Huyện Đồng Xuân", also on English pages):
they are proper names, written so on signs, addresses and official papers, and an English
rendering ("Dong Xuan District") would match nothing a reader sees elsewhere.

Spelling: the census file writes most names with the tone mark on the first vowel of "oa",
"oe" and "uy" (Sơn Hòa, Đông Hòa, 29 names) but six with the other convention (Tuy Hòa, Tây Hoà,
Phú Hoà, ...), as the GSO list it comes from does. Every import normalises names to the
majority convention, so one page never shows both.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Protocol

# Combining tone marks (in NFD): grave, acute, tilde, hook above, dot below.
_TONES = "\u0300\u0301\u0303\u0309\u0323"
# A syllable ending in oa/oe/uy with the tone on the second vowel (NFD).
_SECOND_VOWEL_TONE = re.compile(rf"^(.*?)([oOuU])([aAeEyY])([{_TONES}])$")


class Named(Protocol):
    """What a display name needs: a unit's name and its type ("huyện", "xã", ...)."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


def normalise_spelling(name: str) -> str:
    """``name`` in NFC with the tone of final oa/oe/uy on the first vowel (Hoà -> Hòa)."""
    words = []
    for word in unicodedata.normalize("NFC", name.strip()).split():
        decomposed = unicodedata.normalize("NFD", word)
        match = _SECOND_VOWEL_TONE.match(decomposed)
        # "quý": the u belongs to the consonant qu, the tone stays on the y.
        if match and not (match.group(2) in "uU" and match.group(1)[-1:] in ("q", "Q")):
            head, first, second, tone = match.groups()
            words.append(unicodedata.normalize("NFC", head + first + tone + second))
        else:
            words.append(word)
    return " ".join(words)


def display_name(unit: Named | None) -> str:
    """The unit's name with its type once: "Huyện Đồng Xuân", "Phường 1".

    Census names already start with the type; a bare name from another source ("Đồng Xuân")
    gets the type in front.
    """
    if unit is None:
        return ""
    name = unit.name.strip()
    unit_type = unit.type.strip()
    if not unit_type or fold(name).startswith(fold(unit_type) + " "):
        return name
    return f"{unit_type[:1].upper()}{unit_type[1:]} {name}"


def fold(text: str) -> str:
    """Lower case without diacritics, spaces collapsed, for matching: "Sơn Hòa" -> "son hoa"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.lower().split())
