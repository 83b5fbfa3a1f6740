"""SMS encoding and segment counting, from the table in data/segments.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safezone.messaging.sms import encoding_of, has_diacritics, segments, strip_diacritics

DATA = Path(__file__).parent / "data"
SEGMENTS: list[dict[str, Any]] = json.loads((DATA / "segments.json").read_text("utf-8"))["cases"]
STRIP: list[list[str]] = json.loads((DATA / "strip.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", SEGMENTS, ids=[c["name"] for c in SEGMENTS])
def test_segments(case: dict[str, Any]) -> None:
    result = segments(case["text"])
    assert (result.encoding, result.length, result.parts) == (
        case["encoding"],
        case["length"],
        case["parts"],
    )


@pytest.mark.parametrize(("marked", "plain"), STRIP)
def test_strip_diacritics(marked: str, plain: str) -> None:
    assert strip_diacritics(marked) == plain
    assert encoding_of(strip_diacritics(marked)) == "GSM-7"


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ăâđêôơưáàảãạếềểễệ€{}", max_size=600))
def test_parts_hold_the_text(text: str) -> None:
    """Parts are the fewest that hold the text: one part up to the single limit, else each
    part at most 153/67 units and one part fewer would not be enough."""
    result = segments(text)
    single, per = (160, 153) if result.encoding == "GSM-7" else (70, 67)
    if result.length <= single:
        assert result.parts == (1 if text else 0)
    else:
        assert result.parts * per >= result.length
        assert (result.parts - 1) * per < result.length + result.parts  # an escape may carry over
    assert (result.encoding == "UCS-2") == (has_diacritics(text) or result.encoding == "UCS-2")
    if has_diacritics(text):
        assert result.encoding == "UCS-2"
