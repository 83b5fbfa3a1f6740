"""The page registry: every HTML page of the app, with the role that uses it.

``tests/browser/test_pages.py`` visits each entry in Vietnamese and English, at 360x740 and
1280x800, logged in as its role, on seeded data, and fails on console errors, failed requests,
sideways overflow, undrawn charts and serious or critical axe-core violations.
``tests/browser/test_page_registry.py`` fails when ``app.routes`` has an HTML page that is not
listed here, so a page added later joins the checks by adding one line.

The registry lives with the tests, not in ``src``: what it holds is test knowledge (which role to
log in as, which seeded object fills a path parameter); the app itself never needs it.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

#: Roles that use pages, as in ``safezone.accounts.models.Role``; ``None`` is a citizen or anyone
#: without an account.
ADMIN, OFFICER, VERIFIER = "admin", "health_officer", "verifier"
CAMPAIGN, ORG_REPORTER = "campaign_officer", "org_reporter"
VOLUNTEER = "volunteer"


@dataclass(frozen=True)
class Page:
    """One page to check. ``route`` is the path template exactly as in ``app.routes``."""

    route: str
    role: str | None
    #: The page draws charts: each must end up holding plotly's SVG.
    charts: bool = False
    #: Added to the URL; ``{placeholders}`` are filled from the seeded data like the route's.
    query: str = ""
    #: Distinguishes two entries of one route (test ids).
    variant: str = ""
    #: A CSS selector that appears once the page has finished drawing itself with JavaScript.
    ready: str = ""
    #: axe-core rules not enforced on this page: only for third-party UI we cannot change
    #: (say which and why next to the entry).
    axe_exempt: tuple[str, ...] = ()
    #: (placeholder, seeded value): fill a path parameter from another seeded value, for two
    #: entries of one route showing different objects (a run and a plan).
    fill: tuple[tuple[str, str], ...] = ()

    def url(self, values: Mapping[str, object]) -> str:
        """The path and query of this page, with the seeded values filled in."""
        values = {**values, **{name: values[source] for name, source in self.fill}}
        return self.route.format(**values) + self.query.format(**values)

    @property
    def name(self) -> str:
        """A short id for test names and screenshot files."""
        base = self.route.strip("/").replace("/", "-").replace("{", "").replace("}", "") or "home"
        who = self.role or "public"
        return "-".join(part for part in (base, self.variant, who) if part)


#: Every HTML page. Path parameters are filled from the seeded data by name: ``code`` (a unit),
#: ``token`` (a citizen's update link), ``declaration_id``, ``organisation_id``; ``pass_token``
#: for queries; ``msg_campaign_id`` (a send) and ``link_token`` (an install-confirmation link);
#: ``sim_run_id``, ``sim_plan_id`` (finished simulations) and ``sim_queued_id``, through ``fill``.
PAGES: tuple[Page, ...] = (
    Page("/login", None),
    Page("/account/password", OFFICER),
    Page("/units", None),
    Page("/units", ADMIN),
    Page("/units/{code}", None),
    Page("/declare", None),
    Page("/declare", None, query="?unit1={district}&unit2={commune}", variant="questions"),
    Page("/declare/u/{token}", None),
    Page("/declare/u/{token}/edit", None),
    Page("/pass/verify", None),
    Page("/pass/verify", OFFICER, query="?token={pass_token}", variant="verdict"),
    Page("/declarations", OFFICER),
    Page("/declarations", OFFICER, query="?risk=high", variant="filtered"),
    Page("/declarations/dashboard", OFFICER, charts=True),
    Page("/declarations/{declaration_id}", OFFICER),
    Page("/exposure/codes", VERIFIER),
    Page("/exposure/stats", VERIFIER, charts=True),
    Page("/exposure/stats", OFFICER, charts=True),
    Page("/messaging", CAMPAIGN, charts=True),
    Page("/messaging/new", CAMPAIGN),
    Page("/messaging/campaigns/{msg_campaign_id}", CAMPAIGN, charts=True),
    Page("/messaging/templates", CAMPAIGN),
    Page("/messaging/contacts", CAMPAIGN),
    Page("/messaging/contacts/import", CAMPAIGN),
    Page("/i/{link_token}", None),
    Page("/campaign", CAMPAIGN, charts=True),  # a choropleth: the seed gives boundaries
    Page("/campaign", ADMIN, query="?unit=54", variant="province", charts=True),  # sorted bars
    Page("/campaign", OFFICER, query="?unit={commune}", variant="commune", charts=True),
    Page("/campaign/rankings", CAMPAIGN),
    Page("/campaign/behind", CAMPAIGN),
    Page("/campaign/targets", CAMPAIGN),
    Page("/campaign/apps", ADMIN),
    Page("/campaign/organisations", CAMPAIGN),
    Page("/campaign/organisations", ORG_REPORTER, variant="own"),
    Page("/campaign/organisations/{organisation_id}", ORG_REPORTER),
    Page("/campaign/materials/{code}", ADMIN),
    Page("/campaign/materials/{code}", OFFICER, variant="read-only"),
    Page("/volunteer/", VOLUNTEER, ready="#walk-list li[data-household]"),
    Page("/campaign/volunteers", CAMPAIGN, charts=True),
    Page("/campaign/volunteers", VOLUNTEER, charts=True),
    Page("/campaign/households/import", CAMPAIGN),
    Page("/campaign/teams", CAMPAIGN),
    # The simulator: no runs in Tuy Hoà's scope; the province's finished run and plan.
    Page("/sim", CAMPAIGN, variant="no-runs"),
    Page("/sim", ADMIN),
    Page("/sim/runs/{run_id}", ADMIN, charts=True, fill=(("run_id", "sim_run_id"),)),
    Page("/sim/runs/{run_id}", ADMIN, variant="queued", fill=(("run_id", "sim_queued_id"),)),
    Page(
        "/sim/runs/{run_id}", ADMIN, charts=True, variant="plan", fill=(("run_id", "sim_plan_id"),)
    ),
    # Swagger UI nests its "copy path" button inside the clickable operation summary
    # (nested-interactive); our own style sheet fixes its colour contrast.
    Page("/docs", None, ready=".opblock", axe_exempt=("nested-interactive",)),
)


def _returns_html(endpoint: typing.Callable[..., object]) -> bool:
    try:
        returned = typing.get_type_hints(endpoint).get("return")
    except (NameError, TypeError):  # unresolvable annotations: judge by response_class alone
        return False
    return inspect.isclass(returned) and issubclass(returned, HTMLResponse)


def routes(app: FastAPI) -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every route, including those of included routers.

    FastAPI 0.16x keeps included routers as nested objects in ``app.routes``; its
    ``iter_route_contexts`` flattens them. Older versions list the routes themselves.
    """
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except ImportError:  # FastAPI < 0.16x
        for route in app.routes:
            yield getattr(route, "path", ""), route
        return
    for context in iter_route_contexts(app.routes):
        yield context.path or "", context.original_route


def html_pages(app: FastAPI) -> set[str]:
    """Path templates of every GET route that answers with an HTML page."""
    found = set()
    for path, route in routes(app):
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if isinstance(route, APIRoute):
            declared = route.response_class
            declared_html = inspect.isclass(declared) and issubclass(declared, HTMLResponse)
            if declared_html or _returns_html(route.endpoint):
                found.add(path)
        elif _returns_html(route.endpoint):
            # Plain Starlette routes (FastAPI's own /docs and /redoc pages are of this kind).
            found.add(path)
    return found


def unregistered(app: FastAPI) -> list[str]:
    """HTML pages of ``app`` that have no registry entry (each needs one)."""
    return sorted(html_pages(app) - {page.route for page in PAGES})
