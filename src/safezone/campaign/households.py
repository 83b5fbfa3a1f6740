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

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

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
class RowError:
    """One problem with one cell (``column`` None = the row or the file)."""

    line: int
    column: str | None
    code: str
    message_vi: str
    message_en: str

    def as_field_error(self) -> FieldError:
        """The same problem as a FieldError naming line and column in both languages."""
        where_vi = f"dòng {self.line}" + (f", cột {self.column}" if self.column else "")
        where_en = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        name = f"line[{self.line}]" + (f".{self.column}" if self.column else "")
        return FieldError(
            name, self.code, f"{where_vi}: {self.message_vi}", f"{where_en}: {self.message_en}"
        )


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
    """What an import did (or would have done)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    villages_created: int = 0
    skipped: list[tuple[int, dict[str, str], list[RowError]]] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Rows stored or recognised."""
        return self.created + self.updated + self.unchanged


# --- reading --------------------------------------------------------------------------------


def read_table(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and rows (with their 1-based line numbers) of a CSV (UTF-8) or XLSX file."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        rows = [
            ["" if value is None else str(value).strip() for value in row]
            for row in sheet.iter_rows(values_only=True)
        ]
        book.close()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(
                RowError(
                    1, None, "encoding", "tệp phải mã hóa UTF-8", "the file must be UTF-8"
                ).as_field_error()
            ) from None
        rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    if not rows:
        raise InvalidInput(
            RowError(1, None, "empty", "tệp trống", "the file is empty").as_field_error()
        )
    header = [cell.strip().lower() for cell in rows[0]]
    body = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cells):
            continue  # blank lines (common at the end of spreadsheets) are not rows
        body.append(
            (
                number,
                {
                    name: (cells[i] if i < len(cells) else "")
                    for i, name in enumerate(header)
                    if name
                },
            )
        )
    return header, body


