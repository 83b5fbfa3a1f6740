"""Health declarations: submit, update, daily updates, passes, staff review, export, purge.

No HTTP here: every function takes a session and plain arguments. Personal data is encrypted
before it reaches the session and decrypted only for staff reads, which are audited. Staff
queries go through the caller's unit scope, so an out-of-scope declaration is simply not found.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError
from sqlalchemy import CursorResult, Delete, Select, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from safezone.accounts.models import User
from safezone.accounts.service import Scope, record, record_read
from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.declarations import triage
from safezone.declarations.crypto import InvalidPass, Keys, keys_for
from safezone.declarations.models import (
    DailyUpdate,
    Declaration,
    FollowUp,
    IdempotencyRecord,
    Person,
    pack_codes,
)
from safezone.declarations.schemas import (
    TODAY,
    UNIT_LEVEL,
    AssignmentIn,
    DailyUpdateIn,
    DailyUpdateOut,
    DailyUpdateRow,
    DeclarationCreated,
    DeclarationDetail,
    DeclarationIn,
    DeclarationPage,
    DeclarationSummary,
    FollowUpIn,
    FollowUpRow,
    OutcomeIn,
    PassOut,
    PersonOut,
    TimelineEntry,
    id_kind,
    normalise_id_number,
    normalise_phone,
)
from safezone.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    SafezoneError,
    from_pydantic,
)
from safezone.units.models import COMMUNE, Unit
from safezone.units.service import subtree_of

#: Vietnam keeps UTC+7 all year: "today" and "one update per day" follow the local calendar.
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
UPDATE_TOKEN_PREFIX = "szu_"  # noqa: S105 - a visible marker, not a secret
MAX_PER_PAGE = 100
SYMPTOM_WINDOW_DAYS = 14

ModelT = TypeVar("ModelT", bound=BaseModel)


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in Vietnam."""
    return (now or utcnow()).astimezone(VIETNAM).date()


@dataclass(frozen=True, slots=True)
class Policy:
    """What the service needs from configuration: keys, triage rules, periods."""

    keys: Keys
    rules: tuple[triage.TriageRule, ...] = triage.DEFAULT_RULES
    pass_valid_days: int = 1
    retention_days: int = 30
    idempotency_hours: int = 24

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """The policy configured in ``settings``."""
        config = settings.declarations
        return cls(
            keys=keys_for(settings),
            rules=triage.load_rules(config.triage_rules),
            pass_valid_days=config.pass_valid_days,
            retention_days=config.retention_days,
            idempotency_hours=config.idempotency_hours,
        )


class TokenRejected(SafezoneError):
    """The update token is missing, wrong or revoked."""

    status_hint = 403


def _token_missing() -> TokenRejected:
    error = TokenRejected.single(
        "update_token",
        "update_token_required",
        "Cần mã cập nhật (đường liên kết nhận được khi khai báo).",
        "The update token (from the link given at declaration) is required.",
    )
    error.status_hint = 401
    return error


def _token_invalid() -> TokenRejected:
    return TokenRejected.single(
        "update_token",
        "invalid_update_token",
        "Mã cập nhật không đúng.",
        "The update token is not valid.",
    )


def _token_revoked() -> TokenRejected:
    return TokenRejected.single(
        "update_token",
        "update_token_revoked",
        "Mã cập nhật đã bị thu hồi hoặc đã được thay bằng tờ khai mới hơn.",
        "The update token was revoked or replaced by a newer declaration.",
    )


def _not_found() -> NotFound:
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
            "Cần năm sinh hoặc ngày sinh.",
            "Give a year of birth or a date of birth.",
        )
    return None


def parse(model: type[ModelT], session: Session, raw: Any, *, today: dt.date) -> ModelT:
    """Validate ``raw`` into ``model``; raises InvalidInput listing every bad field."""
    try:
        return model.model_validate(raw, context=validation_context(session, today))
    except ValidationError as error:
        errors = field_errors(error)
        if model is DeclarationIn:
            extra = _missing_birth(raw)
            if extra is not None and all(e.code != extra.code for e in errors):
                errors.append(extra)
        raise InvalidInput(*errors) from None


