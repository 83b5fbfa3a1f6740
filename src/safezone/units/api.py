"""Public JSON routes for the unit tree (unit data is not personal)."""

from __future__ import annotations

from fastapi import APIRouter, Query

from safezone.units import service
from safezone.units.schemas import UnitOut, UnitWithTotals
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


@router.get("/{code}")
def get_unit(session: SessionDep, code: str) -> UnitWithTotals:
    """One unit with its totals (population and households summed over its communes)."""
    unit = service.get_unit(session, code)
    return UnitWithTotals.build(unit, service.totals(session, code))
