"""Visits synced from the volunteer app, walk lists and volunteer progress. No HTTP here.

A visit carries an id made on the phone (``client_id``): syncing it again stores nothing new,
and sending it with other answers on the same local day corrects it (audited, field by field).
After the local day (Asia/Ho_Chi_Minh) has ended, a visit is final. A volunteer sees and visits
only the households assigned to them; any other household answers like a missing one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, record, record_read
from safezone.campaign import figures, revisits
from safezone.campaign.field_schemas import (
    ErrorOut,
    ProgressOut,
    ProgressRow,
    SyncItem,
    SyncOut,
    VisitIn,
    WalkItem,
    WalkList,
    WalkVisit,
)
from safezone.campaign.households import normalise_phone
from safezone.campaign.models import (
    AppResult,
    CampaignApp,
    Household,
    Visit,
    VisitApp,
    VisitOutcome,
)
from safezone.db.base import utcnow
from safezone.errors import FieldError
from safezone.units.models import Unit
from safezone.units.names import display_name
from safezone.vault import Vault

#: Vietnam keeps UTC+7 all year (Asia/Ho_Chi_Minh); a fixed offset needs no tz database.
VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
#: How far a phone's clock may run ahead, and how old a queued visit may be.
CLOCK_SLACK = dt.timedelta(minutes=10)
MAX_AGE = dt.timedelta(days=30)
CONSENT_SOURCE = "door_to_door"


def local_day(moment: dt.datetime) -> dt.date:
    """The date in Vietnam at ``moment``."""
    return moment.astimezone(VIETNAM).date()


@dataclass(frozen=True, slots=True)
class ConsentGiven:
    """A person agreed at the door to get reminders: what messaging needs to make a contact."""

    phone: str  # E.164
    at: dt.datetime
    source: str
    unit_code: str
    visit_id: int
    installed: tuple[str, ...]  # apps already installed or installed with help
    volunteer: str  # who recorded the consent (username)


#: Called in the visit's transaction for each new or changed consent (messaging's upsert).
ConsentHook = Callable[[Session, ConsentGiven], None]


@dataclass(frozen=True, slots=True)
class FieldPolicy:
    """What the visit services need: the vault, the revisit rules, the consent hook."""

    vault: Vault
    rules: revisits.RevisitRules = field(default_factory=revisits.RevisitRules)
    on_consent: ConsentHook | None = None


def _error(index: int, name: str | None, code: str, vi: str, en: str) -> ErrorOut:
    where = f"visits.{index}" + (f".{name}" if name else "")
    return ErrorOut(field=where, code=code, message_vi=vi, message_en=en)


def _not_found(index: int) -> ErrorOut:
    return _error(
        index,
        "household_id",
        "household_not_found",
        "Không tìm thấy hộ gia đình trong danh sách của bạn.",
        "No such household on your list.",
    )


def _check(
    index: int, visit: VisitIn, now: dt.datetime, apps: set[str]
) -> tuple[list[ErrorOut], str | None]:
    """Rules across fields; returns the errors and the normalised reminder phone."""
    errors: list[ErrorOut] = []
    if visit.visited_at > now + CLOCK_SLACK:
        errors.append(
            _error(index, "visited_at", "in_future", "Thời điểm ở tương lai.", "In the future.")
        )
    elif visit.visited_at < now - MAX_AGE:
        errors.append(
            _error(index, "visited_at", "too_old", "Quá 30 ngày.", "More than 30 days ago.")
        )
    home = visit.outcome == VisitOutcome.HOME
    if not home and (
        visit.apps or visit.people_home or visit.smartphones or visit.consent_reminders
    ):
        errors.append(
            _error(
                index,
                "outcome",
                "not_home_with_answers",
                "Không có ai ở nhà thì không có câu trả lời.",
                "Nobody was home, so there can be no answers.",
            )
        )
    if home and visit.people_home < 1:
        errors.append(
            _error(
                index,
                "people_home",
                "nobody_home",
                "Có người ở nhà: cần ít nhất 1 người.",
                "Someone was home: at least 1 person.",
            )
        )
    seen: set[str] = set()
    for position, app in enumerate(visit.apps):
        if app.app_code not in apps:
            errors.append(
                _error(
                    index,
                    f"apps.{position}.app_code",
                    "unknown_app",
                    f"Không có ứng dụng {app.app_code!r}.",
                    f"No app {app.app_code!r}.",
                )
            )
        elif app.app_code in seen:
            errors.append(
                _error(
                    index,
                    f"apps.{position}.app_code",
                    "duplicate_app",
                    "Ứng dụng bị lặp.",
                    "The app appears twice.",
                )
            )
        seen.add(app.app_code)
    phone = None
    if visit.consent_reminders:
        phone = normalise_phone(visit.reminder_phone or "")
        if phone is None:
            errors.append(
                _error(
                    index,
                    "reminder_phone",
                    "invalid_phone",
                    "Đồng ý nhận nhắc nhở cần số điện thoại hợp lệ.",
                    "Consent to reminders needs a valid phone number.",
                )
            )
    elif visit.reminder_phone:
        errors.append(
            _error(
                index,
                "reminder_phone",
                "phone_without_consent",
                "Chỉ ghi số điện thoại khi người dân đồng ý nhận nhắc nhở.",
                "Keep a phone number only when the person agreed to reminders.",
            )
        )
    return errors, phone


def _content(visit: Visit, apps: dict[str, str], phone: str | None) -> dict[str, Any]:
    return {
        "household_id": visit.household_id,
        "visited_at": visit.visited_at.astimezone(dt.UTC).isoformat(),
        "outcome": str(visit.outcome),
        "people_home": visit.people_home,
        "smartphones": visit.smartphones,
        "apps": dict(sorted(apps.items())),
        "consent_reminders": visit.consent_reminders,
        "reminder_phone": phone,
    }


def _incoming(visit: VisitIn, phone: str | None) -> dict[str, Any]:
    return {
        "household_id": visit.household_id,
        "visited_at": visit.visited_at.astimezone(dt.UTC).isoformat(),
        "outcome": str(visit.outcome),
        "people_home": visit.people_home,
        "smartphones": visit.smartphones,
        "apps": dict(sorted((app.app_code, str(app.result)) for app in visit.apps)),
        "consent_reminders": visit.consent_reminders,
        "reminder_phone": phone,
    }


def _stored_apps(session: Session, visit_id: int) -> dict[str, str]:
    rows = session.execute(
        select(VisitApp.app_code, VisitApp.result).where(VisitApp.visit_id == visit_id)
    )
    return {code: str(result) for code, result in rows}


def _write(
    session: Session,
    policy: FieldPolicy,
    row: Visit,
    visit: VisitIn,
    phone: str | None,
    now: dt.datetime,
    *,
    consent_changed: bool,
) -> None:
    row.visited_at = visit.visited_at
    row.outcome = visit.outcome
    row.people_home = visit.people_home
    row.smartphones = visit.smartphones
    row.consent_reminders = visit.consent_reminders
    policy.vault.seal(row, reminder_phone=phone)
    if consent_changed:
        row.consent_at = now if visit.consent_reminders else None
        row.consent_source = CONSENT_SOURCE if visit.consent_reminders else ""
    session.flush()
    session.execute(delete(VisitApp).where(VisitApp.visit_id == row.id))
    for app in visit.apps:
        session.add(VisitApp(visit_id=row.id, app_code=app.app_code, result=app.result))
    session.flush()


def reschedule(session: Session, policy: FieldPolicy, household: Household) -> None:
    """Recompute the household's next visit from all its visits (see :mod:`.revisits`)."""
    rows = session.execute(
        select(Visit.id, Visit.visited_at, Visit.outcome).where(Visit.household_id == household.id)
    ).all()
    later = set(
        session.scalars(
            select(VisitApp.visit_id).where(
                VisitApp.visit_id.in_([row.id for row in rows]),
                VisitApp.result == AppResult.LATER,
            )
        )
    )
    facts = [
        revisits.VisitFact(
            local_day(visited_at),
            outcome == VisitOutcome.HOME,
            visit_id in later,
            int(visited_at.timestamp()),
        )
        for visit_id, visited_at, outcome in rows
    ]
    plan = revisits.plan(local_day(household.created_at), facts, policy.rules)
    household.due_on = plan.due_on
    household.due_reason = plan.reason
    household.not_home_tries = plan.not_home_tries
    household.follow_ups = plan.follow_ups


