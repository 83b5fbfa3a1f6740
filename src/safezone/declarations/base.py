"""What every declarations use case shares: the policy, Vietnam's calendar, input parsing, and
reading a declaration's stored answers back (through the vault, the one place that decrypts).

No HTTP here: every function takes a session and plain arguments.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.declarations import triage, vocabulary
from safezone.declarations.crypto import Keys, keys_for
from safezone.declarations.models import DailyUpdate, Declaration, Person, pack_codes
from safezone.declarations.schemas import TODAY, UNIT_LEVEL, DeclarationIn, id_kind
from safezone.errors import PYDANTIC_VI, FieldError, InvalidInput, NotFound, from_pydantic
from safezone.units.models import Unit
from safezone.vault import Vault

#: Vietnam keeps UTC+7 all year: "today" and "one update per day" follow the local calendar.
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
#: Daily updates count towards the risk (and show on the citizen page) for this many days.
SYMPTOM_WINDOW_DAYS = 14

ModelT = TypeVar("ModelT", bound=BaseModel)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Vietnam."""
    return (now or utcnow()).astimezone(VIETNAM).date()


@dataclass(frozen=True, slots=True)
class Policy:
    """What the use cases need from configuration: keys, triage rules, periods."""

    keys: Keys
    rules: tuple[triage.TriageRule, ...] = triage.DEFAULT_RULES
    pass_lifetime_hours: int = 24
    retention_days: int = 30
    idempotency_hours: int = 24

    @property
    def vault(self) -> Vault:
        """The vault that seals and opens this domain's personal data."""
        return self.keys.vault

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy configured in ``settings``."""
        config = settings.declarations
        return cls(
            keys=keys_for(settings),
            rules=triage.load_rules(config.triage_rules),
            pass_lifetime_hours=config.pass_lifetime_hours,
            retention_days=config.retention_days,
            idempotency_hours=config.idempotency_hours,
        )


def not_found() -> NotFound:
    """The one answer for a declaration that is missing, out of scope or not the caller's."""
    return NotFound.single(
        "id", "declaration_not_found", "Không tìm thấy tờ khai.", "No such declaration."
    )


# --- validation -------------------------------------------------------------------------------


#: Unit levels seen recently, per database: reference data read on every submission.
_UNIT_LEVELS: dict[str, tuple[float, dict[str, str]]] = {}
UNIT_CACHE_SECONDS = 60.0


def _unit_level(session: Session, code: str) -> str | None:
    """The level of unit ``code`` (None if unknown), cached for a minute.

    Only known codes are cached, so a newly imported unit is never refused; a unit's level
    changing takes up to a minute to show (the foreign key still guards the insert).
    """
    key = str(session.get_bind().engine.url)
    now = time.monotonic()
    stamp, levels = _UNIT_LEVELS.get(key, (0.0, {}))
    if now - stamp > UNIT_CACHE_SECONDS:
        levels = {}
        _UNIT_LEVELS[key] = (now, levels)
    level = levels.get(code)
    if level is None:
        level = session.scalar(select(Unit.level).where(Unit.code == code))
        if level is not None:
            levels[code] = level
    return level


def validation_context(session: Session, today: dt.date) -> dict[str, Any]:
    """The context input models need: today's date and a unit-level lookup."""
    return {UNIT_LEVEL: lambda code: _unit_level(session, code), TODAY: today}


def field_errors(error: ValidationError) -> list[FieldError]:
    """Pydantic's errors as FieldErrors in both languages (``travel.0.from`` style names)."""
    return from_pydantic(error.errors(include_url=False))


def _missing_birth(raw: Any) -> FieldError | None:
    # The model checks "year or date of birth" after its fields; when a field already failed
    # that check does not run, so repeat it here to report every bad field in one answer.
    if isinstance(raw, dict) and raw.get("birth_year") is None and raw.get("birth_date") is None:
        return FieldError(
            "birth_year",
            "birth_required",
            "Năm sinh: bắt buộc (hoặc ngày sinh).",
            "Year of birth: required (or a date of birth).",
        )
    return None