def request_fingerprint(raw: Any) -> str:
    """A stable hash of a request body (to tell a retry from a different request)."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- citizens ---------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    # 256 random bits: a fast hash is enough, there is no dictionary to defend against.
    return hashlib.sha256(token.encode()).hexdigest()


def new_update_token() -> str:
    """A fresh secret update token."""
    return UPDATE_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _write_person(policy: Policy, person: Person, data: DeclarationIn) -> None:
    cipher = policy.keys.cipher
    person.unit_code = data.address.unit_code
    person.full_name_enc = cipher.encrypt(data.full_name, field="full_name")
    person.id_number_enc = cipher.encrypt(data.id_number, field="id_number")
    person.phone_enc = cipher.encrypt(data.phone, field="phone")
    person.street_enc = cipher.encrypt(data.address.street, field="street")
    person.email_enc = cipher.encrypt(data.email, field="email") if data.email else None
    person.id_kind = id_kind(data.id_number)
    person.phone_index = policy.keys.index.digest("phone", data.phone)
    assert data.birth_year is not None  # the model fills it from the date
    person.birth_year = data.birth_year
    person.birth_date = data.birth_date
    person.gender = data.gender
    person.nationality = data.nationality


def _write_answers(declaration: Declaration, data: DeclarationIn) -> None:
    declaration.unit_code = data.address.unit_code
    declaration.declaration_type = data.declaration_type
    declaration.symptoms = pack_codes(list(data.symptoms))
    for name, value in data.exposure.model_dump().items():
        setattr(declaration, f"exposure_{name}", value)
    declaration.travel = [item.model_dump(mode="json", by_alias=True) for item in data.travel]
    declaration.conditions = pack_codes(list(data.conditions))
    declaration.pledge = data.pledge


def _recent_update_symptoms(
    session: Session, person_id: int, today: dt.date, extra: Iterable[str] = ()
) -> set[str]:
    since = today - dt.timedelta(days=SYMPTOM_WINDOW_DAYS)
    rows = session.scalars(
        select(DailyUpdate.statuses).where(
            DailyUpdate.person_id == person_id, DailyUpdate.day >= since
        )
    )
    found = {code for packed in rows for code in packed.split(",") if code}
    found.update(extra)
    found.discard("healthy")
    return found


def _triage(session: Session, policy: Policy, declaration: Declaration, today: dt.date) -> str:
    """Recompute the risk: declared symptoms plus those of daily updates of the last 14 days."""
    symptoms = set(declaration.symptom_list)
    person_id = declaration.person_id or (declaration.person.id if declaration.person else None)
    if person_id is not None:
        symptoms |= _recent_update_symptoms(session, person_id, today)
    exposures = [name for name, value in declaration.exposures.items() if value]
    return triage.assess(symptoms, exposures, policy.rules)


def _info_day(session: Session, declaration: Declaration) -> dt.date:
    latest = session.scalar(
        select(func.max(DailyUpdate.day)).where(DailyUpdate.declaration_id == declaration.id)
    )
    return max(declaration.declared_on, latest) if latest else declaration.declared_on


def pass_token(session: Session, policy: Policy, declaration: Declaration) -> str:
    """A signed pass for ``declaration``, dated by its latest health information."""
    return policy.keys.passes.issue(
        declaration.id, _info_day(session, declaration), declaration.risk, policy.pass_valid_days
    )


def _replay(policy: Policy, row: IdempotencyRecord, fingerprint: str) -> DeclarationCreated:
    if not hmac.compare_digest(row.request_hash, fingerprint):
        raise Conflict.single(
            "Idempotency-Key",
            "idempotency_key_reused",
            "Khoá Idempotency-Key này đã được dùng cho một yêu cầu khác.",
            "This Idempotency-Key was used for a different request.",
        )
    stored = policy.keys.cipher.decrypt(row.response_enc, field="idempotency_response")
    return DeclarationCreated.model_validate_json(stored)


def submit(
    session: Session,
    policy: Policy,
    data: DeclarationIn,
    *,
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
) -> DeclarationCreated:
    """Store a new declaration (and its person); returns id, pass, update token and risk.

    A person is recognised by identity number (blind index): their details are refreshed and
    the update links of their earlier declarations are revoked, so only the newest one works.
    With ``idempotency_key``, a retry with the same body gets the first answer back.
    """
    now = now or utcnow()
    today = local_today(now)
    claim: IdempotencyRecord | None = None
    if idempotency_key is not None:
        key_hash = hashlib.sha256(idempotency_key.encode()).hexdigest()
        existing = session.get(IdempotencyRecord, key_hash)
        if existing is not None:
            return _replay(policy, existing, fingerprint)
        claim = IdempotencyRecord(
            key_hash=key_hash, request_hash=fingerprint, response_enc=b"", created_at=now
        )
        try:
            # Claim the key before writing anything: of two concurrent retries one wins here,
            # the other waits for its commit, fails the primary key and replays its answer.
            with session.begin_nested():
                session.add(claim)
                session.flush()
        except IntegrityError:
            winner = session.get(IdempotencyRecord, key_hash, populate_existing=True)
            assert winner is not None
            return _replay(policy, winner, fingerprint)

    id_index = policy.keys.index.digest("id_number", data.id_number)
    person = session.scalar(
        select(Person).where(
            Person.id_index.in_(policy.keys.index.candidates("id_number", data.id_number))
        )
    )
    if person is None:
        person = Person(id_index=id_index, created_at=now)
        session.add(person)
    else:
        person.id_index = id_index  # re-keyed to the current key, if an old key found it
        person.updated_at = now
        _revoke_person_tokens(session, person.id, now)
    _write_person(policy, person, data)

    token = new_update_token()
    declaration = Declaration(
        person=person,
        declared_on=today,
        created_at=now,
        updated_at=now,
        update_token_hash=_hash_token(token),
    )
    _write_answers(declaration, data)
    declaration.risk = _triage(session, policy, declaration, today)
    session.add(declaration)
    session.flush()
    result = DeclarationCreated(
        id=declaration.id,
        pass_token=policy.keys.passes.issue(
            declaration.id, today, declaration.risk, policy.pass_valid_days
        ),
        update_token=token,
        risk=declaration.risk,
    )
    if claim is not None:
        claim.declaration_id = declaration.id
        claim.response_enc = policy.keys.cipher.encrypt(
            result.model_dump_json(), field="idempotency_response"
        )
    return result


def _revoke_person_tokens(session: Session, person_id: int, now: dt.datetime) -> None:
    for row in session.scalars(
        select(Declaration).where(
            Declaration.person_id == person_id, Declaration.token_revoked_at.is_(None)
        )
    ):
        row.token_revoked_at = now


def authorise(session: Session, declaration_id: int, token: str | None) -> Declaration:
    """The declaration ``token`` opens; raises NotFound or TokenRejected."""
    declaration = session.get(Declaration, declaration_id)
    if declaration is None:
        raise _not_found()
    if not token:
        raise _token_missing()
    if not hmac.compare_digest(declaration.update_token_hash, _hash_token(token)):
        raise _token_invalid()
    if declaration.token_revoked_at is not None:
        raise _token_revoked()
    return declaration


def declaration_for_token(session: Session, token: str) -> Declaration:
    """The declaration behind an update link; raises NotFound or TokenRejected (revoked)."""
    declaration = session.scalar(
        select(Declaration).where(Declaration.update_token_hash == _hash_token(token))
    )
    if declaration is None:
        raise _not_found()
    if declaration.token_revoked_at is not None:
        raise _token_revoked()
    return declaration


def update(
    session: Session,
    policy: Policy,
    declaration_id: int,
    token: str | None,
    data: DeclarationIn,
    *,
    now: dt.datetime | None = None,
) -> DeclarationCreated:
    """Replace a declaration's answers (with its update token); the risk is recomputed."""
    now = now or utcnow()
    today = local_today(now)
    declaration = authorise(session, declaration_id, token)
    person = declaration.person
    id_index = policy.keys.index.digest("id_number", data.id_number)
    if id_index != person.id_index:
        other = session.scalar(select(Person.id).where(Person.id_index == id_index))
        if other is not None:
            raise InvalidInput.single(
                "id_number",
                "id_number_belongs_to_other",
                "Số giấy tờ này thuộc một tờ khai khác; hãy khai báo mới.",
                "This identity number belongs to another declaration; make a new declaration.",
            )
        person.id_index = id_index
    _write_person(policy, person, data)
    person.updated_at = now
    _write_answers(declaration, data)
    declaration.declared_on = today
    declaration.updated_at = now
    declaration.risk = _triage(session, policy, declaration, today)
    session.flush()
    assert token is not None
    return DeclarationCreated(
        id=declaration.id,
        pass_token=pass_token(session, policy, declaration),
        update_token=token,
        risk=declaration.risk,
    )


