"""The table of stored simulation runs and plans (reproducible: parameters, seeds, engine)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safezone.db.base import Base, utcnow

KINDS = ("run", "plan")
STATUSES = ("queued", "running", "done", "failed")


class SimRun(Base):
    """One scenario sweep or plan: what went in (parameters, seeds, engine) and came out."""

    __tablename__ = "sim_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('run', 'plan')", name="kind"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str | None] = mapped_column(String(64))
    #: The unit whose communes were simulated (None: every root, as older CLI runs); pages and
    #: the API show a run only to users whose scope contains this unit.
    root_code: Mapped[str | None] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]
    engine_version: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    seeds: Mapped[list[int]] = mapped_column(JSON, default=list)
    outputs: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