def _named(error: FieldError, details: Mapping[str, Any]) -> FieldError:
    """Name the field in the message: "Họ và tên: bắt buộc" rather than "Quá ngắn."."""
    if error.field is None:
        return error
    vi_name = vocabulary.field_label(error.field, "vi")
    en_name = vocabulary.field_label(error.field, "en")
    given = details.get("input")
    if error.code == "missing" or (isinstance(given, str | list) and not given):
        return FieldError(error.field, error.code, f"{vi_name}: bắt buộc", f"{en_name}: required")
    if error.message_vi not in PYDANTIC_VI.values():
        return error  # our own validators' messages already say which field
    return FieldError(
        error.field,
        error.code,
        f"{vi_name}: {error.message_vi[:1].lower()}{error.message_vi[1:]}",
        f"{en_name}: {error.message_en[:1].lower()}{error.message_en[1:]}",
    )


def parse(model: type[ModelT], session: Session, raw: Any, *, today: dt.date) -> ModelT:
    """Validate ``raw`` into ``model``; raises InvalidInput listing every bad field, each
    message naming its field."""
    try:
        return model.model_validate(raw, context=validation_context(session, today))
    except ValidationError as error:
        details = error.errors(include_url=False)
        errors = [
            _named(item, detail) for item, detail in zip(field_errors(error), details, strict=True)
        ]
        if model is DeclarationIn:
            extra = _missing_birth(raw)
            if extra is not None and all(e.field != extra.field for e in errors):
                errors.append(extra)
        raise InvalidInput(*errors) from None


def request_fingerprint(raw: Any) -> str:
    """A stable hash of a request body (to tell a retry from a different request)."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- stored answers, through the vault ----------------------------------------------------------


def write_person(vault: Vault, person: Person, data: DeclarationIn) -> None:
    """Store the identity and contact answers of ``data`` in ``person`` (sealed)."""
    vault.seal(
        person,
        full_name=data.full_name,
        id_number=data.id_number,
        phone=data.phone,
        street=data.address.street,
        email=data.email or None,
    )
    person.unit_code = data.address.unit_code
    person.id_kind = id_kind(data.id_number)
    assert data.birth_year is not None  # the model fills it from the date
    person.birth_year = data.birth_year
    person.birth_date = data.birth_date
    person.gender = data.gender
    person.nationality = data.nationality


def write_answers(vault: Vault, declaration: Declaration, data: DeclarationIn) -> None:
    """Store the health answers of ``data`` in ``declaration`` (travel and conditions sealed)."""
    declaration.unit_code = data.address.unit_code
    declaration.declaration_type = data.declaration_type
    declaration.symptoms = pack_codes(list(data.symptoms))
    for name, value in data.exposure.model_dump().items():
        setattr(declaration, f"exposure_{name}", value)
    vault.seal(
        declaration,
        travel=[item.model_dump(mode="json", by_alias=True) for item in data.travel],
        conditions=list(data.conditions),
    )
    declaration.pledge = data.pledge


def person_values(vault: Vault, person: Person) -> dict[str, Any]:
    """A person's identity and contact data in clear."""
    return vault.open(person)


def travel_of(vault: Vault, declaration: Declaration) -> list[dict[str, Any]]:
    """The places travelled to, in clear."""
    return list(vault.get(declaration, "travel") or [])


def conditions_of(vault: Vault, declaration: Declaration) -> list[str]:
    """The underlying-condition codes, in clear."""
    return list(vault.get(declaration, "conditions") or [])


def statuses_of(vault: Vault, update: DailyUpdate) -> list[str]:
    """A daily update's status codes, in clear."""
    return list(vault.get(update, "daily_statuses") or [])


def form_values(vault: Vault, declaration: Declaration) -> dict[str, Any]:
    """The stored answers in the input shape (to pre-fill the edit form)."""
    person = person_values(vault, declaration.person)
    return {
        "full_name": person["full_name"],
        "birth_year": declaration.person.birth_year,
        "birth_date": (
            declaration.person.birth_date.isoformat() if declaration.person.birth_date else None
        ),
        "gender": declaration.person.gender,
        "nationality": declaration.person.nationality,
        "id_number": person["id_number"],
        "phone": person["phone"],
        "email": person["email"],
        "address": {"unit_code": declaration.unit_code, "street": person["street"]},
        "declaration_type": declaration.declaration_type,
        "symptoms": declaration.symptom_list,
        "exposure": declaration.exposures,
        "travel": travel_of(vault, declaration),
        "conditions": conditions_of(vault, declaration),
        "pledge": declaration.pledge,
    }
