"""Turn errors into JSON ``{"errors": [...]}`` for API clients or a translated page for people."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from safezone.errors import FieldError, SafezoneError, from_pydantic
from safezone.web import i18n
from safezone.web.deps import LoginRequired
from safezone.web.templating import render

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


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    """FastAPI's validation errors as FieldErrors in both languages."""
    return from_pydantic(exc.errors(), strip_request_parts=True)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(SafezoneError)
    async def _domain_error(request: Request, exc: SafezoneError) -> Response:
        if isinstance(exc, LoginRequired) and not wants_json(request):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return error_response(request, exc.errors, exc.status_hint)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        if any(error["loc"][:1] == ("path",) for error in exc.errors()):
            # A path that names no possible object (an id of 0, -1, 2**63, "abc") is answered
            # like an unknown id: the same 404, whatever else was wrong with the request.
            vi, en = _STATUS_TEXT[404]
            return error_response(request, [FieldError(None, "not_found", vi, en)], 404)
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
