"""Jinja2 templates of every domain (each package's ``templates/`` folder) and a render helper."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from safezone.units.names import display_name
from safezone.web import dates, i18n
from safezone.web.security import csrf_token, pop_failed_logins

_PACKAGE = Path(__file__).resolve().parent.parent
# web/templates first, then each domain's folder; templates are named "<domain>/<page>.html".
_DIRS = [
    _PACKAGE / "web" / "templates",
    # Subpackages (campaign/materials) keep their own folder too.
    *sorted(path for path in _PACKAGE.glob("**/templates") if path.parent.name != "web"),
]

environment = Environment(
    loader=FileSystemLoader([str(path) for path in _DIRS]),
    autoescape=select_autoescape(["html", "xml"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
    i18n.gettext, i18n.ngettext, newstyle=True
)
# Formats in the reader's language: dates dd/mm/yyyy, times in Vietnam (Asia/Ho_Chi_Minh).
environment.filters["number"] = i18n.format_number
environment.filters["date"] = i18n.format_date
environment.filters["datetime"] = i18n.format_datetime
environment.filters["time"] = i18n.format_time
environment.filters["date_input"] = dates.form_value
environment.filters["unit_name"] = display_name
environment.globals["DATE_PLACEHOLDER"] = dates.PLACEHOLDER
_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bnonce=)")


@pass_context
def _with_nonce(context: Context, html: str) -> Markup:
    """Trusted HTML (e.g. a plotly figure) whose inline ``<script>`` tags get this response's
    CSP nonce, so the page needs no 'unsafe-inline'."""
    nonce = escape(context.get("csp_nonce", ""))
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{nonce}"', str(html)))  # noqa: S704 - trusted


environment.filters["with_nonce"] = _with_nonce
templates = Jinja2Templates(env=environment)


def _notice(request: Request) -> str | None:
    # The one session notice so far: failed logins since the user's previous login.
    count = pop_failed_logins(request)
    if not count:
        return None
    return i18n.ngettext(
        "%(num)d failed login attempt since your last login.",
        "%(num)d failed login attempts since your last login.",
        count,
    ) % {"num": count}


def csp_nonce(request: Request) -> str:
    """This response's Content-Security-Policy nonce (for the rare inline ``<script>``)."""
    return str(request.scope.get("state", {}).get("csp_nonce", ""))


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    """Render a page with what every page needs: user, CSRF token, language."""
    base = {
        "user": getattr(request.state, "user", None),
        "csrf_token": csrf_token(request),
        "lang": i18n.get_locale(),
        "locales": i18n.LOCALES,
        "csp_nonce": csp_nonce(request),
        "notice": _notice(request),
    }
    return templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
