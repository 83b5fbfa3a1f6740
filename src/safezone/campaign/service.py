"""The measuring half of the campaign: apps, targets, ratios, official counts, organisations.

Every function takes a session and plain arguments. Functions acting for a staff member take
their :class:`Scope`; a unit or organisation outside it answers :class:`NotFound`, as a missing
one does. Imports read the whole file first (``safezone.tabular``) and store nothing from a file
with errors unless asked to skip bad rows. Changes are audited in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone import tabular
from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, record
from safezone.campaign.coverage import check_app, local_today
from safezone.campaign.figures import record_figure
from safezone.campaign.models import (
    CampaignApp,
    FigureSource,
    Organisation,
    OrganisationKind,
    OrganisationReport,
    OrganisationReporter,
    SmartphoneRatio,
    Target,
    TargetBase,
)
from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.units.models import Unit
from safezone.units.service import get_unit

#: Organisations' default target share: the directive asks all staff of agencies and schools.
DEFAULT_ORG_TARGET: dict[OrganisationKind, float] = {
    OrganisationKind.AGENCY: 1.0,
    OrganisationKind.SCHOOL: 1.0,
    OrganisationKind.HEALTH_FACILITY: 1.0,
    OrganisationKind.ENTERPRISE: 0.8,
    OrganisationKind.MASS_ORGANISATION: 0.8,
}
COUNT_COLUMNS = ("unit_code", "app", "installs", "as_of")
COUNT_OPTIONAL = ("smartphone_users",)
ORG_COLUMNS = ("code", "name", "kind", "unit_code", "headcount")
ORG_OPTIONAL = ("contact_name", "contact_phone", "target_share", "report_every_days")


def _not_found(field: str, what_vi: str, what_en: str, value: object) -> NotFound:
    return NotFound.single(
        field, "not_found", f"Không tìm thấy {what_vi} {value!r}.", f"No {what_en} {value!r}."
    )


def unit_in_scope(session: Session, scope: Scope | None, unit_code: str) -> Unit:
    """The unit if it exists and lies in ``scope`` (None: everywhere); NotFound otherwise."""
    # A code with a NUL byte names nothing (and PostgreSQL refuses it as a parameter).
    unit = None if "\x00" in unit_code else session.get(Unit, unit_code)
    if unit is None or (scope is not None and not scope.contains(unit)):
        raise _not_found("unit_code", "đơn vị", "unit", unit_code)
    return unit


# --- apps ---------------------------------------------------------------------------------------


def list_apps(session: Session, *, active_only: bool = False) -> list[CampaignApp]:
    """The apps the campaign promotes, in display order."""
    query = select(CampaignApp).order_by(CampaignApp.position, CampaignApp.code)
    if active_only:
        query = query.where(CampaignApp.active.is_(True))
    return list(session.scalars(query))


_URL_FIELDS = ("android_url", "ios_url")
_TEXT_LIMITS = {
    "name": 100,
    "purpose_vi": 300,
    "purpose_en": 300,
    "android_url": 300,
    "ios_url": 300,
}


def update_app(
    session: Session, code: str, changes: dict[str, object], *, actor: str
) -> CampaignApp:
    """Edit an app's catalogue entry (admins); validates every field before changing any."""
    app = check_app(session, code)
    errors: list[FieldError] = []
    clean: dict[str, object] = {}
    for name, value in changes.items():
        if name in _TEXT_LIMITS:
            text = str(value or "").strip()
            if len(text) > _TEXT_LIMITS[name] or (name == "name" and not text):
                errors.append(FieldError(name, "invalid", "Độ dài không hợp lệ.", "Bad length."))
            elif name in _URL_FIELDS and text and not text.startswith("https://"):
                errors.append(
                    FieldError(
                        name,
                        "url",
                        "Liên kết phải bắt đầu bằng https://.",
                        "The link must start with https://.",
                    )
                )
            clean[name] = text
        elif name in ("countable_per_unit", "active"):
            clean[name] = bool(value)
        elif name == "position":
            if not isinstance(value, int) or not 0 <= value <= 1000:
                errors.append(FieldError(name, "range", "Từ 0 đến 1000.", "From 0 to 1000."))
            clean[name] = value
        else:
            errors.append(FieldError(name, "unknown", "Trường không được phép.", "Unknown field."))
    if errors:
        raise InvalidInput(*errors)
    for name, value in clean.items():
        setattr(app, name, value)
    record(
        session,
        actor=actor,
        action="campaign.app.update",
        object_type="campaign_app",
        object_id=code,
        detail={k: str(v) for k, v in clean.items()},
    )
    return app


