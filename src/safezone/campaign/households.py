"""Households of a commune, imported from CSV or XLSX, with their villages.

A household file has one row per household::

    village_code,village_name,address,head_name,members,phone
    22015-TDP01,Tổ dân phố 1,12 Lê Lợi,Nguyễn Văn An,4,0905 123 456
    ,,25 Trần Hưng Đạo,Trần Thị Bình,3,

``village_code``/``village_name`` name the village or residential group (level 4) the household
belongs to; a code not yet known is created under the commune (``village_name`` required then).
Without a village the household belongs to the commune itself, and ``address`` is required.
``phone`` is optional and stored as E.164. Head of household, address and phone are sealed by the
campaign's vault; ``import_key`` (a blind digest of who and where) makes a second import of the
same row change nothing.

The whole file is checked first; every bad row is reported by line and column in Vietnamese and
English, and nothing is stored unless ``skip_bad_rows`` is asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone import tabular
from safezone.accounts.service import Scope, record
from safezone.campaign.models import Household
from safezone.campaign.revisits import FIRST
from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.units import service as units
from safezone.units.models import COMMUNE, Unit
from safezone.units.names import fold, normalise_spelling
from safezone.vault import Vault

REQUIRED_COLUMNS = ("head_name", "members")
OPTIONAL_COLUMNS = ("village_code", "village_name", "address", "phone")
MAX_MEMBERS = 100
MAX_TEXT = 200
#: Village types by the commune's type: wards and towns have residential groups, communes villages.
URBAN_TYPES = ("phường", "thị trấn")


@dataclass(frozen=True, slots=True)
class HouseholdRow:
    """A valid row, normalised."""

    line: int
    village_code: str | None
    village_name: str | None
    address: str | None
    head_name: str
    members: int
    phone: str | None

    def identity(self, commune: str) -> str:
        """Who and where, normalised: equal for the same household in a later file."""
        parts = (
            commune,
            self.village_code or "",
            fold(self.address or ""),
            fold(self.head_name),
            self.phone or "",
        )
        return "\x1f".join(parts)


@dataclass
class ImportReport:
    """What an import did: counts, and the rows left out (with ``skip_bad_rows``)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    villages_created: int = 0
    skipped: list[tuple[int, list[tabular.RowError]]] = field(default_factory=list)
    table: tabular.Table | None = None
    checks: tabular.Report | None = None


# --- validation -----------------------------------------------------------------------------


