"""Unit boundaries (GeoJSON polygons), for maps: imported from a FeatureCollection.

``safezone units boundaries import FILE.geojson`` attaches each feature to the unit named by its
``code`` property (or ``ma``/``unit_code``). A page draws a choropleth where its units have
boundaries, and a sorted bar chart where they have none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safezone.db.base import Base
from safezone.errors import FieldError, InvalidInput
from safezone.units.models import Unit

CODE_PROPERTIES = ("code", "unit_code", "ma")
GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
MAX_FEATURES = 20_000


class UnitBoundary(Base):
    """A unit's outline as a GeoJSON geometry (text: both databases store it alike)."""

    __tablename__ = "unit_boundaries"

    unit_code: Mapped[str] = mapped_column(
        String(16), ForeignKey("units.code", ondelete="CASCADE"), primary_key=True
    )
    geometry: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True, slots=True)
class BoundaryImport:
    """What a boundary import changed."""

    created: int
    updated: int
    unchanged: int


def _error(index: int | None, code: str, vi: str, en: str) -> FieldError:
    name = f"features[{index}]" if index is not None else "file"
    return FieldError(name, code, vi, en)


def import_geojson(session: Session, data: bytes) -> BoundaryImport:  # noqa: PLR0912
    """Attach the features of a GeoJSON FeatureCollection to units; all checked first.

    Each feature needs a Polygon or MultiPolygon geometry and a property naming a known unit.
    Importing the same file again changes nothing.
    """
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            _error(None, "json", "Tệp GeoJSON không hợp lệ.", f"Invalid GeoJSON: {exc}")
        ) from exc
    features = document.get("features") if isinstance(document, dict) else None
    if document.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise InvalidInput(
            _error(
                None,
                "not_collection",
                "Cần một FeatureCollection.",
                "A FeatureCollection is required.",
            )
        )
    if len(features) > MAX_FEATURES:
        raise InvalidInput(_error(None, "too_many", "Quá nhiều đối tượng.", "Too many features."))
    errors: list[FieldError] = []
    wanted: dict[str, str] = {}
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        code = next(
            (str(props[k]) for k in CODE_PROPERTIES if isinstance(props, dict) and props.get(k)), ""
        )
        if not code:
            errors.append(
                _error(
                    index,
                    "no_code",
                    "Thiếu thuộc tính mã đơn vị (code).",
                    "Missing the unit code property (code).",
                )
            )
            continue
        if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
            errors.append(
                _error(
                    index,
                    "geometry",
                    "Hình phải là Polygon hoặc MultiPolygon.",
                    "The geometry must be a Polygon or MultiPolygon.",
                )
            )
            continue
        if code in wanted:
            errors.append(
                _error(index, "duplicate", f"Mã {code!r} lặp lại.", f"Code {code!r} repeats.")
            )
            continue
        wanted[code] = json.dumps(geometry, separators=(",", ":"), sort_keys=True)
    known = set(session.scalars(select(Unit.code).where(Unit.code.in_(list(wanted)))))
    for index, code in enumerate(wanted):
        if code not in known:
            errors.append(
                _error(index, "unknown_unit", f"Không có đơn vị {code!r}.", f"No unit {code!r}.")
            )
    if errors:
        raise InvalidInput(*errors)
    existing = {
        b.unit_code: b
        for b in session.scalars(
            select(UnitBoundary).where(UnitBoundary.unit_code.in_(list(wanted)))
        )
    }
    created = updated = unchanged = 0
    for code, geometry in wanted.items():
        row = existing.get(code)
        if row is None:
            session.add(UnitBoundary(unit_code=code, geometry=geometry))
            created += 1
        elif row.geometry != geometry:
            row.geometry = geometry
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return BoundaryImport(created, updated, unchanged)


def boundaries_of(session: Session, codes: Iterable[str]) -> dict[str, Any] | None:
    """A FeatureCollection of those units that have a boundary, or None when none has."""
    wanted = list(codes)
    if not wanted:
        return None
    rows = session.execute(
        select(UnitBoundary.unit_code, UnitBoundary.geometry).where(
            UnitBoundary.unit_code.in_(wanted)
        )
    ).all()
    if not rows:
        return None
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": code}, "geometry": json.loads(geometry)}
            for code, geometry in rows
        ],
    }