def sync(
    session: Session,
    policy: FieldPolicy,
    volunteer: User,
    visits: Sequence[VisitIn],
    *,
    now: dt.datetime | None = None,
) -> SyncOut:
    """Store a batch of visits from ``volunteer``'s phone; each visit on its own.

    Every visit is checked in full before it is written; a rejected visit stores nothing and
    says why, the others are stored. A visit already stored is ``unchanged`` when sent again
    with the same answers, ``corrected`` when its answers changed on the day it was made, and
    rejected after that day.
    """
    now = now or utcnow()
    apps = set(session.scalars(select(CampaignApp.code).where(CampaignApp.active.is_(True))))
    ids = {visit.household_id for visit in visits}
    households = {
        household.id: household
        for household in session.scalars(
            select(Household).where(Household.id.in_(ids), Household.volunteer_id == volunteer.id)
        )
    }
    existing = {
        row.client_id: row
        for row in session.scalars(
            select(Visit).where(Visit.client_id.in_([visit.client_id for visit in visits]))
        )
    }
    results: list[SyncItem] = []
    touched: dict[int, Household] = {}
    for index, visit in enumerate(visits):
        household = households.get(visit.household_id)
        errors, phone = _check(index, visit, now, apps)
        if household is None:
            errors.insert(0, _not_found(index))
        row = existing.get(visit.client_id)
        if row is not None and row.volunteer_id != volunteer.id:
            # Another volunteer's id: answered like any id clash, revealing nothing of it.
            errors.append(
                _error(
                    index,
                    "client_id",
                    "client_id_taken",
                    "Mã lượt thăm đã được dùng.",
                    "This visit id is already used.",
                )
            )
        if errors:
            results.append(SyncItem(client_id=visit.client_id, status="rejected", errors=errors))
            continue
        assert household is not None
        if row is None:
            row = _create(session, policy, volunteer, household, visit, phone, now)
            existing[visit.client_id] = row
            status = "stored"
        else:
            outcome = _correct(session, policy, volunteer, index, row, visit, phone, now)
            if isinstance(outcome, ErrorOut):
                results.append(
                    SyncItem(client_id=visit.client_id, status="rejected", errors=[outcome])
                )
                continue
            status = outcome
            if status == "unchanged":
                results.append(SyncItem(client_id=visit.client_id, status=status, visit_id=row.id))
                continue
        touched[household.id] = household
        results.append(SyncItem(client_id=visit.client_id, status=status, visit_id=row.id))
    for household in touched.values():
        reschedule(session, policy, household)
    session.flush()
    for commune in _communes_of(session, {h.unit_code for h in touched.values()}):
        # The door-to-door figures of the communes visited follow at once (coverage pages).
        figures.refresh_field(session, as_of=local_day(now), within=commune)
    counts = {
        name: sum(1 for item in results if item.status == name)
        for name in ("stored", "unchanged", "corrected", "rejected")
    }
    return SyncOut(results=results, **counts)


