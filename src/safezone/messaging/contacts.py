"""Contacts: upsert with consent, opt-out, installs, and the CSV/XLSX import.

A contact is one phone number (E.164, sealed by the vault, found by its blind index). Every
change that ends sending (opt-out, an installed app) also cancels the contact's queued
messages in the same transaction; the sender checks again when it claims (law.decide).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.db.base import utcnow
from safezone.errors import FieldError, InvalidInput
from safezone.messaging import hooks
from safezone.messaging.base import APP_CODES, PHONE_FIELD, vault_for
from safezone.messaging.models import (
    CONTACT_SOURCES,
    LANGUAGES,
    STATUS_RANK,
    Contact,
    ContactApp,
    Message,
    SendCampaign,
)
from safezone.messaging.phones import InvalidPhone, carrier_of, normalise
from safezone.messaging.tables import Row
from safezone.units.models import Unit
from safezone.units.names import display_name
from safezone.vault import Vault

#: Sources allowed to re-activate an opted-out contact: a fresh consent given in person or on
#: a form, dated after the opt-out. An import never re-activates anyone.
REACTIVATING_SOURCES = frozenset({"visit", "declaration"})
_IN_CHUNK = 500  # bound parameters per IN (...) query


def find(session: Session, vault: Vault, phone_e164: str) -> Contact | None:
    """The contact with this number (E.164), found by blind index under every key."""
    digests = vault.candidates(PHONE_FIELD, phone_e164)
    return session.scalars(select(Contact).where(Contact.phone_index.in_(digests))).first()


def phone_of(vault: Vault, contact: Contact) -> str:
    """The contact's number in clear (the caller audits staff reads)."""
    value: str = vault.get(contact, PHONE_FIELD)
    return value


def _validate_choice(field: str, value: str, allowed: Sequence[str]) -> FieldError | None:
    if value in allowed:
        return None
    listed = ", ".join(allowed)
    return FieldError(
        field,
        "invalid_choice",
        f"Giá trị {value!r} không hợp lệ; chọn một trong: {listed}.",
        f"Invalid value {value!r}; choose one of: {listed}.",
    )


def _apply(
    contact: Contact,
    *,
    unit_code: str,
    language: str,
    source: str,
    consent_at: dt.datetime | None,
    consent_by: str | None,
    consent_method: str | None,
    now: dt.datetime,
) -> bool:
    """Merge new facts into an existing contact; True if anything changed."""
    changed = False
    if contact.unit_code != unit_code:
        contact.unit_code, changed = unit_code, True
    if contact.language != language:
        contact.language, changed = language, True
    newer_consent = consent_at is not None and (
        contact.consent_at is None or consent_at > contact.consent_at
    )
    if newer_consent:
        contact.consent_at = consent_at
        contact.consent_by = consent_by
        contact.consent_method = consent_method or source
        changed = True
    reactivates = (
        contact.status == "opted_out"
        and source in REACTIVATING_SOURCES
        and consent_at is not None
        and contact.opted_out_at is not None
        and consent_at > contact.opted_out_at
    )
    if reactivates:
        contact.status = "active"
        contact.opted_out_at = None
        contact.opt_out_source = None
        changed = True
    if changed:
        contact.updated_at = now
    return changed


