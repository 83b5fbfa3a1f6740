"""Session-bound CSRF tokens and the session's user id."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from safezone.errors import Forbidden

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    if "session" not in request.scope:
        return ""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return str(token)


async def check_csrf(request: Request) -> None:
    """Reject a state-changing request whose form field or header lacks the session's token."""
    expected = request.session.get("csrf") if "session" in request.scope else None
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()  # Starlette caches the parsed form for the route
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden.single(
            CSRF_FIELD,
            "csrf_failed",
            "Phiên làm việc đã hết hạn hoặc biểu mẫu không hợp lệ; hãy tải lại trang và thử lại.",
            "The session expired or the form is not valid; reload the page and try again.",
        )


def login_session(request: Request, user_id: int) -> None:
    """Start a fresh session for ``user_id`` (a new CSRF token defeats session fixation)."""
    request.session.clear()
    request.session["uid"] = user_id
    request.session["csrf"] = secrets.token_urlsafe(32)


def logout_session(request: Request) -> None:
    """Forget the session's user (the language cookie stays)."""
    request.session.clear()
