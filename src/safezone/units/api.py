"""Public JSON routes for the unit tree (unit data is not personal)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from safezone.units import service
from safezone.units.schemas import UnitMatchOut, UnitOut, UnitWithTotals
from safezone.web.deps import SessionDep

router = APIRouter(prefix="/api/v1/units", tags=["units"])


@router.get("")
def list_children(
    session: SessionDep,
    parent: str | None = Query(
        default=None, max_length=16, description="Parent unit code; omit for the top of the tree"
    ),
) -> list[UnitOut]:
    """The units directly under ``parent``."""
    return [UnitOut.of(unit) for unit in service.children(session, parent)]


@router.get("/search")
def search(
    session: SessionDep,
    q: Annotated[str, Query(max_length=100, description="Name or code; diacritics optional")] = "",
    within: Annotated[
        str | None, Query(max_length=16, description="Only this unit's subtree (itself included)")
    ] = None,
    level: Annotated[
        list[Literal["province", "district", "commune", "village"]] | None,
        Query(description="Only these levels (repeat the parameter for several)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_SEARCH_RESULTS)] = 20,
) -> list[UnitMatchOut]:
    """Units whose name matches ``q`` with or without diacritics ("son hoa" finds Sơn Hòa),
    best first, for the unit pickers of the staff pages."""
    matches = service.search(session, q, within=within or None, levels=level, limit=limit)
    return [UnitMatchOut.of(match) for match in matches]


@router.get("/{code}")
def get_unit(session: SessionDep, code: str) -> UnitWithTotals:
    """One unit with its totals (population and households summed over its communes)."""
    unit = service.get_unit(session, code)
    return UnitWithTotals.build(unit, service.totals(session, code))
