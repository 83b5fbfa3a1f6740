"""What the signed session cookie holds: the CSRF token, the server-side session's id, notices.

The cookie is signed (so it cannot be forged) but readable; it holds no user id: only the random
id of a row in ``user_sessions`` (see :mod:`safezone.accounts.sessions`), so ending that row
ends the login for every copy of the cookie.
"""

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


SESSION_ID = "sid"
FAILED_LOGINS = "failed_logins"


def login_session(request: Request, session_id: str) -> None:
    """Start a fresh cookie for a server-side session (a new CSRF token defeats fixation)."""
    request.session.clear()
    request.session[SESSION_ID] = session_id
    request.session["csrf"] = secrets.token_urlsafe(32)


def session_id(request: Request) -> str | None:
    """The server-side session id the cookie carries, if any."""
    if "session" not in request.scope:
        return None
    value = request.session.get(SESSION_ID)
    return value if isinstance(value, str) and value else None


def logout_session(request: Request) -> None:
    """Forget the session (the language cookie stays)."""
    request.session.clear()


def note_failed_logins(request: Request, count: int) -> None:
    """Tell the next page of this session how many logins failed before this one (once)."""
    request.session[FAILED_LOGINS] = count


def pop_failed_logins(request: Request) -> int:
    """The pending count of failed logins to report, removed so it shows once."""
    if "session" not in request.scope:
        return 0
    value = request.session.pop(FAILED_LOGINS, 0)
    return value if isinstance(value, int) else 0
