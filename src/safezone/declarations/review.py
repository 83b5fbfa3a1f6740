"""The staff side: the queue, a declaration with its person and timeline, assignment,
follow-ups and outcomes.

Every query goes through the caller's unit scope (the declaration's commune or its assigned
station inside the scope), so an out-of-scope declaration is simply not found. Reads of
personal data are audited.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from safezone.accounts.models import User
from safezone.accounts.service import Scope, record, record_read
from safezone.db.base import utcnow
from safezone.declarations import passes, vocabulary
from safezone.declarations.base import (
    Policy,
    conditions_of,
    local_today,
    not_found,
    person_values,
    statuses_of,
    travel_of,
)
from safezone.declarations.models import DailyUpdate, Declaration, FollowUp, Person
from safezone.declarations.schemas import (
    AssignmentIn,
    DailyUpdateRow,
    DeclarationDetail,
    DeclarationPage,
    DeclarationSummary,
    FollowUpIn,
    FollowUpRow,
    OutcomeIn,
    PersonOut,
    SameIdDeclaration,
    TimelineEntry,
    normalise_id_number,
    normalise_phone,
)
from safezone.errors import Conflict, FieldError, InvalidInput, NotFound
from safezone.units.models import COMMUNE, Unit
from safezone.units.service import subtree_of

MAX_PER_PAGE = 100


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
    if filters.risk is not None and filters.risk not in vocabulary.RISKS:
        errors.append(("risk", "invalid_risk", "Mức nguy cơ không hợp lệ.", "Unknown risk."))
    if filters.symptom is not None and filters.symptom not in vocabulary.SYMPTOMS:
        errors.append(
            ("symptom", "invalid_symptom", "Triệu chứng không hợp lệ.", "Unknown symptom.")
        )
    if filters.exposure is not None and filters.exposure not in vocabulary.EXPOSURES:
        errors.append(
            ("exposure", "invalid_exposure", "Yếu tố dịch tễ không hợp lệ.", "Unknown exposure.")
        )
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        errors.append(
            ("date_to", "date_order", "Ngày kết thúc trước ngày bắt đầu.", "End before start.")
        )
    if errors:
        raise InvalidInput(*(FieldError(*error) for error in errors))


def scoped(
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
        unit = unit_in_scope(session, scope, filters.unit_code, "unit")
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
    vault = policy.vault
    conditions = [Person.id_index.in_(vault.candidates("id_number", normalise_id_number(value)))]
    phone = normalise_phone(value)
    if phone is not None:
        conditions.append(Person.phone_index.in_(vault.candidates("phone", phone)))
    return or_(*conditions)


def unit_in_scope(session: Session, scope: Scope, code: str, field_name: str) -> Unit:
    """Unit ``code`` if the scope contains it; NotFound (naming ``field_name``) otherwise."""
    unit = session.get(Unit, code)
    if unit is None or not scope.contains(unit):
        raise NotFound.single(
            field_name,
            "unit_not_found",
            f"Không tìm thấy đơn vị hành chính có mã {code!r}.",
            f"No administrative unit has code {code!r}.",
        )
    return unit


def summary(declaration: Declaration, unit_name: str) -> DeclarationSummary:
    """A queue row (no personal data)."""
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
    query = scoped(session, policy, scope, filters)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Declaration.updated_at.desc(), Declaration.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    shared = _sharing_an_id_number(session, policy, scope, [row[0] for row in rows])
    return DeclarationPage(
        items=[
            summary(row[0], row[1]).model_copy(update={"shares_id_number": row[0].id in shared})
            for row in rows
        ],
        total=total,
        page=page,
        per_page=per_page,
    )


def _sharing_an_id_number(
    session: Session, policy: Policy, scope: Scope, declarations: list[Declaration]
) -> set[int]:
    """Which of ``declarations`` share their identity number with another person's
    declaration in the scope (one query for the whole page)."""
    if not declarations:
        return set()
    indexes = {row.person.id_index for row in declarations}
    pairs = session.execute(
        scoped(session, policy, scope, Filters())
        .join(Person, Person.id == Declaration.person_id)
        .where(Person.id_index.in_(indexes))
        .with_only_columns(Person.id_index, Person.id)
        .distinct()
    ).all()
    persons: dict[str, set[int]] = {}
    for index, person_id in pairs:
        persons.setdefault(index, set()).add(person_id)
    return {row.id for row in declarations if len(persons.get(row.person.id_index, ())) > 1}


def get_declaration(
    session: Session, policy: Policy, scope: Scope, declaration_id: int
) -> tuple[Declaration, str]:
    """A declaration in scope with its unit's name; NotFound otherwise (same as missing)."""
    row = session.execute(
        scoped(session, policy, scope, Filters()).where(Declaration.id == declaration_id)
    ).first()
    if row is None:
        raise not_found()
    return row[0], row[1]


