"""Reading CSV and XLSX files of rows for imports, with every bad row reported by line.

The shared foundation of every importer (official counts, organisations, households, contacts):

- :func:`read_table` reads a CSV (UTF-8, with or without BOM) or an XLSX file (the first sheet,
  read-only) into :class:`Row` objects that remember their line number in the file, after
  checking the header against the required and optional columns;
- a :class:`Report` collects :class:`RowError` s (line, column, code, Vietnamese and English
  message) without stopping, so a user sees every problem of a file at once;
- the ``parse_*`` helpers turn a cell into a value or record an error;
- :meth:`Report.raise_if_errors` / :meth:`Report.accepted` apply the house rule: nothing is stored
  from a file with errors unless the caller asked to skip bad rows, in which case
  :func:`write_skipped` writes those rows (with their errors) to a file for fixing;
- :func:`digest_bytes` gives a file digest so an importer can recognise a file it has seen;
- :func:`rich_progress` is a progress hook for the CLI.

Nothing here knows a feature domain or the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safezone.errors import FieldError, InvalidInput

#: Called with (rows done, rows in total) while an import works through its rows.
ProgressHook = Callable[[int, int], None]

#: Files larger than this are refused before parsing (an import is a list, not a dump).
MAX_FILE_BYTES = 64 * 1024 * 1024
_XLSX_MAGIC = b"PK\x03\x04"
_DATE_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell (``column`` is None for the row or the file as a whole)."""

    line: int | None
    column: str | None
    code: str
    message_vi: str
    message_en: str

    def as_field_error(self) -> FieldError:
        """The same problem as a :class:`FieldError` named ``line[N].column``."""
        name = self.column or "file"
        if self.line is not None:
            name = f"line[{self.line}].{self.column}" if self.column else f"line[{self.line}]"
            return FieldError(
                name,
                self.code,
                f"dòng {self.line}, cột {self.column or '-'}: {self.message_vi}",
                f"line {self.line}, column {self.column or '-'}: {self.message_en}",
            )
        return FieldError(name, self.code, self.message_vi, self.message_en)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (for APIs and ``--format json``)."""
        return {
            "line": self.line,
            "column": self.column,
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its 1-based line number in the file and its cells by column name.

    Cells are stripped strings; an empty or absent cell is ``""``.
    """

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        """The cell's text, ``""`` when empty or absent."""
        return self.values.get(column, "")


@dataclass(frozen=True, slots=True)
class Table:
    """A file's header and rows, and the digest of its bytes."""

    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    digest: str
    name: str = ""


@dataclass(slots=True)
class Report:
    """Errors found while validating a table, and what the import did.

    ``created``, ``updated`` and ``unchanged`` are for the importer to fill in; ``skipped`` is the
    number of rows left out because they had errors (only with skip-bad-rows).
    """

    total: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_file: Path | None = None

    def add(
        self, line: int | None, column: str | None, code: str, message_vi: str, message_en: str
    ) -> None:
        """Record one problem and go on."""
        self.errors.append(RowError(line, column, code, message_vi, message_en))

    @property
    def ok(self) -> bool:
        """True when no error was recorded."""
        return not self.errors

    @property
    def bad_lines(self) -> frozenset[int]:
        """The lines with at least one error."""
        return frozenset(e.line for e in self.errors if e.line is not None)

    def errors_for(self, line: int) -> list[RowError]:
        """The errors of one line."""
        return [e for e in self.errors if e.line == line]

    def raise_if_errors(self) -> None:
        """Raise :class:`InvalidInput` naming every error, if there is any."""
        if self.errors:
            raise InvalidInput(*(e.as_field_error() for e in self.errors))

    def accepted(self, rows: Iterable[Row], *, skip_bad_rows: bool) -> list[Row]:
        """The rows to store: all of them, or only the good ones when skipping bad rows.

        Raises :class:`InvalidInput` when there are errors and skipping was not asked for, or
        when an error concerns the file as a whole (no line), which skipping cannot fix.
        """
        file_errors = [e for e in self.errors if e.line is None]
        if file_errors or (self.errors and not skip_bad_rows):
            self.raise_if_errors()
        bad = self.bad_lines
        good = [row for row in rows if row.line not in bad]
        self.skipped = len(bad)
        return good

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of the outcome."""
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "skipped_file": str(self.skipped_file) if self.skipped_file else None,
            "errors": [e.as_dict() for e in self.errors],
        }


def digest_bytes(data: bytes) -> str:
    """SHA-256 of a file's bytes, hex: the same file always gives the same digest."""
    return hashlib.sha256(data).hexdigest()


