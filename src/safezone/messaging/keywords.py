"""MO keywords: what a reply by SMS asks for, matched without accents, case or extra spaces.

``TU CHOI``, ``HUY``, ``STOP`` (configurable) opt the number out; ``DA CAI <APP>`` ("đã cài",
"I have installed") marks the app installed. "Từ chối", "tu choi", "TUCHOI!" all match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

_NOT_WORD = re.compile(r"[^A-Z0-9]+")


def fold(text: str) -> str:
    """Upper-case ASCII words: accents dropped (đ -> D), punctuation as spaces, single spaces."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _NOT_WORD.sub(" ", bare.upper()).strip()


@dataclass(frozen=True, slots=True)
class Intent:
    """What an MO asks: ``opt_out``, ``installed`` (with ``app``) or ``none``."""

    kind: Literal["opt_out", "installed", "none"]
    app: str | None = None


def _starts_with(folded: str, keyword: str) -> str | None:
    """The rest of ``folded`` after ``keyword`` (spaces optional inside it), or None."""
    word = fold(keyword)
    if not word:
        return None
    pattern = r"\s*".join(re.escape(part) for part in word.split()) + r"(?:\s+|$)"
    match = re.match(pattern, folded)
    return None if match is None else folded[match.end() :]


def parse(
    text: str,
    *,
    opt_out: Sequence[str],
    installed: Sequence[str],
    apps: Mapping[str, str],
) -> Intent:
    """The intent of an MO ``text``. ``apps`` maps an app's word (``BLUEZONE``) to its code."""
    folded = fold(text)
    for keyword in opt_out:
        if _starts_with(folded, keyword) is not None:
            return Intent("opt_out")
    known = {fold(word).replace(" ", ""): code for word, code in apps.items()}
    for keyword in installed:
        rest = _starts_with(folded, keyword)
        if rest is None:
            continue
        app = known.get(rest.replace(" ", ""))
        if app is None and rest:
            # "DA CAI BLUEZONE ROI": the first word names the app.
            app = known.get(rest.split()[0])
        if app is not None:
            return Intent("installed", app)
    return Intent("none")