def add_daily_update(
    session: Session,
    policy: Policy,
    declaration_id: int,
    token: str | None,
    data: DailyUpdateIn,
    *,
    now: dt.datetime | None = None,
) -> DailyUpdateOut:
    """Store one day's status (one per person per day); the risk is recomputed."""
    now = now or utcnow()
    today = local_today(now)
    declaration = authorise(session, declaration_id, token)
    return _daily_update(session, policy, declaration, data, now=now, today=today)


def _daily_update(
    session: Session,
    policy: Policy,
    declaration: Declaration,
    data: DailyUpdateIn,
    *,
    now: dt.datetime,
    today: dt.date,
) -> DailyUpdateOut:
    day = data.day or today
    exists = session.scalar(
        select(DailyUpdate.id).where(
            DailyUpdate.person_id == declaration.person_id, DailyUpdate.day == day
        )
    )
    duplicate = Conflict.single(
        "day",
        "daily_update_exists",
        "Đã có cập nhật sức khoẻ cho ngày này (mỗi ngày một lần).",
        "There is already a health update for this day (one per day).",
    )
    if exists is not None:
        raise duplicate
    row = DailyUpdate(
        person_id=declaration.person_id,
        declaration_id=declaration.id,
        day=day,
        statuses=pack_codes(list(data.statuses)),
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent second update loses on the unique key
            session.add(row)
            session.flush()
    except IntegrityError:
        raise duplicate from None
    declaration.updated_at = now
    declaration.risk = _triage(session, policy, declaration, today)
    session.flush()
    return DailyUpdateOut(
        id=row.id,
        declaration_id=declaration.id,
        day=day,
        statuses=list(data.statuses),
        risk=declaration.risk,
        pass_token=pass_token(session, policy, declaration),
    )


def daily_update_by_link(
    session: Session,
    policy: Policy,
    token: str,
    data: DailyUpdateIn,
    *,
    now: dt.datetime | None = None,
) -> DailyUpdateOut:
    """A daily update sent through the citizen's link (the token alone names the declaration)."""
    now = now or utcnow()
    declaration = declaration_for_token(session, token)
    return _daily_update(session, policy, declaration, data, now=now, today=local_today(now))


def revoke_update_token(
    session: Session, declaration_id: int, token: str | None, *, now: dt.datetime | None = None
) -> None:
    """The citizen withdraws their update link (e.g. the phone was lost)."""
    declaration = authorise(session, declaration_id, token)
    declaration.token_revoked_at = now or utcnow()


def verify_pass(policy: Policy, token: str, *, today: dt.date) -> PassOut:
    """Check a pass token offline (signature, version, dates). Never raises: says why not."""
    try:
        info = policy.keys.passes.verify(token, today=today)
    except InvalidPass as error:
        return PassOut(valid=False, reason=error.reason)
    return PassOut(
        valid=True,
        declaration_id=info.declaration_id,
        issued=info.issued,
        expires=info.expires,
        risk=info.risk,
    )


def citizen_view(session: Session, policy: Policy, declaration: Declaration) -> dict[str, Any]:
    """What the citizen's own page shows (their own data, opened with their secret link)."""
    cipher = policy.keys.cipher
    person = declaration.person
    updates = session.scalars(
        select(DailyUpdate)
        .where(DailyUpdate.person_id == person.id)
        .order_by(DailyUpdate.day.desc())
        .limit(SYMPTOM_WINDOW_DAYS)
    ).all()
    return {
        "declaration": declaration,
        "full_name": cipher.decrypt(person.full_name_enc, field="full_name"),
        "pass_token": pass_token(session, policy, declaration),
        "updates": updates,
    }


def citizen_form_values(policy: Policy, declaration: Declaration) -> dict[str, Any]:
    """The stored answers in the input shape (to pre-fill the edit form)."""
    cipher = policy.keys.cipher
    person = declaration.person
    return {
        "full_name": cipher.decrypt(person.full_name_enc, field="full_name"),
        "birth_year": person.birth_year,
        "birth_date": person.birth_date.isoformat() if person.birth_date else None,
        "gender": person.gender,
        "nationality": person.nationality,
        "id_number": cipher.decrypt(person.id_number_enc, field="id_number"),
        "phone": cipher.decrypt(person.phone_enc, field="phone"),
        "email": cipher.decrypt(person.email_enc, field="email") if person.email_enc else None,
        "address": {
            "unit_code": declaration.unit_code,
            "street": cipher.decrypt(person.street_enc, field="street"),
        },
        "declaration_type": declaration.declaration_type,
        "symptoms": declaration.symptom_list,
        "exposure": declaration.exposures,
        "travel": declaration.travel,
        "conditions": declaration.condition_list,
        "pledge": declaration.pledge,
    }


# --- staff ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    """The queue's filters (all optional)."""

    unit_code: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    risk: str | None = None
    symptom: str | None = None
    exposure: str | None = None
    assigned: bool | None = None
    lookup: str | None = None  # an identity number or phone number, matched exactly

    def as_dict(self) -> dict[str, Any]:
        """The filters that are set, JSON-ready (for audit details and links)."""
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in asdict(self).items()
            if value is not None and key != "lookup"
        } | ({"lookup": "(exact match)"} if self.lookup else {})