def _person_out(policy: Policy, person: Person, unit_code: str) -> PersonOut:
    values = person_values(policy.vault, person)
    return PersonOut(
        id=person.id,
        full_name=values["full_name"],
        birth_year=person.birth_year,
        birth_date=person.birth_date,
        gender=person.gender,
        nationality=person.nationality,
        id_number=values["id_number"],
        id_kind=person.id_kind,
        phone=values["phone"],
        email=values["email"],
        address={"unit_code": unit_code, "street": values["street"]},
    )


def read_declaration(
    session: Session, policy: Policy, user: User, scope: Scope, declaration_id: int
) -> DeclarationDetail:
    """A declaration with the decrypted person and the timeline; the read is audited.

    The timeline holds the declarations of the same person (linked with proof) and, flagged
    ``same_id_number``, the other declarations in scope that carry the same identity number
    without proof, each listed with its own contact details in ``same_id_number``.
    """
    declaration, unit_name = get_declaration(session, policy, scope, declaration_id)
    person = declaration.person
    record_read(
        session, user, "declaration", declaration.id, declaration.unit_code, person_id=person.id
    )
    vault = policy.vault
    id_number = person_values(vault, person)["id_number"]
    visible = [
        row[0]
        for row in session.execute(
            scoped(session, policy, scope, Filters())
            .join(Person, Person.id == Declaration.person_id)
            .where(
                or_(
                    Declaration.person_id == person.id,
                    Person.id_index.in_(vault.candidates("id_number", id_number)),
                )
            )
            .order_by(Declaration.id)
        )
    ]
    same_id = [row for row in visible if row.person_id != person.id]
    for row in same_id:
        record_read(session, user, "declaration", row.id, row.unit_code, person_id=row.person_id)
    linked = {row.id: row.person_id == person.id for row in visible}
    updates = session.scalars(
        select(DailyUpdate)
        .where(DailyUpdate.declaration_id.in_(linked))
        .order_by(DailyUpdate.day, DailyUpdate.id)
    ).all()
    followups = session.scalars(
        select(FollowUp)
        .where(FollowUp.declaration_id.in_(linked))
        .order_by(FollowUp.day, FollowUp.id)
    ).all()
    statuses = {row.id: statuses_of(vault, row) for row in updates}
    timeline = [
        TimelineEntry(
            day=row.declared_on,
            kind="declaration",
            declaration_id=row.id,
            codes=[row.declaration_type, row.risk],
            same_id_number=not linked[row.id],
        )
        for row in visible
    ]
    timeline += [
        TimelineEntry(
            day=row.day,
            kind="daily_update",
            declaration_id=row.declaration_id,
            codes=statuses[row.id],
            same_id_number=not linked[row.declaration_id],
        )
        for row in updates
    ]
    timeline += [
        TimelineEntry(
            day=row.day,
            kind="follow_up",
            declaration_id=row.declaration_id,
            codes=[row.status],
            same_id_number=not linked[row.declaration_id],
        )
        for row in followups
    ]
    timeline.sort(key=lambda entry: (entry.day, entry.kind, entry.declaration_id))
    own = [row for row in followups if row.declaration_id == declaration.id]
    return DeclarationDetail(
        **(summary(declaration, unit_name).model_dump() | {"shares_id_number": bool(same_id)}),
        person=_person_out(policy, person, declaration.unit_code),
        travel=travel_of(vault, declaration),
        conditions=conditions_of(vault, declaration),
        pledge=declaration.pledge,
        daily_updates=[
            DailyUpdateRow(
                day=row.day, statuses=statuses[row.id], declaration_id=row.declaration_id
            )
            for row in updates
            if linked[row.declaration_id]
        ],
        followups=[
            FollowUpRow(
                day=row.day,
                status=row.status,
                note=vault.get(row, "followup_note") or "",
                actor=row.actor,
            )
            for row in own
        ],
        timeline=timeline,
        same_id_number=[_same_id(policy, row) for row in same_id],
    )


def _same_id(policy: Policy, row: Declaration) -> SameIdDeclaration:
    values = person_values(policy.vault, row.person)
    return SameIdDeclaration(
        id=row.id,
        declared_on=row.declared_on,
        unit_code=row.unit_code,
        risk=row.risk,
        full_name=values["full_name"],
        phone=values["phone"],
        email=values["email"],
        street=values["street"],
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
    unit = unit_in_scope(session, scope, data.unit_code, "unit_code")
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
    return summary(declaration, unit_name)


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
        actor=user.username,
        created_at=now,
    )
    policy.vault.seal(row, followup_note=data.note or None)
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
    if data.outcome in passes.BLOCKING_OUTCOMES:
        passes.revoke(session, declaration.id, passes.OUTCOME, now=now)
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
    return summary(declaration, unit_name)
