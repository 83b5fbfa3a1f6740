"""The province overview: the unit tree with population and households, drill-down by unit."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from safezone.units import service
from safezone.web.deps import OptionalUser, SessionDep
from safezone.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/units", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: OptionalUser) -> HTMLResponse:
    """The top of the tree (or, for a logged-in staff member, their own unit)."""
    roots = service.children(session, None)
    if user is not None:
        return unit_page(request, session, user.unit_code)
    if len(roots) == 1:
        return unit_page(request, session, roots[0].code)
    rows = service.children_with_totals(session, None)
    return render(
        request, "units/overview.html", {"unit": None, "rows": rows, "trail": [], "totals": None}
    )


@router.get("/units/{code}", response_class=HTMLResponse)
def unit_detail(
    request: Request, session: SessionDep, code: str, user: OptionalUser
) -> HTMLResponse:
    """One unit, its totals and its children."""
    return unit_page(request, session, code)


def unit_page(request: Request, session: SessionDep, code: str) -> HTMLResponse:
    """Render one unit with its children and their totals."""
    unit = service.get_unit(session, code)
    return render(
        request,
        "units/overview.html",
        {
            "unit": unit,
            "trail": service.ancestors(session, unit),
            "totals": service.totals(session, code),
            "rows": service.children_with_totals(session, code),
            "levels": service.count_by_level(session, code),
        },
    )