def _create(
    session: Session,
    policy: FieldPolicy,
    volunteer: User,
    household: Household,
    visit: VisitIn,
    phone: str | None,
    now: dt.datetime,
) -> Visit:
    row = Visit(
        client_id=visit.client_id,
        household_id=household.id,
        volunteer_id=volunteer.id,
        unit_code=household.unit_code,
    )
    session.add(row)
    _write(session, policy, row, visit, phone, now, consent_changed=True)
    record(
        session,
        actor=volunteer.username,
        action="campaign.visit.create",
        object_type="visit",
        object_id=row.id,
        unit_code=row.unit_code,
        detail={
            "client_id": row.client_id,
            "household_id": household.id,
            "outcome": str(visit.outcome),
        },
    )
    if visit.consent_reminders:
        _consent(session, policy, row, visit, phone, volunteer.username)
    return row


def _correct(
    session: Session,
    policy: FieldPolicy,
    volunteer: User,
    index: int,
    row: Visit,
    visit: VisitIn,
    phone: str | None,
    now: dt.datetime,
) -> str | ErrorOut:
    """``unchanged``, ``corrected`` (audited field by field) or why the correction is refused."""
    before = _content(row, _stored_apps(session, row.id), policy.vault.get(row, "reminder_phone"))
    after = _incoming(visit, phone)
    if before == after:
        return "unchanged"
    refused = _correction_refused(index, row, visit, now)
    if refused is not None:
        return refused
    consent_changed = (
        before["consent_reminders"] != after["consent_reminders"]
        or before["reminder_phone"] != after["reminder_phone"]
    )
    _write(session, policy, row, visit, phone, now, consent_changed=consent_changed)
    changed = {
        key: {"from": before[key], "to": after[key]}
        for key in after
        if before[key] != after[key] and key != "reminder_phone"
    }
    if before["reminder_phone"] != after["reminder_phone"]:
        changed["reminder_phone"] = {"from": "…", "to": "…"}  # personal: never in the log
    record(
        session,
        actor=volunteer.username,
        action="campaign.visit.correct",
        object_type="visit",
        object_id=row.id,
        unit_code=row.unit_code,
        detail={"client_id": row.client_id, "changed": changed},
    )
    if consent_changed and visit.consent_reminders:
        _consent(session, policy, row, visit, phone, volunteer.username)
    return "corrected"


