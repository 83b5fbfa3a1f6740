"""The administrative-unit table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base

#: Levels from the top; a unit's children are on a deeper level (2025 reform: province > commune).
LEVELS: tuple[str, ...] = ("province", "district", "commune", "village")
#: Unit types as Vietnamese law names them.
UNIT_TYPES: tuple[str, ...] = (
    "tỉnh",
    "thành phố",
    "thị xã",
    "huyện",
    "quận",
    "phường",
    "xã",
    "thị trấn",
    "đặc khu",
    "thôn",
    "tổ dân phố",
    "khu phố",
)
#: The level whose population counts: totals of larger units are sums over their communes.
COMMUNE = "commune"

# Paths compare byte-wise (subtree = range scan); PostgreSQL's default collation would not.
PathType = String(255).with_variant(String(255, collation="C"), "postgresql")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Unit(Base):
    """One administrative unit. ``path`` is the codes from the root, e.g. ``54/555/22015/``."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(f"level IN ({_quoted(LEVELS)})", name="level"),
        CheckConstraint(f"type IN ({_quoted(UNIT_TYPES)})", name="type"),
        CheckConstraint("population IS NULL OR population >= 0", name="population"),
        CheckConstraint("households IS NULL OR households >= 0", name="households"),
        Index("ix_units_path", "path", unique=True),
        Index("ix_units_level_path", "level", "path"),
    )

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(
        String(16), ForeignKey("units.code", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(PathType)
    population: Mapped[int | None]
    urban_population: Mapped[int | None]
    households: Mapped[int | None]
    valid_from: Mapped[dt.date | None]
    valid_to: Mapped[dt.date | None]
    successor_codes: Mapped[str] = mapped_column(String(200), default="")

    @property
    def depth(self) -> int:
        """0 for a root, 1 for its children, and so on."""
        return self.path.count("/") - 1

    def __repr__(self) -> str:
        return f"Unit({self.code!r}, {self.name!r})"
