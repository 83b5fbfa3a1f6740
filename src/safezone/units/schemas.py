"""Public shapes of units."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from safezone.units.models import Unit
from safezone.units.service import Totals


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