def _communes_of(session: Session, unit_codes: set[str]) -> list[str]:
    """The communes of these units (a village's commune is its parent)."""
    rows = session.execute(
        select(Unit.code, Unit.level, Unit.parent_code).where(Unit.code.in_(unit_codes))
    )
    return sorted(
        {parent if level == "village" and parent else code for code, level, parent in rows}
    )


def _correction_refused(
    index: int, row: Visit, visit: VisitIn, now: dt.datetime
) -> ErrorOut | None:
    if row.household_id != visit.household_id:
        return _error(
            index,
            "household_id",
            "household_changed",
            "Không thể chuyển lượt thăm sang hộ khác; hãy ghi lượt thăm mới.",
            "A visit cannot move to another household; record a new visit.",
        )
    day = local_day(row.visited_at)
    if local_day(now) != day or local_day(visit.visited_at) != day:
        return _error(
            index,
            None,
            "correction_closed",
            "Chỉ sửa được lượt thăm trong ngày đã thăm.",
            "A visit can be corrected only on the day it was made.",
        )
    return None


def _consent(
    session: Session,
    policy: FieldPolicy,
    row: Visit,
    visit: VisitIn,
    phone: str | None,
    volunteer: str,
) -> None:
    if policy.on_consent is None or phone is None or row.consent_at is None:
        return
    installed = tuple(
        app.app_code
        for app in visit.apps
        if app.result in (AppResult.ALREADY_INSTALLED, AppResult.INSTALLED_WITH_HELP)
    )
    policy.on_consent(
        session,
        ConsentGiven(
            phone,
            row.consent_at,
            row.consent_source,
            row.unit_code,
            row.id,
            installed,
            volunteer,
        ),
    )


# --- walk list ------------------------------------------------------------------------------


def walk_list(
    session: Session, policy: FieldPolicy, volunteer: User, *, now: dt.datetime | None = None
) -> WalkList:
    """``volunteer``'s households due today or earlier, and those visited today; the read of
    their names and addresses is audited."""
    now = now or utcnow()
    today = local_day(now)
    start = dt.datetime.combine(today, dt.time(), VIETNAM).astimezone(dt.UTC)
    visited_today = session.execute(
        select(Visit.household_id, Visit.client_id, Visit.visited_at, Visit.outcome)
        .where(Visit.volunteer_id == volunteer.id, Visit.visited_at >= start)
        .order_by(Visit.visited_at)
    ).all()
    today_ids = {row.household_id for row in visited_today}
    households = session.execute(
        select(Household, Unit)
        .join(Unit, Unit.code == Household.unit_code)
        .where(
            Household.volunteer_id == volunteer.id,
            (and_(Household.due_on.is_not(None), Household.due_on <= today))
            | Household.id.in_(today_ids),
        )
        .order_by(Household.due_on.is_(None), Household.due_on, Unit.path, Household.id)
    ).all()
    items = []
    for household, unit in households:
        values = policy.vault.open(household, "head_name", "address")
        items.append(
            WalkItem(
                household_id=household.id,
                unit_code=unit.code,
                unit_name=display_name(unit),
                head_name=values["head_name"],
                address=values["address"],
                members=household.members,
                due_on=household.due_on,
                reason=household.due_reason,
                not_home_tries=household.not_home_tries,
                visited_today=[
                    WalkVisit(client_id=v.client_id, visited_at=v.visited_at, outcome=v.outcome)
                    for v in visited_today
                    if v.household_id == household.id
                ],
            )
        )
    if items:
        record_read(
            session,
            volunteer,
            "walk_list",
            volunteer.id,
            volunteer.unit_code,
            households=[item.household_id for item in items],
        )
    return WalkList(day=today, volunteer=volunteer.username, households=items)


