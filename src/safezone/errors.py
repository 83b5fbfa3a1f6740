"""Errors that name the field and say what is wrong, in Vietnamese and English.

Services raise these; the web layer turns them into ``{"errors": [...]}`` JSON or a page, and
the CLI prints them. They carry no HTTP knowledge beyond a hint of the matching status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Self


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