# --- targets and ratios -------------------------------------------------------------------------


def set_target(
    session: Session,
    scope: Scope | None,
    *,
    unit_code: str,
    app_code: str,
    share: float,
    base: str = TargetBase.POPULATION,
    deadline: dt.date | None = None,
    actor: User | None = None,
) -> Target:
    """Set (or replace) a unit's own target for an app; its descendants inherit it."""
    unit = unit_in_scope(session, scope, unit_code)
    check_app(session, app_code)
    errors: list[FieldError] = []
    if not 0 < share <= 1:
        errors.append(
            FieldError(
                "share", "out_of_range", "Tỷ lệ phải trong (0, 1].", "The share must be in (0, 1]."
            )
        )
    if base not in {b.value for b in TargetBase}:
        errors.append(FieldError("base", "unknown_value", "Cơ sở không hợp lệ.", "Unknown base."))
    if errors:
        raise InvalidInput(*errors)
    target = session.scalar(
        select(Target).where(Target.unit_code == unit.code, Target.app_code == app_code)
    )
    before = (
        None
        if target is None
        else {"share": target.share, "base": str(target.base), "deadline": str(target.deadline)}
    )
    if target is None:
        target = Target(unit_code=unit.code, app_code=app_code, base=TargetBase(base), share=share)
        session.add(target)
    target.base = TargetBase(base)
    target.share = share
    target.deadline = deadline
    target.updated_by = actor.id if actor else None
    record(
        session,
        actor=actor.username if actor else None,
        action="campaign.target.set",
        object_type="campaign_target",
        object_id=f"{unit.code}:{app_code}",
        unit_code=unit.code,
        detail={
            "before": before,
            "after": {"share": share, "base": base, "deadline": str(deadline)},
        },
    )
    session.flush()
    return target


def delete_target(
    session: Session,
    scope: Scope | None,
    *,
    unit_code: str,
    app_code: str,
    actor: User | None = None,
) -> None:
    """Remove a unit's own target: it inherits its parent's again."""
    unit = unit_in_scope(session, scope, unit_code)
    check_app(session, app_code)
    target = session.scalar(
        select(Target).where(Target.unit_code == unit.code, Target.app_code == app_code)
    )
    if target is None:
        raise _not_found("app", "mục tiêu", "target", app_code)
    record(
        session,
        actor=actor.username if actor else None,
        action="campaign.target.delete",
        object_type="campaign_target",
        object_id=f"{unit.code}:{app_code}",
        unit_code=unit.code,
        detail={"share": target.share, "base": str(target.base)},
    )
    session.delete(target)


def list_targets(session: Session, scope: Scope) -> list[Target]:
    """The targets set on units of the scope (and the ones inherited from above it)."""
    ancestors = scope.path.rstrip("/").split("/")
    query = (
        select(Target)
        .join(Unit, Unit.code == Target.unit_code)
        .where(scope.where(Unit.path) | Unit.code.in_(ancestors))
        .order_by(Unit.path, Target.app_code)
    )
    return list(session.scalars(query))


