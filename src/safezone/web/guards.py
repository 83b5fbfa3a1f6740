"""Checks every request passes before any route runs.

:func:`refuse_nul`: no field of ours can mean a NUL character (U+0000), and PostgreSQL text
refuses it outright (a 500 where SQLite would quietly store it). Refusing it at the edge gives
the same clear answer on both databases, naming the field, before anything is written.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from safezone.errors import FieldError, InvalidInput, NotFound

NUL = "\x00"

#: Routes whose query string carries bytes, not text, and which decode it themselves (Kannel's
#: MO callback sends UCS-2 text URL-encoded byte by byte: NULs are part of every character).
_RAW_QUERY_ROUTES: set[str] = set()


def allow_raw_query(path: str) -> None:
    """Exempt the route at ``path`` (its template, e.g. ``/api/v1/x/{id}``) from the query
    check; called by the module that defines the route."""
    _RAW_QUERY_ROUTES.add(path)


def _nul_error(field: str) -> FieldError:
    return FieldError(
        field,
        "nul_character",
        f"Trường {field!r} chứa ký tự NUL (U+0000), không được phép.",
        f"The field {field!r} contains a NUL character (U+0000), which is not allowed.",
    )


def _first_nul(value: Any, path: str) -> str | None:
    """The dotted path of the first string (value or key) in ``value`` holding a NUL."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                return inner
            found = _first_nul(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


async def refuse_nul(request: Request) -> None:
    """Refuse a NUL character in the path (404, like any id that names nothing), the query or
    a JSON body (422 naming the field)."""
    for name, value in request.path_params.items():
        if NUL in str(value):
            raise NotFound(_nul_error(name))
    route = request.scope.get("route")
    raw_query = getattr(route, "path", None) in _RAW_QUERY_ROUTES
    for name, value in request.query_params.multi_items():
        if not raw_query and (NUL in name or NUL in value):
            raise InvalidInput(_nul_error(name.replace(NUL, "")))
    if not request.headers.get("content-type", "").startswith("application/json"):
        return
    body = await request.body()  # cached by Starlette: the route reads the same bytes
    if b"\\u0000" not in body.lower():
        return
    try:
        data = json.loads(body)
    except ValueError:
        return  # not JSON at all: the route's own validation says so
    field = _first_nul(data, "")
    if field is not None:
        raise InvalidInput(_nul_error(field or "body"))
