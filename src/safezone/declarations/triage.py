"""Triage: the one place where answers become a risk level (low / medium / high).

A rule names the risk it gives and what must hold for it to apply: ``symptoms`` and
``exposures`` are each ``"any"`` (at least one of them) or a list (at least one of the list);
a rule without a key does not look at that part. The result is the highest risk of any rule
that applies, or ``low``. The defaults (from the issue, documented in docs/declarations.md):

1. any symptom together with contact with a confirmed case (F0) -> high
2. any symptom -> medium
3. any exposure -> medium

Installations can replace them with ``SAFEZONE_DECLARATIONS__TRIAGE_RULES`` (a JSON list of
rules of the same shape); the rules are validated at start-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, TypeAdapter

from safezone.declarations import vocabulary

#: The codes triage reads, from the one vocabulary.
SYMPTOMS: tuple[str, ...] = vocabulary.SYMPTOMS
EXPOSURES: tuple[str, ...] = vocabulary.EXPOSURES
RISK_ORDER: tuple[str, ...] = vocabulary.RISKS

if TYPE_CHECKING:  # the checker sees plain strings; pydantic sees the vocabulary's codes
    Risk: TypeAlias = str
    SymptomCode: TypeAlias = str
    ExposureCode: TypeAlias = str
else:
    Risk = Literal[vocabulary.RISKS]
    SymptomCode = Literal[vocabulary.SYMPTOMS]
    ExposureCode = Literal[vocabulary.EXPOSURES]


class TriageRule(BaseModel):
    """One rule: ``risk`` applies when every condition given holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk: Risk
    symptoms: Literal["any"] | list[SymptomCode] | None = None
    exposures: Literal["any"] | list[ExposureCode] | None = None

    def applies(self, symptoms: frozenset[str], exposures: frozenset[str]) -> bool:
        """Whether this rule matches the given symptoms and positive exposures."""
        return _holds(self.symptoms, symptoms) and _holds(self.exposures, exposures)


def _holds(condition: Literal["any"] | list[Any] | None, present: frozenset[str]) -> bool:
    if condition is None:
        return True
    if condition == "any":
        return bool(present)
    return bool(present.intersection(condition))


DEFAULT_RULES: tuple[TriageRule, ...] = (
    TriageRule(risk="high", symptoms="any", exposures=["confirmed_case"]),
    TriageRule(risk="medium", symptoms="any"),
    TriageRule(risk="medium", exposures="any"),
)

_RULES_ADAPTER = TypeAdapter(list[TriageRule])


def load_rules(raw: Sequence[dict[str, Any]] | None) -> tuple[TriageRule, ...]:
    """Rules from configuration (None = the defaults); raises pydantic.ValidationError."""
    if raw is None:
        return DEFAULT_RULES
    return tuple(_RULES_ADAPTER.validate_python(list(raw)))


def assess(
    symptoms: Iterable[str],
    exposures: Iterable[str],
    rules: Sequence[TriageRule] = DEFAULT_RULES,
) -> str:
    """The risk level for these symptoms and positive exposures under ``rules``."""
    present_symptoms = frozenset(symptoms)
    present_exposures = frozenset(exposures)
    best = 0
    for rule in rules:
        if rule.applies(present_symptoms, present_exposures):
            best = max(best, RISK_ORDER.index(rule.risk))
    return RISK_ORDER[best]
