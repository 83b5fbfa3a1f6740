"""Dates typed into HTML forms: dd/mm/yyyy as people in Vietnam write them, or yyyy-mm-dd.

The pages show dates as dd/mm/yyyy (``safezone.web.i18n.format_date``) and their date fields
are plain text inputs with that placeholder, so a browser's own date picker (mm/dd/yyyy in a
US-English browser) never decides the order. JSON APIs keep ISO dates.
"""

from __future__ import annotations

import datetime as dt
import re

from safezone.errors import FieldError, InvalidInput

#: What the date inputs show before anything is typed.
PLACEHOLDER = "dd/mm/yyyy"
#: Pydantic's error types for a text that is no date: a form reworded them with date_error.
SCHEMA_DATE_ERRORS = frozenset(
    {"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"}
)
# Day first with "/", "." or "-" between the parts (1 or 2 digits for day and month).
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def date_error(field: str) -> FieldError:
    """The error for a date field that holds no real date."""
    return FieldError(
        field,
        "invalid_date",
        "Ngày không hợp lệ: hãy nhập theo dạng dd/mm/yyyy, ví dụ 30/04/2021.",
        "Not a valid date: enter it as dd/mm/yyyy, e.g. 30/04/2021.",
    )


def try_parse_date(value: str | None) -> dt.date | None:
    """The date in ``value`` (dd/mm/yyyy or yyyy-mm-dd), or None when it holds none."""
    text = (value or "").strip()
    if match := _DAY_FIRST.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:  # 31/02/2021 and the like
        return None


def parse_date(value: str | None, field: str) -> dt.date | None:
    """The date typed into ``field``; None when it was left empty.

    Raises InvalidInput naming ``field`` (in Vietnamese and English) when the text is not a
    date in either accepted form.
    """
    if not (value or "").strip():
        return None
    parsed = try_parse_date(value)
    if parsed is None:
        raise InvalidInput(date_error(field))
    return parsed


def parse_dates(values: dict[str, str | None]) -> dict[str, dt.date | None]:
    """Several date fields at once: every bad one is reported together, by field name."""
    parsed: dict[str, dt.date | None] = {}
    errors: list[FieldError] = []
    for field, value in values.items():
        if (value or "").strip() and try_parse_date(value) is None:
            errors.append(date_error(field))
        else:
            parsed[field] = try_parse_date(value)
    if errors:
        raise InvalidInput(*errors)
    return parsed


def iso_or_raw(value: str | None) -> str | None:
    """For a form that feeds a schema: the ISO text of a date typed either way, else the text
    unchanged (so the schema's own validation names the field)."""
    if value is None:
        return None
    parsed = try_parse_date(value)
    return parsed.isoformat() if parsed is not None else value


def form_value(value: dt.date | str | None) -> str:
    """How a date goes back into a text input: dd/mm/yyyy (unparseable text is kept as typed)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        parsed = try_parse_date(value)
        if parsed is None:
            return value
        value = parsed
    return value.strftime("%d/%m/%Y")