def _file_error(code: str, vi: str, en: str) -> InvalidInput:
    return InvalidInput(FieldError("file", code, vi, en))


def _normalise_header(name: object) -> str:
    return str(name if name is not None else "").lstrip("\ufeff").strip().lower()


def _cell_text(value: object) -> str:  # noqa: PLR0911 - one return per cell type
    """An XLSX cell as the text a CSV would have held."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _file_error(
            "encoding",
            "Tệp CSV phải được mã hoá UTF-8.",
            f"The CSV file must be UTF-8 encoded (byte {exc.start}).",
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    try:
        for record in reader:
            yield start, record
            start = reader.line_num + 1
    except csv.Error as exc:
        raise _file_error(
            "csv", f"Tệp CSV hỏng gần dòng {start}.", f"Malformed CSV near line {start}: {exc}"
        ) from exc


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of error for a broken file
        raise _file_error(
            "xlsx", "Không đọc được tệp XLSX.", f"The XLSX file cannot be read: {exc}"
        ) from exc
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        book.close()


def read_table(
    data: bytes,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    name: str = "",
    allow_extra: bool = False,
) -> Table:
    """Read a CSV or XLSX file's bytes into a :class:`Table`.

    XLSX is recognised by its content (a zip), not its name. Header names are compared
    case-insensitively after trimming. Raises :class:`InvalidInput` when the file is empty,
    unreadable, too large, lacks a required column, repeats a column, or (unless
    ``allow_extra``) has a column that is neither required nor optional. Blank rows are skipped
    but keep their line numbers counted.
    """
    if len(data) > MAX_FILE_BYTES:
        raise _file_error(
            "too_large",
            f"Tệp quá lớn (tối đa {MAX_FILE_BYTES // (1024 * 1024)} MB).",
            f"The file is too large (at most {MAX_FILE_BYTES // (1024 * 1024)} MB).",
        )
    lines = _xlsx_lines(data) if data.startswith(_XLSX_MAGIC) else _csv_lines(data)
    header: list[str] | None = None
    rows: list[Row] = []
    for number, cells in lines:
        if header is None:
            if not any(c.strip() for c in cells):
                continue
            header = [_normalise_header(c) for c in cells]
            _check_header(header, required, optional, allow_extra=allow_extra)
            continue
        if not any(c.strip() for c in cells):
            continue
        values = {
            column: (cells[i].strip() if i < len(cells) else "")
            for i, column in enumerate(header)
            if column
        }
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            values["\x00extra"] = "1"  # more cells than columns: flagged by check_shape
        rows.append(Row(number, values))
    if header is None:
        raise _file_error("empty", "Tệp trống.", "The file is empty.")
    return Table(tuple(c for c in header if c), tuple(rows), digest_bytes(data), name)


def read_path(
    path: Path,
    *,
    required: Sequence[str],
    optional: Sequence[str] = (),
    allow_extra: bool = False,
) -> Table:
    """:func:`read_table` on a file on disk."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _file_error(
            "unreadable", f"Không đọc được tệp {path.name}.", f"Cannot read {path.name}: {exc}"
        ) from exc
    return read_table(
        data, required=required, optional=optional, name=path.name, allow_extra=allow_extra
    )