def _check_filters(filters: Filters) -> None:
    errors = []
    if filters.risk is not None and filters.risk not in triage.RISK_ORDER:
        errors.append(("risk", "invalid_risk", "Mức nguy cơ không hợp lệ.", "Unknown risk."))
    if filters.symptom is not None and filters.symptom not in triage.SYMPTOMS:
        errors.append(
            ("symptom", "invalid_symptom", "Triệu chứng không hợp lệ.", "Unknown symptom.")
        )
    if filters.exposure is not None and filters.exposure not in triage.EXPOSURES:
        errors.append(
            ("exposure", "invalid_exposure", "Yếu tố dịch tễ không hợp lệ.", "Unknown exposure.")
        )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        errors.append(
            ("date_to", "date_order", "Ngày kết thúc trước ngày bắt đầu.", "End before start.")
        )
    if errors:
        raise InvalidInput(*(FieldError(*error) for error in errors))


def _scoped(
    session: Session, policy: Policy, scope: Scope, filters: Filters
) -> Select[Declaration, str]:
    """Declarations the scope may see (address or assigned station inside it), filtered."""
    _check_filters(filters)
    home = aliased(Unit, name="home")
    station = aliased(Unit, name="station")
    query = (
        select(Declaration, home.name)
        .join(home, home.code == Declaration.unit_code)
        .outerjoin(station, station.code == Declaration.assigned_unit_code)
        .where(
            or_(
                scope.where(home.path),
                and_(station.code.is_not(None), scope.where(station.path)),
            )
        )
    )
    if filters.unit_code:
        unit = _unit_in_scope(session, scope, filters.unit_code, "unit")
        query = query.where(
            or_(subtree_of(home.path, unit.path), subtree_of(station.path, unit.path))
        )
    if filters.date_from:
        query = query.where(Declaration.declared_on >= filters.date_from)
    if filters.date_to:
        query = query.where(Declaration.declared_on <= filters.date_to)
    if filters.risk:
        query = query.where(Declaration.risk == filters.risk)
    if filters.symptom:
        query = query.where(Declaration.symptoms.contains(f",{filters.symptom},"))
    if filters.exposure:
        query = query.where(getattr(Declaration, f"exposure_{filters.exposure}").is_(True))
    if filters.assigned is not None:
        column = Declaration.assigned_unit_code
        query = query.where(column.is_not(None) if filters.assigned else column.is_(None))
    if filters.lookup:
        query = query.join(Person, Person.id == Declaration.person_id).where(
            _lookup_condition(policy, filters.lookup)
        )
    return query


