"""Turn errors into JSON ``{"errors": [...]}`` for API clients or a translated page for people."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from safezone.errors import FieldError, SafezoneError
from safezone.web import i18n
from safezone.web.deps import LoginRequired
from safezone.web.templating import render

#: Vietnamese for pydantic's error types; the English comes from pydantic itself.
_PYDANTIC_VI = {
    "missing": "Thiếu trường bắt buộc.",
    "string_too_long": "Quá dài.",
    "string_too_short": "Quá ngắn.",
    "string_type": "Phải là chuỗi ký tự.",
    "int_parsing": "Phải là số nguyên.",
    "int_type": "Phải là số nguyên.",
    "bool_parsing": "Phải là đúng/sai.",
    "bool_type": "Phải là đúng/sai.",
    "date_from_datetime_parsing": "Ngày phải theo dạng YYYY-MM-DD.",
    "date_parsing": "Ngày phải theo dạng YYYY-MM-DD.",
    "date_type": "Ngày phải theo dạng YYYY-MM-DD.",
    "greater_than_equal": "Giá trị quá nhỏ.",
    "less_than_equal": "Giá trị quá lớn.",
    "literal_error": "Giá trị không nằm trong danh sách cho phép.",
    "enum": "Giá trị không nằm trong danh sách cho phép.",
    "extra_forbidden": "Trường không được phép.",
    "json_invalid": "JSON không hợp lệ.",
    "model_attributes_type": "Sai kiểu dữ liệu.",
    "dict_type": "Phải là một đối tượng JSON.",
    "list_type": "Phải là một danh sách.",
    "too_long": "Quá nhiều phần tử.",
    "value_error": "Giá trị không hợp lệ.",
}
_STATUS_TEXT = {
    400: ("Yêu cầu không hợp lệ.", "Bad request."),
    404: ("Không tìm thấy.", "Not found."),
    405: ("Phương thức không được hỗ trợ.", "Method not allowed."),
    413: ("Dữ liệu gửi lên quá lớn.", "Request body too large."),
    415: ("Kiểu nội dung không được hỗ trợ.", "Unsupported content type."),
}


def wants_json(request: Request) -> bool:
    """API paths and clients that do not ask for HTML get JSON."""
    if request.url.path.startswith(("/api/", "/v1/", "/exposure/")):
        return True
    return "text/html" not in request.headers.get("accept", "")


def error_response(request: Request, errors: list[FieldError], status: int) -> Response:
    """JSON for machines, a page in the reader's language for people."""
    if wants_json(request):
        return JSONResponse({"errors": [e.as_dict() for e in errors]}, status_code=status)
    messages = [e.message_vi if i18n.get_locale() == "vi" else e.message_en for e in errors]
    return render(
        request, "error.html", {"status": status, "messages": messages}, status_code=status
    )


def field_name(location: tuple[Any, ...]) -> str:
    """``("body", "address", "unit_code")`` -> ``"address.unit_code"``."""
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """Pydantic's errors as FieldErrors in both languages."""
    result = []
    for error in exc.errors():
        kind = str(error.get("type", "value_error"))
        message_en = str(error.get("msg", "Invalid value"))
        result.append(
            FieldError(
                field_name(tuple(error.get("loc", ()))),
                kind,
                _PYDANTIC_VI.get(kind, "Giá trị không hợp lệ."),
                message_en,
            )
        )
    return result


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(SafezoneError)
    async def _domain_error(request: Request, exc: SafezoneError) -> Response:
        if isinstance(exc, LoginRequired) and not wants_json(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return error_response(request, exc.errors, exc.status_hint)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, validation_errors(exc), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        vi, en = _STATUS_TEXT.get(exc.status_code, ("Lỗi.", str(exc.detail)))
        response = error_response(
            request, [FieldError(None, f"http_{exc.status_code}", vi, en)], exc.status_code
        )
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