def _check_header(
    header: list[str], required: Sequence[str], optional: Sequence[str], *, allow_extra: bool
) -> None:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for column in header:
        if not column:
            continue
        if column in seen:
            errors.append(
                FieldError(
                    column,
                    "duplicate_column",
                    f"Cột {column!r} xuất hiện hai lần.",
                    f"Column {column!r} appears twice.",
                )
            )
        seen.add(column)
    for column in required:
        if column not in seen:
            errors.append(
                FieldError(
                    column,
                    "missing_column",
                    f"Thiếu cột bắt buộc {column!r}.",
                    f"Missing required column {column!r}.",
                )
            )
    if not allow_extra:
        known = set(required) | set(optional)
        for column in header:
            if column and column not in known:
                errors.append(
                    FieldError(
                        column,
                        "unknown_column",
                        f"Cột {column!r} không được hỗ trợ (cho phép: {', '.join(sorted(known))}).",
                        f"Unknown column {column!r} (allowed: {', '.join(sorted(known))}).",
                    )
                )
    if errors:
        raise InvalidInput(*errors)


def check_shape(table: Table, report: Report) -> None:
    """Record an error for each row with more cells than the header has columns."""
    for row in table.rows:
        if "\x00extra" in row.values:
            report.add(
                row.line,
                None,
                "extra_cells",
                "Dòng có nhiều ô hơn số cột.",
                "The row has more cells than the header has columns.",
            )


# --- cell parsers: return the value, or record an error and return None -------------------------


def parse_text(
    report: Report, row: Row, column: str, *, required: bool = True, max_length: int = 200
) -> str | None:
    """A text cell; empty is an error when ``required``; longer than ``max_length`` is one."""
    value = row.get(column)
    if not value:
        if required:
            report.add(row.line, column, "required", "Bắt buộc phải có.", "Required.")
            return None
        return ""
    if len(value) > max_length:
        report.add(
            row.line,
            column,
            "too_long",
            f"Dài quá {max_length} ký tự.",
            f"Longer than {max_length} characters.",
        )
        return None
    return value


def parse_int(
    report: Report,
    row: Row,
    column: str,
    *,
    required: bool = True,
    minimum: int = 0,
    maximum: int = 10**9,
) -> int | None:
    """A whole number in ``[minimum, maximum]``; ``1.000`` or ``1,000`` thousands are refused."""
    raw = row.get(column)
    if not raw:
        if required:
            report.add(row.line, column, "required", "Bắt buộc phải có.", "Required.")
        return None
    if not re.fullmatch(r"[+-]?\d+", raw):
        report.add(
            row.line,
            column,
            "not_integer",
            f"{raw!r} không phải số nguyên.",
            f"{raw!r} is not a whole number.",
        )
        return None
    value = int(raw)
    if value < minimum or value > maximum:
        report.add(
            row.line,
            column,
            "out_of_range",
            f"Phải từ {minimum} đến {maximum}.",
            f"Must be between {minimum} and {maximum}.",
        )
        return None
    return value


def parse_share(report: Report, row: Row, column: str, *, required: bool = True) -> float | None:
    """A share in (0, 1], written as ``0.8``, ``80%`` or ``80`` (percent when above 1)."""
    raw = row.get(column).replace(",", ".")
    if not raw:
        if required:
            report.add(row.line, column, "required", "Bắt buộc phải có.", "Required.")
        return None
    percent = raw.endswith("%")
    try:
        value = float(raw.rstrip("%").strip())
    except ValueError:
        value = float("nan")
    if percent or value > 1:
        value /= 100
    if not (0 < value <= 1):
        report.add(
            row.line,
            column,
            "out_of_range",
            "Tỷ lệ phải lớn hơn 0 và không quá 100%.",
            "The share must be above 0 and at most 100%.",
        )
        return None
    return value


