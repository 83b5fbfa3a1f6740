"""Errors that name the field and say what is wrong, in Vietnamese and English.

Services raise these; the web layer turns them into ``{"errors": [...]}`` JSON or a page, and
the CLI prints them. They carry no HTTP knowledge beyond a hint of the matching status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Self


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field (``field`` is None for the request as a whole)."""

    field: str | None
    code: str
    message_vi: str
    message_en: str

    def as_dict(self) -> dict[str, str | None]:
        """The public JSON shape."""
        return asdict(self)


class SafezoneError(Exception):
    """A problem the caller can fix; carries one or more FieldErrors."""

    status_hint = 400

    def __init__(self, *errors: FieldError) -> None:
        if not errors:
            raise ValueError("at least one FieldError is required")
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field or '-'}: {e.message_en}" for e in errors))

    @classmethod
    def single(cls, field: str | None, code: str, message_vi: str, message_en: str) -> Self:
        """Shorthand for one error."""
        return cls(FieldError(field, code, message_vi, message_en))


class NotFound(SafezoneError):
    """The object does not exist, or is outside the caller's scope (the two look the same)."""

    status_hint = 404


class InvalidInput(SafezoneError):
    """The input fails validation; nothing was stored."""

    status_hint = 422


class Forbidden(SafezoneError):
    """The caller may not do this."""

    status_hint = 403


class Conflict(SafezoneError):
    """The request conflicts with the current state (duplicate, already used)."""

    status_hint = 409


#: Vietnamese for pydantic's error types; the English comes from pydantic itself.
PYDANTIC_VI = {
    "missing": "Thiếu trường bắt buộc.",
    "string_too_long": "Quá dài.",
    "string_too_short": "Quá ngắn.",
    "string_type": "Phải là chuỗi ký tự.",
    "int_parsing": "Phải là số nguyên.",
    "int_type": "Phải là số nguyên.",
    "int_from_float": "Phải là số nguyên.",
    "bool_parsing": "Phải là đúng/sai.",
    "bool_type": "Phải là đúng/sai.",
    "date_from_datetime_parsing": "Ngày phải theo dạng YYYY-MM-DD.",
    "date_from_datetime_inexact": "Ngày phải theo dạng YYYY-MM-DD.",
    "date_parsing": "Ngày phải theo dạng YYYY-MM-DD.",
    "date_type": "Ngày phải theo dạng YYYY-MM-DD.",
    "greater_than_equal": "Giá trị quá nhỏ.",
    "less_than_equal": "Giá trị quá lớn.",
    "literal_error": "Giá trị không nằm trong danh sách cho phép.",
    "enum": "Giá trị không nằm trong danh sách cho phép.",
    "extra_forbidden": "Trường không được phép.",
    "model_type": "Phải là một đối tượng JSON.",
    "model_attributes_type": "Phải là một đối tượng JSON.",
    "dict_type": "Phải là một đối tượng JSON.",
    "list_type": "Phải là một danh sách.",
    "too_long": "Quá nhiều phần tử.",
    "too_short": "Cần ít nhất một giá trị.",
    "json_invalid": "JSON không hợp lệ.",
    "json_type": "JSON không hợp lệ.",
    "value_error": "Giá trị không hợp lệ.",
}
_REQUEST_PARTS = frozenset({"body", "query", "path", "header", "form"})


def from_pydantic(
    errors: Iterable[Mapping[str, Any]], *, strip_request_parts: bool = False
) -> list[FieldError]:
    """Pydantic's error dicts as FieldErrors in both languages (``travel.0.from`` names).

    A validator may name the field and give the Vietnamese itself through the error's ``ctx``
    (``field``, ``message_vi``). ``strip_request_parts`` drops FastAPI's ``body``/``query``/...
    location prefix.
    """
    result: list[FieldError] = []
    for item in errors:
        ctx = item.get("ctx") or {}
        kind = str(item.get("type", "value_error"))
        parts = [str(part) for part in item.get("loc", ())]
        if strip_request_parts:
            parts = [part for part in parts if part not in _REQUEST_PARTS]
        name = str(ctx.get("field") or ".".join(parts) or "body")
        vi = ctx.get("message_vi") or PYDANTIC_VI.get(kind, PYDANTIC_VI["value_error"])
        result.append(FieldError(name, kind, str(vi), str(item.get("msg", "Invalid value"))))
    return result