def set_smartphone_ratio(
    session: Session,
    scope: Scope | None,
    *,
    unit_code: str,
    ratio: float | None,
    actor: User | None = None,
) -> None:
    """Set a unit's smartphone ratio (None removes it: the unit inherits again)."""
    unit = unit_in_scope(session, scope, unit_code)
    if ratio is not None and not 0 < ratio <= 1:
        raise InvalidInput.single(
            "ratio", "out_of_range", "Tỷ lệ phải trong (0, 1].", "The ratio must be in (0, 1]."
        )
    row = session.get(SmartphoneRatio, unit.code)
    if ratio is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(SmartphoneRatio(unit_code=unit.code, ratio=ratio))
    else:
        row.ratio = ratio
    record(
        session,
        actor=actor.username if actor else None,
        action="campaign.ratio.set",
        object_type="unit",
        object_id=unit.code,
        unit_code=unit.code,
        detail={"ratio": ratio},
    )


# --- official counts ----------------------------------------------------------------------------


def import_counts(
    session: Session,
    data: bytes,
    *,
    scope: Scope | None = None,
    actor: User | None = None,
    skip_bad_rows: bool = False,
    name: str = "",
    skipped_to: Path | None = None,
    progress: tabular.ProgressHook | None = None,
    today: dt.date | None = None,
) -> tabular.Report:
    """Import official install counts (``unit_code, app, installs, as_of[, smartphone_users]``).

    Every row is checked first: the unit exists (and lies in ``scope``), the app is in the
    catalogue, numbers are whole and not negative, installs do not exceed smartphone users, the
    date is not in the future, and no (unit, app, day) repeats. Importing the same file again
    changes nothing; a different count for the same unit, app and day supersedes the old one.
    """
    table = tabular.read_table(data, required=COUNT_COLUMNS, optional=COUNT_OPTIONAL, name=name)
    report = tabular.Report(total=len(table.rows))
    tabular.check_shape(table, report)
    units = _units_by_code(session, [row.get("unit_code") for row in table.rows])
    apps = {a.code for a in list_apps(session)}
    limit = today or local_today()
    parsed: list[tuple[tabular.Row, str, str, int, dt.date, int | None]] = []
    for row in table.rows:
        code = row.get("unit_code")
        unit = units.get(code)
        if not code:
            report.add(row.line, "unit_code", "required", "Bắt buộc phải có.", "Required.")
        elif unit is None or (scope is not None and not scope.contains(unit)):
            report.add(
                row.line,
                "unit_code",
                "unknown_unit",
                f"Không có đơn vị {code!r} (trong phạm vi của bạn).",
                f"No unit {code!r} (within your area).",
            )
        app = tabular.parse_choice(report, row, "app", sorted(apps))
        installs = tabular.parse_int(report, row, "installs")
        phones = tabular.parse_int(report, row, "smartphone_users", required=False)
        day = tabular.parse_date(report, row, "as_of", not_after=limit)
        if installs is not None and phones is not None and installs > phones:
            report.add(
                row.line,
                "installs",
                "above_smartphones",
                "Số cài đặt lớn hơn số người dùng điện thoại thông minh.",
                "Installs exceed smartphone users.",
            )
        if unit and app and installs is not None and day is not None:
            parsed.append((row, unit.code, app, installs, day, phones))
    tabular.check_unique(
        report, table.rows, lambda r: (r.get("unit_code"), r.get("app").lower(), r.get("as_of"))
    )
    good = {row.line for row in report.accepted(table.rows, skip_bad_rows=skip_bad_rows)}
    if report.skipped and skipped_to is not None:
        tabular.write_skipped(skipped_to, table, report)
    origin = f"import:{table.digest[:16]}"
    for row, unit_code, app_code, installs, day, phones in tabular.with_progress(parsed, progress):
        if row.line not in good:
            continue
        change = record_figure(
            session,
            unit_code=unit_code,
            app_code=app_code,
            source=FigureSource.OFFICIAL,
            installs=installs,
            as_of=day,
            smartphone_users=phones,
            entered_by=actor.id if actor else None,
            origin=origin,
        )
        _count(report, change)
    if report.created or report.updated:
        record(
            session,
            actor=actor.username if actor else None,
            action="campaign.counts.import",
            object_type="file",
            object_id=table.digest[:16],
            detail={
                "name": name,
                "created": report.created,
                "updated": report.updated,
                "skipped": report.skipped,
            },
        )
    session.flush()
    return report


