"""Alembic environment: the engine comes from safezone (see safezone.db.migrate)."""

from __future__ import annotations

from alembic import context

import safezone.models  # noqa: F401 - registers every table on the metadata
from safezone.db.base import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