def _check_header(header: Sequence[str]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if "address" not in header and "village_code" not in header:
        missing.append("address")
    if missing:
        raise InvalidInput(
            *(
                RowError(
                    1, name, "missing_column", f"thiếu cột {name!r}", f"missing column {name!r}"
                ).as_field_error()
                for name in missing
            )
        )


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


def _text(
    raw: dict[str, str], line: int, name: str, errors: list[RowError], *, required: bool
) -> str | None:
    value = normalise_spelling(raw.get(name) or "")
    if not value:
        if required:
            errors.append(RowError(line, name, "required", "bắt buộc", "required"))
        return None
    if len(value) > MAX_TEXT:
        errors.append(
            RowError(
                line,
                name,
                "too_long",
                f"dài quá {MAX_TEXT} ký tự",
                f"longer than {MAX_TEXT} characters",
            )
        )
        return None
    return value


def parse_row(line: int, raw: dict[str, str]) -> tuple[HouseholdRow | None, list[RowError]]:
    """One row checked on its own (villages are checked against the commune later)."""
    errors: list[RowError] = []
    head = _text(raw, line, "head_name", errors, required=True)
    address = _text(raw, line, "address", errors, required=False)
    village_code = (raw.get("village_code") or "").strip() or None
    village_name = _text(raw, line, "village_name", errors, required=False)
    if village_code is not None and (
        len(village_code) > units.MAX_CODE_LENGTH or "/" in village_code
    ):
        errors.append(
            RowError(line, "village_code", "invalid_code", "mã không hợp lệ", "invalid code")
        )
    if village_code is None and address is None and not any(e.column == "address" for e in errors):
        errors.append(
            RowError(
                line,
                "address",
                "address_or_village",
                "cần địa chỉ hoặc mã thôn/tổ dân phố",
                "an address or a village code is required",
            )
        )
    members_raw = (raw.get("members") or "").strip()
    members = 0
    try:
        members = int(members_raw)
    except ValueError:
        members = -1
    if not 1 <= members <= MAX_MEMBERS:
        errors.append(
            RowError(
                line,
                "members",
                "invalid_members",
                f"số nhân khẩu phải là số nguyên từ 1 đến {MAX_MEMBERS}",
                f"members must be a whole number from 1 to {MAX_MEMBERS}",
            )
        )
    phone_raw = (raw.get("phone") or "").strip()
    phone = None
    if phone_raw:
        phone = normalise_phone(phone_raw)
        if phone is None:
            errors.append(
                RowError(
                    line,
                    "phone",
                    "invalid_phone",
                    "số điện thoại không hợp lệ",
                    "not a valid phone number",
                )
            )
    if errors or head is None:
        return None, errors
    return HouseholdRow(line, village_code, village_name, address, head, members, phone), []


def _village_errors(
    session: Session, commune: Unit, rows: Sequence[HouseholdRow]
) -> tuple[dict[str, str], dict[int, list[RowError]]]:
    """New villages to create (code -> name) and the rows whose village is wrong."""
    codes = {row.village_code for row in rows if row.village_code}
    known = {
        unit.code: unit
        for start in range(0, len(codes), 500)
        for unit in session.scalars(
            select(Unit).where(Unit.code.in_(sorted(codes)[start : start + 500]))
        )
    }
    new: dict[str, str] = {}
    errors: dict[int, list[RowError]] = {}
    for row in rows:
        code = row.village_code
        if code is None:
            continue
        unit = known.get(code)
        if unit is not None:
            if unit.parent_code != commune.code:
                errors.setdefault(row.line, []).append(
                    RowError(
                        row.line,
                        "village_code",
                        "village_elsewhere",
                        f"mã {code!r} là đơn vị khác, không thuộc {commune.name}",
                        f"code {code!r} is another unit, not a village of {commune.name}",
                    )
                )
            continue
        if row.village_name is None and code not in new:
            errors.setdefault(row.line, []).append(
                RowError(
                    row.line,
                    "village_name",
                    "village_name_required",
                    f"thôn/tổ dân phố mới {code!r} cần tên",
                    f"new village {code!r} needs a name",
                )
            )
            continue
        new.setdefault(code, row.village_name or code)
    return new, errors


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
    session: Session, commune: Unit, raw_rows: Sequence[tuple[int, dict[str, str]]]
) -> tuple[list[HouseholdRow], dict[int, list[RowError]], dict[str, str]]:
    """Good rows, bad rows' errors by line, and the villages to create."""
    bad: dict[int, list[RowError]] = {}
    good: list[HouseholdRow] = []
    seen: dict[str, int] = {}
    for line, raw in raw_rows:
        row, errors = parse_row(line, raw)
        if row is not None:
            first = seen.setdefault(row.identity(commune.code), line)
            if first != line:
                errors = [
                    RowError(
                        line,
                        None,
                        "duplicate_row",
                        f"trùng hộ ở dòng {first}",
                        f"the same household as line {first}",
                    )
                ]
        if errors:
            bad[line] = errors
        elif row is not None:
            good.append(row)
    new_villages, village_errors = _village_errors(session, commune, good)
    bad.update(village_errors)
    return [row for row in good if row.line not in village_errors], bad, new_villages


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
    header, raw_rows = read_table(data, filename)
    _check_header(header)
    good, bad, new_villages = _validate(session, commune, raw_rows)
    if bad and not skip_bad_rows:
        raise InvalidInput(*(e.as_field_error() for line in sorted(bad) for e in bad[line]))
    raws = dict(raw_rows)
    report = ImportReport(skipped=[(line, raws[line], bad[line]) for line in sorted(bad)])
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
            if progress is not None:
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


def write_skipped(report: ImportReport, path: Path, header: Sequence[str] | None = None) -> None:
    """The skipped rows as CSV, each with its line number and errors (English; Vietnamese)."""
    columns = list(
        header or ("village_code", "village_name", "address", "head_name", "members", "phone")
    )
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", *columns, "errors"])
        for line, raw, errors in report.skipped:
            message = " | ".join(
                f"{e.column or '-'}: {e.message_vi} / {e.message_en}" for e in errors
            )
            writer.writerow([line, *(raw.get(name, "") for name in columns), message])