def _count(report: tabular.Report, change: str) -> None:
    if change == "created":
        report.created += 1
    elif change == "updated":
        report.updated += 1
    else:
        report.unchanged += 1


def _units_by_code(session: Session, codes: Sequence[str]) -> dict[str, Unit]:
    wanted = sorted({c for c in codes if c})
    found: dict[str, Unit] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update({u.code: u for u in session.scalars(select(Unit).where(Unit.code.in_(chunk)))})
    return found


# --- organisations ------------------------------------------------------------------------------


def import_organisations(  # noqa: PLR0912 - one check per column, all collected
    session: Session,
    data: bytes,
    *,
    scope: Scope | None = None,
    actor: User | None = None,
    skip_bad_rows: bool = False,
    name: str = "",
    skipped_to: Path | None = None,
    progress: tabular.ProgressHook | None = None,
) -> tabular.Report:
    """Import (create or update by ``code``) the organisation registry from CSV/XLSX.

    Columns: ``code, name, kind, unit_code, headcount`` and optionally ``contact_name,
    contact_phone, target_share, report_every_days``. An empty target share takes the kind's
    default (100% for agencies, schools and health facilities). Same file twice: no change.
    """
    table = tabular.read_table(data, required=ORG_COLUMNS, optional=ORG_OPTIONAL, name=name)
    report = tabular.Report(total=len(table.rows))
    tabular.check_shape(table, report)
    units = _units_by_code(session, [row.get("unit_code") for row in table.rows])
    kinds = [k.value for k in OrganisationKind]
    parsed: list[tuple[int, dict[str, object]]] = []
    for row in table.rows:
        code = tabular.parse_text(report, row, "code", max_length=32)
        org_name = tabular.parse_text(report, row, "name", max_length=200)
        kind = tabular.parse_choice(report, row, "kind", kinds)
        unit_code = row.get("unit_code")
        unit = units.get(unit_code)
        if unit is None or (scope is not None and not scope.contains(unit)):
            report.add(
                row.line,
                "unit_code",
                "unknown_unit",
                f"Không có đơn vị {unit_code!r} (trong phạm vi của bạn).",
                f"No unit {unit_code!r} (within your area).",
            )
        headcount = tabular.parse_int(report, row, "headcount", maximum=1_000_000)
        contact = tabular.parse_text(report, row, "contact_name", required=False)
        phone = tabular.parse_text(report, row, "contact_phone", required=False, max_length=20)
        share = tabular.parse_share(report, row, "target_share", required=False)
        every = tabular.parse_int(
            report, row, "report_every_days", required=False, minimum=1, maximum=366
        )
        if code and org_name and kind and unit and headcount is not None:
            parsed.append(
                (
                    row.line,
                    {
                        "code": code,
                        "name": org_name,
                        "kind": OrganisationKind(kind),
                        "unit_code": unit.code,
                        "headcount": headcount,
                        "contact_name": contact or "",
                        "contact_phone": phone or "",
                        "target_share": share
                        if share is not None
                        else DEFAULT_ORG_TARGET[OrganisationKind(kind)],
                        "report_every_days": every or 7,
                    },
                )
            )
    tabular.check_unique(report, table.rows, lambda r: r.get("code"))
    existing = {
        o.code: o
        for o in session.scalars(
            select(Organisation).where(Organisation.code.in_([v["code"] for _, v in parsed]))
        )
    }
    for line, values in parsed:
        org = existing.get(str(values["code"]))
        if org is not None and scope is not None:
            owner = session.get(Unit, org.unit_code)
            if owner is None or not scope.contains(owner):
                report.add(
                    line,
                    "code",
                    "taken",
                    "Mã đã được dùng ở nơi khác.",
                    "The code is used elsewhere.",
                )
    good = {row.line for row in report.accepted(table.rows, skip_bad_rows=skip_bad_rows)}
    if report.skipped and skipped_to is not None:
        tabular.write_skipped(skipped_to, table, report)
    for line, values in tabular.with_progress(parsed, progress):
        if line not in good:
            continue
        org = existing.get(str(values["code"]))
        if org is None:
            session.add(Organisation(**values))
            report.created += 1
        elif any(getattr(org, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(org, k, v)
            report.updated += 1
        else:
            report.unchanged += 1
    if report.created or report.updated:
        record(
            session,
            actor=actor.username if actor else None,
            action="campaign.orgs.import",
            object_type="file",
            object_id=table.digest[:16],
            detail={"name": name, "created": report.created, "updated": report.updated},
        )
    session.flush()
    return report


def organisations_for(session: Session, user: User) -> list[Organisation]:
    """The organisations ``user`` may see: their own (org reporters) or their subtree's."""
    query = select(Organisation).join(Unit, Unit.code == Organisation.unit_code)
    if user.role is Role.ORG_REPORTER:
        query = query.join(
            OrganisationReporter, OrganisationReporter.organisation_id == Organisation.id
        ).where(OrganisationReporter.user_id == user.id)
    else:
        query = query.where(Scope.of(user).where(Unit.path))
    return list(session.scalars(query.order_by(Organisation.code)))


def get_organisation(session: Session, user: User, organisation_id: int) -> Organisation:
    """One organisation ``user`` may see; NotFound otherwise."""
    for org in organisations_for(session, user):
        if org.id == organisation_id:
            return org
    raise _not_found("organisation_id", "tổ chức", "organisation", organisation_id)


def bind_reporter(
    session: Session, *, username: str, organisation_code: str, actor: str | None = None
) -> None:
    """Bind an ``org_reporter`` account to the organisation it reports for."""
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None or user.role is not Role.ORG_REPORTER:
        raise InvalidInput.single(
            "username",
            "not_reporter",
            "Không có tài khoản org_reporter này.",
            "No org_reporter account has this name.",
        )
    org = session.scalar(select(Organisation).where(Organisation.code == organisation_code))
    if org is None:
        raise _not_found("organisation", "tổ chức", "organisation", organisation_code)
    binding = session.get(OrganisationReporter, user.id)
    if binding is None:
        session.add(OrganisationReporter(user_id=user.id, organisation_id=org.id))
    else:
        binding.organisation_id = org.id
    record(
        session,
        actor=actor,
        action="campaign.reporter.bind",
        object_type="user",
        object_id=user.id,
        detail={"organisation": org.code},
    )


def submit_report(
    session: Session,
    user: User,
    *,
    organisation_id: int,
    app_code: str,
    as_of: dt.date,
    headcount: int,
    installs: int,
    today: dt.date | None = None,
) -> tuple[OrganisationReport, bool]:
    """Store an organisation's report for an app and day; returns (report, changed).

    The same numbers again change nothing; new numbers for the same day replace the old ones
    (the audit log keeps them).
    """
    org = get_organisation(session, user, organisation_id)
    check_app(session, app_code)
    errors: list[FieldError] = []
    if as_of > (today or local_today()):
        errors.append(
            FieldError(
                "as_of",
                "future_date",
                "Ngày không được ở tương lai.",
                "The date may not be in the future.",
            )
        )
    if not 0 <= headcount <= 1_000_000:
        errors.append(
            FieldError("headcount", "out_of_range", "Từ 0 đến 1.000.000.", "From 0 to 1,000,000.")
        )
    if not 0 <= installs <= max(headcount, 0):
        errors.append(
            FieldError(
                "installs",
                "above_headcount",
                "Số cài đặt phải từ 0 đến số nhân sự.",
                "Installs must be between 0 and the headcount.",
            )
        )
    if errors:
        raise InvalidInput(*errors)
    report = session.scalar(
        select(OrganisationReport).where(
            OrganisationReport.organisation_id == org.id,
            OrganisationReport.app_code == app_code,
            OrganisationReport.as_of == as_of,
        )
    )
    if report is not None and (report.headcount, report.installs) == (headcount, installs):
        return report, False
    before = (
        None if report is None else {"headcount": report.headcount, "installs": report.installs}
    )
    if report is None:
        report = OrganisationReport(
            organisation_id=org.id,
            app_code=app_code,
            as_of=as_of,
            headcount=headcount,
            installs=installs,
        )
        session.add(report)
    report.headcount = headcount
    report.installs = installs
    report.entered_by = user.id
    org.headcount = headcount
    record(
        session,
        actor=user.username,
        action="campaign.org_report.submit",
        object_type="campaign_organisation",
        object_id=org.id,
        unit_code=org.unit_code,
        detail={
            "app": app_code,
            "as_of": as_of.isoformat(),
            "before": before,
            "after": {"headcount": headcount, "installs": installs},
        },
    )
    session.flush()
    return report, True


def report_history(session: Session, org: Organisation) -> list[OrganisationReport]:
    """An organisation's reports, newest first."""
    return list(
        session.scalars(
            select(OrganisationReport)
            .where(OrganisationReport.organisation_id == org.id)
            .order_by(OrganisationReport.as_of.desc(), OrganisationReport.app_code)
        )
    )


@dataclass(frozen=True, slots=True)
class Compliance:
    """An organisation's standing for one app: its latest report against its target."""

    organisation_id: int
    code: str
    name: str
    kind: str
    unit_code: str
    headcount: int
    installs: int | None
    share: float | None
    target_share: float
    last_report: dt.date | None
    overdue: bool
    below_target: bool


def compliance(
    session: Session, user: User, app_code: str, *, as_of: dt.date | None = None
) -> list[Compliance]:
    """Every visible organisation's latest report (on or before ``as_of``) against target.

    Overdue: no report within the organisation's reporting period. Below target: the reported
    share is under the organisation's target (an organisation that never reported is both).
    """
    check_app(session, app_code)
    day = as_of or local_today()
    orgs = organisations_for(session, user)
    if not orgs:
        return []
    ranked = (
        select(
            OrganisationReport.organisation_id,
            OrganisationReport.as_of,
            OrganisationReport.headcount,
            OrganisationReport.installs,
            func.row_number()
            .over(
                partition_by=OrganisationReport.organisation_id,
                order_by=OrganisationReport.as_of.desc(),
            )
            .label("rank"),
        )
        .where(OrganisationReport.app_code == app_code, OrganisationReport.as_of <= day)
        .subquery()
    )
    latest = {
        org_id: (when, headcount, installs)
        for org_id, when, headcount, installs in session.execute(
            select(
                ranked.c.organisation_id, ranked.c.as_of, ranked.c.headcount, ranked.c.installs
            ).where(ranked.c.rank == 1)
        )
    }
    result: list[Compliance] = []
    for org in orgs:
        found = latest.get(org.id)
        when, headcount, installs = found or (None, org.headcount, None)
        share = installs / headcount if installs is not None and headcount else None
        overdue = when is None or (day - when).days > org.report_every_days
        below = share is None or share < org.target_share
        result.append(
            Compliance(
                org.id,
                org.code,
                org.name,
                str(org.kind),
                org.unit_code,
                headcount,
                installs,
                share,
                org.target_share,
                when,
                overdue,
                below,
            )
        )
    return result


def organisation_unit(session: Session, org: Organisation) -> Unit:
    """The organisation's unit."""
    return get_unit(session, org.unit_code)
