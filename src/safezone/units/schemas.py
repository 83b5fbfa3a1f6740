"""Public shapes of units."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from safezone.units.models import Unit
from safezone.units.names import display_name
from safezone.units.service import Match, Totals


class UnitOut(BaseModel):
    """A unit as the API lists it."""

    code: str
    name: str
    type: str
    level: str
    parent_code: str | None
    population: int | None
    households: int | None

    @classmethod
    def of(cls, unit: Unit) -> UnitOut:
        """From the ORM row."""
        return cls(
            code=unit.code,
            name=unit.name,
            type=unit.type,
            level=unit.level,
            parent_code=unit.parent_code,
            population=unit.population,
            households=unit.households,
        )


class TotalsOut(BaseModel):
    """Sums over the communes of a subtree."""

    population: int
    urban_population: int
    households: int
    communes: int


class UnitWithTotals(UnitOut):
    """A unit with its roll-up totals and validity."""

    urban_population: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    successor_codes: list[str]
    totals: TotalsOut

    @classmethod
    def build(cls, unit: Unit, totals: Totals) -> UnitWithTotals:
        """From the ORM row and its totals."""
        base = UnitOut.of(unit).model_dump()
        return cls(
            **base,
            urban_population=unit.urban_population,
            valid_from=unit.valid_from,
            valid_to=unit.valid_to,
            successor_codes=[c.strip() for c in unit.successor_codes.split(";") if c.strip()],
            totals=TotalsOut(
                population=totals.population,
                urban_population=totals.urban_population,
                households=totals.households,
                communes=totals.communes,
            ),
        )


class UnitMatchOut(BaseModel):
    """A unit found by name: what a picker shows and the code it sends."""

    code: str
    name: str
    display_name: str
    label: str
    type: str
    level: str
    parent_code: str | None
    parent_name: str | None

    @classmethod
    def of(cls, match: Match) -> UnitMatchOut:
        """From a search match."""
        unit = match.unit
        return cls(
            code=unit.code,
            name=unit.name,
            display_name=display_name(unit),
            label=match.label,
            type=unit.type,
            level=unit.level,
            parent_code=unit.parent_code,
            parent_name=display_name(match.parent) if match.parent is not None else None,
        )