def _lookup_condition(policy: Policy, value: str) -> Any:
    index = policy.keys.index
    conditions = [Person.id_index.in_(index.candidates("id_number", normalise_id_number(value)))]
    phone = normalise_phone(value)
    if phone is not None:
        conditions.append(Person.phone_index.in_(index.candidates("phone", phone)))
    return or_(*conditions)


def _unit_in_scope(session: Session, scope: Scope, code: str, field_name: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None or not scope.contains(unit):
        raise NotFound.single(
            field_name,
            "unit_not_found",
            f"Không tìm thấy đơn vị hành chính có mã {code!r}.",
            f"No administrative unit has code {code!r}.",
        )
    return unit


def _summary(declaration: Declaration, unit_name: str) -> DeclarationSummary:
    return DeclarationSummary(
        id=declaration.id,
        unit_code=declaration.unit_code,
        unit_name=unit_name,
        declared_on=declaration.declared_on,
        declaration_type=declaration.declaration_type,
        risk=declaration.risk,
        symptoms=declaration.symptom_list,
        exposure=declaration.exposures,
        assigned_unit_code=declaration.assigned_unit_code,
        outcome=declaration.outcome,
        created_at=declaration.created_at,
        updated_at=declaration.updated_at,
    )


def list_declarations(
    session: Session,
    policy: Policy,
    scope: Scope,
    filters: Filters,
    *,
    page: int = 1,
    per_page: int = 50,
) -> DeclarationPage:
    """One page of the queue, newest first (no personal data in it)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    query = _scoped(session, policy, scope, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Declaration.updated_at.desc(), Declaration.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return DeclarationPage(
        items=[_summary(row[0], row[1]) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


def get_declaration(
    session: Session, policy: Policy, scope: Scope, declaration_id: int
) -> tuple[Declaration, str]:
    """A declaration in scope with its unit's name; NotFound otherwise (same as missing)."""
    row = session.execute(
        _scoped(session, policy, scope, Filters()).where(Declaration.id == declaration_id)
    ).first()
    if row is None:
        raise _not_found()
    return row[0], row[1]


def _person_out(policy: Policy, person: Person, unit_code: str) -> PersonOut:
    cipher = policy.keys.cipher
    return PersonOut(
        id=person.id,
        full_name=cipher.decrypt(person.full_name_enc, field="full_name"),
        birth_year=person.birth_year,
        birth_date=person.birth_date,
        gender=person.gender,
        nationality=person.nationality,
        id_number=cipher.decrypt(person.id_number_enc, field="id_number"),
        id_kind=person.id_kind,
        phone=cipher.decrypt(person.phone_enc, field="phone"),
        email=cipher.decrypt(person.email_enc, field="email") if person.email_enc else None,
        address={
            "unit_code": unit_code,
            "street": cipher.decrypt(person.street_enc, field="street"),
        },
    )


def read_declaration(
    session: Session, policy: Policy, user: User, scope: Scope, declaration_id: int
) -> DeclarationDetail:
    """A declaration with the decrypted person and the timeline; the read is audited."""
    declaration, unit_name = get_declaration(session, policy, scope, declaration_id)
    person = declaration.person
    record_read(
        session, user, "declaration", declaration.id, declaration.unit_code, person_id=person.id
    )
    visible = [
        row[0]
        for row in session.execute(
            _scoped(session, policy, scope, Filters()).where(Declaration.person_id == person.id)
        )
    ]
    visible_ids = {row.id for row in visible}
    updates = session.scalars(
        select(DailyUpdate)
        .where(DailyUpdate.person_id == person.id, DailyUpdate.declaration_id.in_(visible_ids))
        .order_by(DailyUpdate.day)
    ).all()
    followups = session.scalars(
        select(FollowUp)
        .where(FollowUp.declaration_id.in_(visible_ids))
        .order_by(FollowUp.day, FollowUp.id)
    ).all()
    timeline = [
        TimelineEntry(
            day=row.declared_on,
            kind="declaration",
            declaration_id=row.id,
            summary=f"{row.declaration_type}, risk {row.risk}",
        )
        for row in visible
    ]
    timeline += [
        TimelineEntry(
            day=row.day,
            kind="daily_update",
            declaration_id=row.declaration_id,
            summary=", ".join(row.status_list),
        )
        for row in updates
    ]
    cipher = policy.keys.cipher
    notes = {
        row.id: cipher.decrypt(row.note_enc, field="followup_note") if row.note_enc else ""
        for row in followups
    }
    timeline += [
        TimelineEntry(
            day=row.day, kind="follow_up", declaration_id=row.declaration_id, summary=row.status
        )
        for row in followups
    ]
    timeline.sort(key=lambda entry: (entry.day, entry.kind))
    summary = _summary(declaration, unit_name)
    return DeclarationDetail(
        **summary.model_dump(),
        person=_person_out(policy, person, declaration.unit_code),
        travel=declaration.travel,
        conditions=declaration.condition_list,
        pledge=declaration.pledge,
        daily_updates=[
            DailyUpdateRow(day=row.day, statuses=row.status_list, declaration_id=row.declaration_id)
            for row in updates
        ],
        followups=[
            FollowUpRow(day=row.day, status=row.status, note=notes[row.id], actor=row.actor)
            for row in followups
            if row.declaration_id == declaration.id
        ],
        timeline=timeline,
    )


def assign(
    session: Session,
    policy: Policy,
    user: User,
    scope: Scope,
    declaration_id: int,
    data: AssignmentIn,
    *,
    now: dt.datetime | None = None,
) -> DeclarationSummary:
    """Assign a declaration to a commune health station inside the caller's scope."""
    declaration, unit_name = get_declaration(session, policy, scope, declaration_id)
    unit = _unit_in_scope(session, scope, data.unit_code, "unit_code")
    if unit.level != COMMUNE:
        raise InvalidInput.single(
            "unit_code",
            "not_a_commune",
            "Chỉ giao cho trạm y tế cấp xã, phường, thị trấn.",
            "Assign to a commune health station (xã, phường, thị trấn).",
        )
    now = now or utcnow()
    declaration.assigned_unit_code = unit.code
    declaration.assigned_at = now
    declaration.updated_at = now
    record(
        session,
        actor=user.username,
        action="declaration.assign",
        object_type="declaration",
        object_id=declaration.id,
        unit_code=declaration.unit_code,
        detail={"station": unit.code},
    )
    session.flush()
    return _summary(declaration, unit_name)


def add_followup(
    session: Session,
    policy: Policy,
    user: User,
    scope: Scope,
    declaration_id: int,
    data: FollowUpIn,
    *,
    now: dt.datetime | None = None,
) -> FollowUpRow:
    """Record the day's follow-up (one per declaration per day)."""
    declaration, _ = get_declaration(session, policy, scope, declaration_id)
    now = now or utcnow()
    day = data.day or local_today(now)
    duplicate = Conflict.single(
        "day",
        "followup_exists",
        "Ngày này đã có kết quả theo dõi.",
        "There is already a follow-up for this day.",
    )
    if session.scalar(
        select(FollowUp.id).where(FollowUp.declaration_id == declaration.id, FollowUp.day == day)
    ):
        raise duplicate
    row = FollowUp(
        declaration_id=declaration.id,
        day=day,
        status=data.status,
        note_enc=policy.keys.cipher.encrypt(data.note, field="followup_note")
        if data.note
        else None,
        actor=user.username,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise duplicate from None
    declaration.updated_at = now
    record(
        session,
        actor=user.username,
        action="declaration.followup",
        object_type="declaration",
        object_id=declaration.id,
        unit_code=declaration.unit_code,
        detail={"day": day.isoformat(), "status": data.status},
    )
    return FollowUpRow(day=day, status=data.status, note=data.note, actor=user.username)


def set_outcome(
    session: Session,
    policy: Policy,
    user: User,
    scope: Scope,
    declaration_id: int,
    data: OutcomeIn,
    *,
    now: dt.datetime | None = None,
) -> DeclarationSummary:
    """Close the follow-up with its final outcome."""
    declaration, unit_name = get_declaration(session, policy, scope, declaration_id)
    now = now or utcnow()
    declaration.outcome = data.outcome
    declaration.outcome_at = now
    declaration.updated_at = now
    record(
        session,
        actor=user.username,
        action="declaration.outcome",
        object_type="declaration",
        object_id=declaration.id,
        unit_code=declaration.unit_code,
        detail={"outcome": data.outcome},
    )
    session.flush()
    return _summary(declaration, unit_name)


# --- dashboard and export ---------------------------------------------------------------------


@dataclass
class Stats:
    """Counts per unit (children of the root) and per day, by risk."""

    root: Unit
    per_unit: list[tuple[Unit, dict[str, int]]] = field(default_factory=list)
    per_day: list[tuple[dt.date, dict[str, int]]] = field(default_factory=list)
    total: dict[str, int] = field(default_factory=dict)


def stats(
    session: Session,
    policy: Policy,
    scope: Scope,
    *,
    root_code: str | None = None,
    days: int = 14,
    today: dt.date | None = None,
) -> Stats:
    """Declarations per unit below ``root_code`` (default: the caller's unit) and per day."""
    root = _unit_in_scope(session, scope, root_code or scope.unit_code, "unit")
    today = today or local_today()
    since = today - dt.timedelta(days=days - 1)
    home = aliased(Unit, name="home")
    base = (
        select(home.path, Declaration.declared_on, Declaration.risk, func.count())
        .join(home, home.code == Declaration.unit_code)
        .where(scope.where(home.path), subtree_of(home.path, root.path))
        .where(Declaration.declared_on >= since, Declaration.declared_on <= today)
        .group_by(home.path, Declaration.declared_on, Declaration.risk)
    )
    kids = session.scalars(select(Unit).where(Unit.parent_code == root.code).order_by(Unit.code))
    children = list(kids) or [root]
    per_unit: dict[str, dict[str, int]] = {kid.code: defaultdict(int) for kid in children}
    per_day: dict[dt.date, dict[str, int]] = {
        since + dt.timedelta(days=offset): defaultdict(int) for offset in range(days)
    }
    total: dict[str, int] = defaultdict(int)
    for path, day, risk, count in session.execute(base):
        for kid in children:
            if path.startswith(kid.path):
                per_unit[kid.code][risk] += count
                break
        per_day[day][risk] += count
        total[risk] += count
    return Stats(
        root=root,
        per_unit=[(kid, dict(per_unit[kid.code])) for kid in children],
        per_day=[(day, dict(counts)) for day, counts in sorted(per_day.items())],
        total=dict(total),
    )


EXPORT_COLUMNS: tuple[str, ...] = (
    "id",
    "declared_on",
    "unit_code",
    "unit_name",
    "declaration_type",
    "risk",
    "symptoms",
    "exposure",
    "full_name",
    "birth_year",
    "gender",
    "phone",
    "street",
    "assigned_unit_code",
    "outcome",
)
MAX_EXPORT_ROWS = 50_000


def export_rows(
    session: Session, policy: Policy, user: User, scope: Scope, filters: Filters, *, fmt: str
) -> list[list[Any]]:
    """The current filter as rows (header first), with contact data; the export is audited."""
    query = _scoped(session, policy, scope, filters).order_by(Declaration.id)
    rows = session.execute(query.limit(MAX_EXPORT_ROWS)).all()
    cipher = policy.keys.cipher
    table: list[list[Any]] = [list(EXPORT_COLUMNS)]
    for declaration, unit_name in rows:
        person = declaration.person
        table.append(
            [
                declaration.id,
                declaration.declared_on.isoformat(),
                declaration.unit_code,
                unit_name,
                declaration.declaration_type,
                declaration.risk,
                " ".join(declaration.symptom_list),
                " ".join(k for k, v in declaration.exposures.items() if v),
                cipher.decrypt(person.full_name_enc, field="full_name"),
                person.birth_year,
                person.gender,
                cipher.decrypt(person.phone_enc, field="phone"),
                cipher.decrypt(person.street_enc, field="street"),
                declaration.assigned_unit_code or "",
                declaration.outcome or "",
            ]
        )
    record(
        session,
        actor=user.username,
        action="declaration.export",
        object_type="declaration",
        unit_code=filters.unit_code or scope.unit_code,
        detail={
            "format": fmt,
            "rows": len(rows),
            "filters": filters.as_dict(),
            "ids": [row[0].id for row in rows][:1000],
        },
    )
    return table


def _safe_cell(value: Any) -> Any:
    # A cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(table: Sequence[Sequence[Any]]) -> bytes:
    """CSV with a BOM, so spreadsheet programs read Vietnamese text as UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in table:
        writer.writerow([_safe_cell(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Sequence[Sequence[Any]]) -> bytes:
    """An Excel workbook with one sheet."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("declarations")
    for row in table:
        sheet.append([_safe_cell(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- retention --------------------------------------------------------------------------------


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What a purge removed."""

    declarations: int
    daily_updates: int
    persons: int
    idempotency_records: int


def purge_expired(
    session: Session, policy: Policy, *, now: dt.datetime | None = None
) -> PurgeResult:
    """Delete declarations untouched for the retention period, with their updates and
    follow-ups, and persons left without declarations. Audit entries are kept (the audit log
    is append-only); the purge itself is audited. Safe to run twice."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=policy.retention_days)
    cutoff_day = local_today(cutoff)
    old = select(Declaration.id).where(Declaration.updated_at < cutoff).scalar_subquery()
    # Children first: explicit deletes do not rely on ON DELETE CASCADE being enforced.
    updates = _deleted(
        session,
        delete(DailyUpdate).where(
            or_(DailyUpdate.declaration_id.in_(old), DailyUpdate.day < cutoff_day)
        ),
    )
    session.execute(delete(FollowUp).where(FollowUp.declaration_id.in_(old)))
    idem_cutoff = now - dt.timedelta(hours=policy.idempotency_hours)
    idempotency = _deleted(
        session,
        delete(IdempotencyRecord).where(
            or_(
                IdempotencyRecord.declaration_id.in_(old),
                IdempotencyRecord.created_at < idem_cutoff,
            )
        ),
    )
    declarations = _deleted(session, delete(Declaration).where(Declaration.updated_at < cutoff))
    orphans = select(Declaration.id).where(Declaration.person_id == Person.id).exists()
    persons = _deleted(
        session, delete(Person).where(~orphans).execution_options(synchronize_session=False)
    )
    result = PurgeResult(declarations, updates, persons, idempotency)
    if declarations or updates or persons:
        record(
            session,
            actor=None,
            action="declaration.purge",
            object_type="declaration",
            detail={**asdict(result), "cutoff": cutoff.isoformat()},
        )
    return result


def rekey(session: Session, policy: Policy, *, batch: int = 500) -> int:
    """Re-encrypt and re-index everything sealed with an older key of the ring (key rotation).

    Returns how many rows changed. Safe to interrupt and run again.
    """
    cipher, index = policy.keys.cipher, policy.keys.index
    changed = 0
    last_id = 0
    while True:
        persons = session.scalars(
            select(Person).where(Person.id > last_id).order_by(Person.id).limit(batch)
        ).all()
        if not persons:
            break
        for person in persons:
            last_id = person.id
            fields = ["full_name", "id_number", "phone", "street"] + (
                ["email"] if person.email_enc else []
            )
            blobs = {name: getattr(person, f"{name}_enc") for name in fields}
            if all(cipher.is_current(blob) for blob in blobs.values()):
                continue
            plain = {name: cipher.decrypt(blob, field=name) for name, blob in blobs.items()}
            for name, value in plain.items():
                setattr(person, f"{name}_enc", cipher.encrypt(value, field=name))
            person.id_index = index.digest("id_number", plain["id_number"])
            person.phone_index = index.digest("phone", plain["phone"])
            changed += 1
        session.flush()
    for row in session.scalars(select(FollowUp).where(FollowUp.note_enc.is_not(None))):
        assert row.note_enc is not None
        if not cipher.is_current(row.note_enc):
            note = cipher.decrypt(row.note_enc, field="followup_note")
            row.note_enc = cipher.encrypt(note, field="followup_note")
            changed += 1
    record(session, actor=None, action="declaration.rekey", detail={"rows": changed})
    return changed