# --- progress -------------------------------------------------------------------------------


def progress(
    session: Session, viewer: User, scope: Scope, *, now: dt.datetime | None = None
) -> ProgressOut:
    """Households visited, installs helped and revisits due, per volunteer: a volunteer sees
    their own row, staff every volunteer whose unit lies in their scope. Counts only."""
    today = local_day(now or utcnow())
    query = (
        select(User)
        .join(Unit, Unit.code == User.unit_code)
        .where(User.role == Role.VOLUNTEER, scope.where(Unit.path))
    )
    if viewer.role == Role.VOLUNTEER:
        query = query.where(User.id == viewer.id)
    volunteers = session.scalars(query.order_by(User.username)).all()
    ids = [user.id for user in volunteers]

    def per_volunteer(statement: Any) -> dict[int, int]:
        return {key: int(value) for key, value in session.execute(statement).all()}

    households = per_volunteer(
        select(Household.volunteer_id, func.count())
        .where(Household.volunteer_id.in_(ids))
        .group_by(Household.volunteer_id)
    )
    due = per_volunteer(
        select(Household.volunteer_id, func.count())
        .where(
            Household.volunteer_id.in_(ids),
            Household.due_reason.in_((revisits.REVISIT, revisits.FOLLOW_UP)),
            Household.due_on.is_not(None),
        )
        .group_by(Household.volunteer_id)
    )
    visited = per_volunteer(
        select(Visit.volunteer_id, func.count(func.distinct(Visit.household_id)))
        .where(Visit.volunteer_id.in_(ids), Visit.outcome == VisitOutcome.HOME)
        .group_by(Visit.volunteer_id)
    )
    visits = per_volunteer(
        select(Visit.volunteer_id, func.count())
        .where(Visit.volunteer_id.in_(ids))
        .group_by(Visit.volunteer_id)
    )
    not_home = per_volunteer(
        select(Visit.volunteer_id, func.count())
        .where(Visit.volunteer_id.in_(ids), Visit.outcome == VisitOutcome.NOT_HOME)
        .group_by(Visit.volunteer_id)
    )
    consents = per_volunteer(
        select(Visit.volunteer_id, func.count())
        .where(Visit.volunteer_id.in_(ids), Visit.consent_reminders.is_(True))
        .group_by(Visit.volunteer_id)
    )
    helped = per_volunteer(
        select(Visit.volunteer_id, func.count())
        .join(VisitApp, VisitApp.visit_id == Visit.id)
        .where(Visit.volunteer_id.in_(ids), VisitApp.result == AppResult.INSTALLED_WITH_HELP)
        .group_by(Visit.volunteer_id)
    )
    rows = [
        ProgressRow(
            volunteer=user.username,
            unit_code=user.unit_code,
            households=households.get(user.id, 0),
            visited=visited.get(user.id, 0),
            visits=visits.get(user.id, 0),
            not_home=not_home.get(user.id, 0),
            installs_helped=helped.get(user.id, 0),
            consents=consents.get(user.id, 0),
            revisits_due=due.get(user.id, 0),
        )
        for user in volunteers
    ]
    numbers = (
        "households",
        "visited",
        "visits",
        "not_home",
        "installs_helped",
        "consents",
        "revisits_due",
    )
    total = ProgressRow(
        volunteer="",
        unit_code=scope.unit_code,
        **{name: sum(getattr(row, name) for row in rows) for name in numbers},
    )
    return ProgressOut(day=today, rows=rows, total=total)


def field_error(item: ErrorOut) -> FieldError:
    """An ErrorOut as the shared FieldError."""
    return FieldError(item.field, item.code, item.message_vi, item.message_en)
