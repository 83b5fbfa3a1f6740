"""Database layer: declarative base, engine and sessions, Alembic migrations."""

from safezone.db.base import Base, utcnow
from safezone.db.engine import Database, DatabaseUnavailable

__all__ = ["Base", "Database", "DatabaseUnavailable", "utcnow"]