def parse_date(
    report: Report,
    row: Row,
    column: str,
    *,
    required: bool = True,
    not_after: dt.date | None = None,
) -> dt.date | None:
    """A date written ``YYYY-MM-DD`` or ``dd/mm/yyyy``; optionally not after ``not_after``."""
    raw = row.get(column)
    if not raw:
        if required:
            report.add(row.line, column, "required", "Bắt buộc phải có.", "Required.")
        return None
    value: dt.date | None = None
    match = _DATE_DMY.match(raw)
    try:
        if match:
            value = dt.date(int(match[3]), int(match[2]), int(match[1]))
        else:
            value = dt.date.fromisoformat(raw[:10]) if len(raw) in (10, 19) else None
    except ValueError:
        value = None
    if value is None:
        report.add(
            row.line,
            column,
            "bad_date",
            f"{raw!r} không phải ngày (dd/mm/yyyy hoặc YYYY-MM-DD).",
            f"{raw!r} is not a date (dd/mm/yyyy or YYYY-MM-DD).",
        )
        return None
    if not_after is not None and value > not_after:
        report.add(
            row.line,
            column,
            "future_date",
            "Ngày không được ở tương lai.",
            "The date may not be in the future.",
        )
        return None
    return value


def parse_choice(
    report: Report, row: Row, column: str, choices: Iterable[str], *, required: bool = True
) -> str | None:
    """A cell that must be one of ``choices`` (compared case-insensitively)."""
    allowed = list(choices)
    raw = row.get(column).lower()
    if not raw:
        if required:
            report.add(row.line, column, "required", "Bắt buộc phải có.", "Required.")
            return None
        return ""
    if raw not in allowed:
        report.add(
            row.line,
            column,
            "unknown_value",
            f"{raw!r} không hợp lệ (cho phép: {', '.join(allowed)}).",
            f"{raw!r} is not allowed (allowed: {', '.join(allowed)}).",
        )
        return None
    return raw


def check_unique(report: Report, rows: Iterable[Row], key: Callable[[Row], object]) -> None:
    """Record an error for every row whose key repeats an earlier row's in the same file."""
    first: dict[object, int] = {}
    for row in rows:
        k = key(row)
        if k in first:
            report.add(
                row.line,
                None,
                "duplicate_row",
                f"Trùng với dòng {first[k]}.",
                f"Duplicates line {first[k]}.",
            )
        else:
            first[k] = row.line


def write_skipped(path: Path, table: Table, report: Report) -> int:
    """Write the rows with errors to ``path`` as CSV (UTF-8 with BOM, for spreadsheet programs).

    Each row keeps its cells and gains ``line`` and ``errors`` (both languages) columns, so the
    file can be fixed and imported again. Returns the number of rows written.
    """
    bad = report.bad_lines
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", *table.columns, "errors"])
    written = 0
    for row in table.rows:
        if row.line not in bad:
            continue
        messages = "; ".join(
            f"{e.column or '-'}: {e.message_vi} / {e.message_en}"
            for e in report.errors_for(row.line)
        )
        writer.writerow([row.line, *(row.get(c) for c in table.columns), messages])
        written += 1
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    report.skipped_file = path
    return written


def skipped_path_for(source: Path) -> Path:
    """The default place for skipped rows: next to the source, ``NAME.skipped.csv``."""
    return source.with_name(f"{source.stem}.skipped.csv")


@contextmanager
def rich_progress(description: str, *, console: Any = None) -> Iterator[ProgressHook]:
    """A Rich progress bar as a :data:`ProgressHook` (transient; quiet when not a terminal)."""
    from rich.progress import Progress

    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def hook(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield hook


def with_progress(
    items: Sequence[Any], hook: ProgressHook | None, *, every: int = 200
) -> Iterator[Any]:
    """Yield ``items``, calling ``hook(done, total)`` every ``every`` items and at the end."""
    total = len(items)
    for done, item in enumerate(items):
        if hook is not None and done % every == 0:
            hook(done, total)
        yield item
    if hook is not None:
        hook(total, total)