def normalise_phone(raw: str) -> str | None:
    """``raw`` as an E.164 number (Vietnamese numbers may be written nationally); None if bad."""
    try:
        number = phonenumbers.parse(raw, "VN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _text(report: tabular.Report, row: tabular.Row, name: str, *, required: bool) -> str | None:
    value = tabular.parse_text(report, row, name, required=required, max_length=MAX_TEXT)
    return normalise_spelling(value) or None if value else None


def parse_row(report: tabular.Report, row: tabular.Row) -> HouseholdRow | None:
    """One row checked on its own (villages are checked against the commune later)."""
    before = len(report.errors)
    line = row.line
    head = _text(report, row, "head_name", required=True)
    address = _text(report, row, "address", required=False)
    village_code = row.get("village_code") or None
    village_name = _text(report, row, "village_name", required=False)
    if village_code is not None and (
        len(village_code) > units.MAX_CODE_LENGTH or "/" in village_code
    ):
        report.add(line, "village_code", "invalid_code", "Mã không hợp lệ.", "Invalid code.")
    if village_code is None and address is None and not row.get("address"):
        report.add(
            line,
            "address",
            "address_or_village",
            "Cần địa chỉ hoặc mã thôn/tổ dân phố.",
            "An address or a village code is required.",
        )
    members = -1
    raw_members = row.get("members")
    if raw_members.isdigit():
        members = int(raw_members)
    if not 1 <= members <= MAX_MEMBERS:
        report.add(
            line,
            "members",
            "invalid_members",
            f"Số nhân khẩu phải là số nguyên từ 1 đến {MAX_MEMBERS}.",
            f"Members must be a whole number from 1 to {MAX_MEMBERS}.",
        )
    phone = None
    if row.get("phone"):
        phone = normalise_phone(row.get("phone"))
        if phone is None:
            report.add(
                line,
                "phone",
                "invalid_phone",
                "Số điện thoại không hợp lệ.",
                "Not a valid phone number.",
            )
    if len(report.errors) > before or head is None:
        return None
    return HouseholdRow(line, village_code, village_name, address, head, members, phone)


def _check_villages(
    session: Session, report: tabular.Report, commune: Unit, rows: Sequence[HouseholdRow]
) -> dict[str, str]:
    """New villages to create (code -> name); rows naming a wrong village get an error."""
    codes = sorted({row.village_code for row in rows if row.village_code})
    known = {
        unit.code: unit
        for start in range(0, len(codes), 500)
        for unit in session.scalars(select(Unit).where(Unit.code.in_(codes[start : start + 500])))
    }
    new: dict[str, str] = {}
    for row in rows:
        code = row.village_code
        if code is None:
            continue
        unit = known.get(code)
        if unit is not None:
            if unit.parent_code != commune.code:
                report.add(
                    row.line,
                    "village_code",
                    "village_elsewhere",
                    f"Mã {code!r} là đơn vị khác, không thuộc {commune.name}.",
                    f"Code {code!r} is another unit, not a village of {commune.name}.",
                )
            continue
        if row.village_name is None and code not in new:
            report.add(
                row.line,
                "village_name",
                "village_name_required",
                f"Thôn/tổ dân phố mới {code!r} cần tên.",
                f"The new village {code!r} needs a name.",
            )
            continue
        new.setdefault(code, row.village_name or code)
    return new


# --- the import -----------------------------------------------------------------------------


def _commune(session: Session, unit_code: str, scope: Scope | None) -> Unit:
    unit = session.get(Unit, unit_code)
    if unit is None or (scope is not None and not scope.contains(unit)):
        raise NotFound.single("unit", "unit_not_found", "Không tìm thấy đơn vị.", "No such unit.")
    if unit.level != COMMUNE:
        raise InvalidInput.single(
            "unit",
            "not_a_commune",
            "Hộ gia đình được nhập theo từng xã/phường.",
            "Households are imported one commune at a time.",
        )
    return unit


def _validate(
    session: Session, commune: Unit, table: tabular.Table
) -> tuple[tabular.Report, list[HouseholdRow], dict[str, str]]:
    """Every row checked; returns the checks, the good rows and the villages to create."""
    report = tabular.Report(total=len(table.rows))
    tabular.check_shape(table, report)
    parsed = [row for row in (parse_row(report, raw) for raw in table.rows) if row is not None]
    first: dict[str, int] = {}
    unique = []
    for row in parsed:
        seen = first.setdefault(row.identity(commune.code), row.line)
        if seen != row.line:
            report.add(
                row.line,
                None,
                "duplicate_row",
                f"Trùng hộ ở dòng {seen}.",
                f"The same household as line {seen}.",
            )
        else:
            unique.append(row)
    villages = _check_villages(session, report, commune, unique)
    bad = report.bad_lines
    return report, [row for row in unique if row.line not in bad], villages


def rekey_import_key(session: Session, vault: Vault, household: Household) -> bool:
    """Re-make ``household.import_key`` under the vault's current key (secret rotation), from
    its sealed values; True if it changed. A household edited since its import (its identity no
    longer gives the stored digest under any key) is left alone rather than guessed."""
    unit = session.get(Unit, household.unit_code)
    if unit is None:
        return False
    village = unit.level == "village"
    opened = vault.open(household, "head_name", "address", "phone")
    row = HouseholdRow(
        line=0,
        village_code=unit.code if village else None,
        village_name=None,
        address=opened["address"],
        head_name=opened["head_name"] or "",
        members=household.members,
        phone=opened["phone"],
    )
    identity = row.identity(unit.parent_code if village and unit.parent_code else unit.code)
    current = vault.digest("household", identity)
    if household.import_key == current:
        return False
    if household.import_key not in vault.candidates("household", identity):
        return False
    household.import_key = current
    return True


def _existing(
    session: Session, vault: Vault, commune: Unit, rows: Sequence[HouseholdRow]
) -> dict[int, Household]:
    """Households already imported, by the line of their row (under any key of the ring)."""
    candidates = {
        digest: row.line
        for row in rows
        for digest in vault.candidates("household", row.identity(commune.code))
    }
    digests = sorted(candidates)
    found: dict[int, Household] = {}
    for start in range(0, len(digests), 500):
        for household in session.scalars(
            select(Household).where(Household.import_key.in_(digests[start : start + 500]))
        ):
            found[candidates[household.import_key]] = household
    return found


def import_households(
    session: Session,
    vault: Vault,
    data: bytes,
    filename: str,
    *,
    unit_code: str,
    scope: Scope | None = None,
    actor: str | None = None,
    skip_bad_rows: bool = False,
    today: dt.date,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the households of commune ``unit_code`` from a CSV or XLSX file.

    Raises InvalidInput listing every bad row (line, column, both languages) and stores nothing,
    unless ``skip_bad_rows``: then the good rows are stored and the bad ones returned in
    ``report.skipped``. Importing the same file again changes nothing.
    """
    commune = _commune(session, unit_code, scope)
    table = tabular.read_table(
        data, required=REQUIRED_COLUMNS, optional=OPTIONAL_COLUMNS, name=filename
    )
    if "address" not in table.columns and "village_code" not in table.columns:
        raise InvalidInput(
            FieldError(
                "address",
                "missing_column",
                "Cần cột 'address' hoặc 'village_code'.",
                "Column 'address' or 'village_code' is required.",
            )
        )
    checks, good, new_villages = _validate(session, commune, table)
    checks.accepted(table.rows, skip_bad_rows=skip_bad_rows)  # raises unless skipping
    report = ImportReport(
        skipped=[(line, checks.errors_for(line)) for line in sorted(checks.bad_lines)],
        table=table,
        checks=checks,
    )
    # Villages first (through the units service, so they join the tree like any import).
    urban = commune.type in URBAN_TYPES
    village_rows = [
        {
            "code": code,
            "name": name,
            "level": "village",
            "type": "tổ dân phố" if urban else "thôn",
            "parent_code": commune.code,
        }
        for code, name in new_villages.items()
    ]
    with session.begin_nested():
        if village_rows:
            units.import_units(session, village_rows)
            report.villages_created = len(village_rows)
        existing = _existing(session, vault, commune, good)
        for done, row in enumerate(good, start=1):
            household = existing.get(row.line)
            if household is None:
                household = Household(
                    unit_code=row.village_code or commune.code,
                    members=row.members,
                    import_key=vault.digest("household", row.identity(commune.code)),
                    due_on=today,
                    due_reason=FIRST,
                )
                vault.seal(household, head_name=row.head_name, address=row.address, phone=row.phone)
                session.add(household)
                report.created += 1
            elif household.members != row.members:
                household.members = row.members
                report.updated += 1
            else:
                report.unchanged += 1
            if progress is not None and (done % 200 == 0 or done == len(good)):
                progress(done, len(good))
        session.flush()
        if report.created or report.updated or report.villages_created:
            record(
                session,
                actor=actor,
                action="campaign.households.import",
                object_type="unit",
                object_id=commune.code,
                unit_code=commune.code,
                detail={
                    "created": report.created,
                    "updated": report.updated,
                    "villages_created": report.villages_created,
                    "skipped": len(report.skipped),
                },
            )
    return report


def write_skipped(report: ImportReport, path: Path) -> int:
    """The skipped rows, with their line and errors, as CSV at ``path`` (readable by its owner
    only: the rows hold names and phone numbers). Returns how many were written."""
    assert report.table is not None
    assert report.checks is not None
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    return tabular.write_skipped(path, report.table, report.checks)
