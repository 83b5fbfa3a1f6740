"""The triage rules: the documented defaults, and configured rules."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from safezone.declarations.triage import DEFAULT_RULES, assess, load_rules


@pytest.mark.parametrize(
    ("symptoms", "exposures", "expected"),
    [
        ([], [], "low"),
        (["fever"], [], "medium"),
        ([], ["suspected_case"], "medium"),
        ([], ["confirmed_case"], "medium"),
        (["cough"], ["returned_from_outbreak_area"], "medium"),
        (["cough"], ["confirmed_case"], "high"),
        (["other", "fever"], ["visited_health_facility", "confirmed_case"], "high"),
    ],
)
def test_default_rules(symptoms: list[str], exposures: list[str], expected: str) -> None:
    assert assess(symptoms, exposures) == expected
    assert assess(symptoms, exposures, load_rules(None)) == expected


def test_configured_rules_replace_the_defaults() -> None:
    rules = load_rules(
        [
            {"risk": "high", "symptoms": ["shortness_of_breath"]},
            {"risk": "medium", "exposures": ["confirmed_case"]},
        ]
    )
    assert rules != DEFAULT_RULES
    assert assess(["shortness_of_breath"], []) == "medium"  # default
    assert assess(["shortness_of_breath"], [], rules) == "high"
    assert assess(["fever"], [], rules) == "low"
    assert assess([], ["confirmed_case"], rules) == "medium"


@pytest.mark.parametrize(
    "bad",
    [
        [{"risk": "extreme"}],
        [{"risk": "high", "symptoms": ["sneezing"]}],
        [{"risk": "high", "colour": "red"}],
    ],
)
def test_bad_rules_are_refused(bad: list[dict[str, object]]) -> None:
    with pytest.raises(ValidationError):
        load_rules(bad)
