"""Rows from an uploaded CSV or XLSX file, each with its line number, for validation."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass

from safezone.errors import FieldError, InvalidInput

MAX_ROWS = 200_000


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: ``line`` as a spreadsheet user counts (the header is line 1)."""

    line: int
    values: dict[str, str]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # spreadsheets turn 0905123456 into 905123456.0
    return str(value).strip()


def _rows(header: list[str], body: Iterator[list[object]]) -> list[Row]:
    names = [name.strip().lower() for name in header]
    rows: list[Row] = []
    for offset, cells in enumerate(body, start=2):
        values = {name: _cell(cells[i]) if i < len(cells) else "" for i, name in enumerate(names)}
        if not any(values.values()):
            continue  # blank lines are not rows
        rows.append(Row(offset, values))
        if len(rows) > MAX_ROWS:
            raise InvalidInput.single(
                "file",
                "too_many_rows",
                f"Tệp có quá {MAX_ROWS} dòng.",
                f"The file has more than {MAX_ROWS} rows.",
            )
    return rows


def read_table(data: bytes, filename: str) -> list[Row]:
    """The rows of a CSV (UTF-8, with or without BOM; comma or semicolon) or XLSX file."""
    if filename.lower().endswith(".xlsx"):
        return _read_xlsx(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput.single(
            "file",
            "encoding",
            "Tệp CSV phải mã hóa UTF-8.",
            "The CSV file must be UTF-8 encoded.",
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise InvalidInput.single("file", "empty", "Tệp trống.", "The file is empty.")
    return _rows(header, iter([list(r) for r in reader]))


def _read_xlsx(data: bytes) -> list[Row]:
    from openpyxl import load_workbook  # imported late: only XLSX uploads need it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many types for a broken file
        raise InvalidInput(
            FieldError("file", "not_xlsx", "Không đọc được tệp XLSX.", "Not a readable XLSX file.")
        ) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        raise InvalidInput.single("file", "empty", "Tệp trống.", "The file is empty.")
    return _rows([_cell(h) for h in header], (list(r) for r in rows))