def upsert_contact(
    session: Session,
    phone: str,
    unit_code: str,
    language: str,
    source: str,
    consent_at: dt.datetime | None,
    consent_by: str | None,
    *,
    vault: Vault,
    consent_method: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[Contact, bool]:
    """Create or update the contact for ``phone`` (any Vietnamese form or E.164); returns the
    contact and whether it was created. Raises InvalidInput naming the bad field.

    Called by the campaign's volunteer visits (``source="visit"``), by declarations with
    consent (``"declaration"``) and by the import. An opted-out contact stays opted out unless
    ``source`` is a visit or a declaration with a consent dated after the opt-out.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    e164 = ""
    try:
        e164 = normalise(phone)
    except InvalidPhone as exc:
        errors.append(exc.error)
    for problem in (
        _validate_choice("language", language, LANGUAGES),
        _validate_choice("source", source, CONTACT_SOURCES),
    ):
        if problem:
            errors.append(problem)
    if session.get(Unit, unit_code) is None:
        errors.append(_unknown_unit(unit_code))
    if consent_at is not None and consent_at > now + dt.timedelta(minutes=5):
        errors.append(_future_consent())
    if errors:
        raise InvalidInput(*errors)
    existing = find(session, vault, e164)
    if existing is not None:
        _apply(
            existing,
            unit_code=unit_code,
            language=language,
            source=source,
            consent_at=consent_at,
            consent_by=consent_by,
            consent_method=consent_method,
            now=now,
        )
        return existing, False
    contact = Contact(
        unit_code=unit_code,
        carrier=carrier_of(e164),
        language=language,
        source=source,
        status="active",
        consent_at=consent_at,
        consent_by=consent_by,
        consent_method=consent_method or source,
        created_at=now,
        updated_at=now,
    )
    vault.seal(contact, **{PHONE_FIELD: e164})
    session.add(contact)
    session.flush()
    return contact, True


def _unknown_unit(code: str, field: str = "unit_code") -> FieldError:
    return FieldError(
        field, "unknown_unit", f"Không có đơn vị mã {code!r}.", f"No unit with code {code!r}."
    )


def _future_consent(field: str = "consent_at") -> FieldError:
    return FieldError(
        field,
        "in_future",
        "Thời điểm đồng ý không được ở tương lai.",
        "The consent time cannot be in the future.",
    )


def cancel_queued(
    session: Session,
    contact_id: int,
    reason: str,
    *,
    app_code: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Cancel the contact's messages still queued (all, or those of campaigns about
    ``app_code``); returns how many. Messages already handed to a gateway keep their course."""
    now = now or utcnow()
    statement = (
        update(Message)
        .where(Message.contact_id == contact_id, Message.rank == STATUS_RANK["queued"])
        .where(Message.submitted_at.is_(None))
        .values(
            status="cancelled",
            rank=STATUS_RANK["cancelled"],
            reason=reason,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if app_code is not None:
        about_app = select(SendCampaign.id).where(SendCampaign.app_code == app_code)
        statement = statement.where(Message.campaign_id.in_(about_app))
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def opt_out(
    session: Session,
    phone_e164: str,
    source: str,
    *,
    vault: Vault,
    now: dt.datetime | None = None,
) -> Contact | None:
    """Stop every message to this number, now: the contact becomes ``opted_out`` and its
    queued messages are cancelled. ``source`` says how (``mo:TU CHOI``, ``staff:<user>``...).
    Returns None for a number we do not know (nothing to stop)."""
    now = now or utcnow()
    contact = find(session, vault, phone_e164)
    if contact is None:
        return None
    if contact.status != "opted_out":
        contact.status = "opted_out"
        contact.opted_out_at = now
        contact.opt_out_source = source[:40]
        contact.updated_at = now
    cancel_queued(session, contact.id, "opted_out", now=now)
    return contact


@dataclass(frozen=True)
class ContactCard:
    """What staff see of one contact: never the messages' text, only their course."""

    contact: Contact
    unit_name: str
    apps: tuple[str, ...]
    messages: dict[str, int]  # status -> count


def look_up(session: Session, vault: Vault, phone: str, *, within_path: str) -> ContactCard | None:
    """The contact with this number if it belongs to a unit under ``within_path``; None
    otherwise, whether the number is unknown or out of reach (the caller cannot tell which).

    Raises InvalidInput (field ``phone``) for something that is not a mobile number. The
    caller audits the read."""
    try:
        e164 = normalise(phone, field="phone")
    except InvalidPhone as exc:
        raise InvalidInput(exc.error) from None
    contact = find(session, vault, e164)
    if contact is None:
        return None
    unit = session.get(Unit, contact.unit_code)
    if unit is None or not unit.path.startswith(within_path):  # paths end with "/"
        return None
    counts = session.execute(
        select(Message.status, func.count())
        .where(Message.contact_id == contact.id)
        .group_by(Message.status)
    ).all()
    return ContactCard(
        contact=contact,
        unit_name=display_name(unit),
        apps=tuple(sorted(installed_apps(session, contact.id))),
        messages={status: int(count) for status, count in counts},
    )


def installed_apps(session: Session, contact_id: int) -> set[str]:
    """The app codes the contact has installed."""
    return set(
        session.scalars(select(ContactApp.app_code).where(ContactApp.contact_id == contact_id))
    )


def mark_contact_installed(
    session: Session,
    contact: Contact,
    app_code: str,
    source: str,
    *,
    now: dt.datetime | None = None,
) -> bool:
    """Record that ``contact`` installed ``app_code`` and stop reminders about it; True if it
    was new. Registered ``hooks.on_installed`` callbacks hear about new installs."""
    now = now or utcnow()
    if app_code in installed_apps(session, contact.id):
        return False
    session.add(
        ContactApp(contact_id=contact.id, app_code=app_code, source=source, installed_at=now)
    )
    contact.updated_at = now
    session.flush()
    cancel_queued(session, contact.id, "installed", app_code=app_code, now=now)
    hooks.installed(session, hooks.Installed(contact.id, contact.unit_code, app_code, source))
    return True


def mark_installed(
    session: Session,
    phone_e164: str,
    app_code: str,
    source: str,
    *,
    vault: Vault,
    now: dt.datetime | None = None,
) -> Contact | None:
    """Mark the contact with this number as having installed ``app_code`` (by a volunteer
    visit, an SMS keyword, a link): reminders about that app stop. None: unknown number."""
    if not app_code or len(app_code) > 20:
        raise InvalidInput.single(
            "app_code", "invalid", "Mã ứng dụng không hợp lệ.", "Invalid app code."
        )
    contact = find(session, vault, normalise(phone_e164))
    if contact is None:
        return None
    mark_contact_installed(session, contact, app_code, source, now=now)
    return contact


# --- import -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    rows: int
    created: int
    updated: int
    unchanged: int
    installs: int


@dataclass(frozen=True, slots=True)
class _Parsed:
    line: int
    e164: str
    unit_code: str
    language: str
    consent_at: dt.datetime | None
    consent_by: str | None
    apps: tuple[str, ...]


REQUIRED_COLUMNS = ("phone", "unit_code")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "language", "consent_at", "consent_by", "installed")


def _line_error(line: int, error: FieldError) -> FieldError:
    return FieldError(
        f"line {line}: {error.field}",
        error.code,
        f"Dòng {line}: {error.message_vi}",
        f"Line {line}: {error.message_en}",
    )


def _parse_instant(text: str) -> dt.datetime:
    """dd/mm/yyyy[ HH:MM] or ISO; local Vietnamese time when no zone is given."""
    text = text.strip()
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            parsed = dt.datetime.strptime(text, pattern)  # noqa: DTZ007 - zone added below
        except ValueError:
            continue
        return parsed.replace(tzinfo=_VIETNAM).astimezone(dt.UTC)
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_VIETNAM)
    return parsed.astimezone(dt.UTC)


_VIETNAM = dt.timezone(dt.timedelta(hours=7))


def _parse_row(
    row: Row, units: set[str], now: dt.datetime
) -> tuple[_Parsed | None, list[FieldError]]:
    errors: list[FieldError] = []
    values = row.values
    e164 = ""
    try:
        e164 = normalise(values.get("phone", ""))
    except InvalidPhone as exc:
        errors.append(exc.error)
    unit_code = values.get("unit_code", "")
    if not unit_code:
        errors.append(
            FieldError("unit_code", "required", "Thiếu mã đơn vị.", "The unit code is missing.")
        )
    elif unit_code not in units:
        errors.append(_unknown_unit(unit_code))
    language = (values.get("language") or "vi").lower()
    if problem := _validate_choice("language", language, LANGUAGES):
        errors.append(problem)
    consent_at: dt.datetime | None = None
    if raw := values.get("consent_at", ""):
        try:
            consent_at = _parse_instant(raw)
        except ValueError:
            errors.append(
                FieldError(
                    "consent_at",
                    "invalid_date",
                    f"Ngày không hợp lệ: {raw!r} (dd/mm/yyyy).",
                    f"Invalid date: {raw!r} (dd/mm/yyyy).",
                )
            )
        else:
            if consent_at > now + dt.timedelta(minutes=5):
                errors.append(_future_consent())
    consent_by = values.get("consent_by") or None
    if consent_by and len(consent_by) > 64:
        errors.append(
            FieldError("consent_by", "too_long", "Quá dài (tối đa 64).", "Too long (max 64).")
        )
    apps = tuple(
        sorted({a.strip().lower() for a in values.get("installed", "").split(",") if a.strip()})
    )
    errors.extend(
        problem for app in apps if (problem := _validate_choice("installed", app, APP_CODES))
    )
    if errors:
        return None, [_line_error(row.line, e) for e in errors]
    return _Parsed(row.line, e164, unit_code, language, consent_at, consent_by, apps), []


def _check_columns(rows: Sequence[Row]) -> None:
    if not rows:
        raise InvalidInput.single(
            "file", "empty", "Tệp không có dòng dữ liệu.", "The file has no data rows."
        )
    columns = set(rows[0].values)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        listed = ", ".join(missing)
        raise InvalidInput.single(
            "file",
            "missing_columns",
            f"Thiếu cột: {listed}.",
            f"Missing columns: {listed}.",
        )


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _validate_rows(
    session: Session, rows: Sequence[Row], within_path: str | None, now: dt.datetime
) -> list[_Parsed]:
    """Every row parsed, or InvalidInput with every problem by line (nothing written)."""
    _check_columns(rows)
    unit_query = select(Unit.code)
    if within_path is not None:
        unit_query = unit_query.where(Unit.path.startswith(within_path, autoescape=True))
    units = set(session.scalars(unit_query))
    parsed: list[_Parsed] = []
    errors: list[FieldError] = []
    seen: dict[str, _Parsed] = {}
    for row in rows:
        item, problems = _parse_row(row, units, now)
        errors.extend(problems)
        if item is None:
            continue
        earlier = seen.get(item.e164)
        if earlier is not None and (earlier.unit_code, earlier.language) != (
            item.unit_code,
            item.language,
        ):
            errors.append(_duplicate(row.line, earlier.line))
            continue
        seen[item.e164] = item
        parsed.append(item)
    if errors:
        raise InvalidInput(*errors[:200])
    return parsed


def _duplicate(line: int, earlier: int) -> FieldError:
    return _line_error(
        line,
        FieldError(
            "phone",
            "duplicate",
            f"Số này đã có ở dòng {earlier} với đơn vị hoặc ngôn ngữ khác.",
            f"This number is already on line {earlier} with another unit or language.",
        ),
    )


def import_contacts(
    session: Session,
    rows: Sequence[Row],
    *,
    vault: Vault,
    source_name: str = "import",
    within_path: str | None = None,
    actor: str | None = None,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import contacts from table rows: every row is validated first and any error stops the
    whole import (InvalidInput with line-numbered errors, nothing written). Importing the same
    file again changes nothing. ``within_path`` limits the units to a staff member's subtree.
    """
    now = now or utcnow()
    parsed = _validate_rows(session, rows, within_path, now)
    # Existing contacts, looked up in bulk by blind index.
    digest_of = {item.e164: vault.candidates(PHONE_FIELD, item.e164) for item in parsed}
    all_digests = sorted({d for ds in digest_of.values() for d in ds})
    existing: dict[str, Contact] = {}
    for chunk in _chunks(all_digests):
        for found in session.scalars(select(Contact).where(Contact.phone_index.in_(chunk))):
            existing[found.phone_index] = found
    created = updated = unchanged = installs = 0
    method = f"import:{source_name}"[:60]
    for item in parsed:
        contact = next((existing[d] for d in digest_of[item.e164] if d in existing), None)
        if contact is None:
            contact = Contact(
                unit_code=item.unit_code,
                carrier=carrier_of(item.e164),
                language=item.language,
                source="import",
                status="active",
                consent_at=item.consent_at,
                consent_by=item.consent_by or actor,
                consent_method=method,
                created_at=now,
                updated_at=now,
            )
            vault.seal(contact, **{PHONE_FIELD: item.e164})
            session.add(contact)
            session.flush()
            existing[contact.phone_index] = contact
            created += 1
        elif _apply(
            contact,
            unit_code=item.unit_code,
            language=item.language,
            source="import",
            consent_at=item.consent_at,
            consent_by=item.consent_by or actor,
            consent_method=method,
            now=now,
        ):
            updated += 1
        else:
            unchanged += 1
        for app in item.apps:
            if mark_contact_installed(session, contact, app, "import", now=now):
                installs += 1
    return ImportResult(len(parsed), created, updated, unchanged, installs)


def rekey(session: Session, settings: Settings, *, batch: int = 500) -> int:
    """Re-encrypt and re-index phone numbers sealed with an older key of the ring (secret
    rotation, see docs/security.md); returns how many rows changed. Safe to run again."""
    vault = vault_for(settings)
    changed = 0
    last = 0
    while True:
        rows = session.scalars(
            select(Contact).where(Contact.id > last).order_by(Contact.id).limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            last = row.id
            if vault.reseal(row):
                changed += 1
        session.flush()
    return changed
