"""Database plumbing: declarative base, engine/session factories, migrations."""

from outbound.db.base import Base
from outbound.db.engine import Database

__all__ = ["Base", "Database"]
