"""Engine and session factory for one database URL (SQLite file or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(url: str) -> Engine:
    """Create an engine; for SQLite, create the file's folder and turn on WAL and FKs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    event.listen(engine, "handle_error", _read_only_is_stale)
    return engine


def _read_only_is_stale(context: ExceptionContext) -> None:
    """A PostgreSQL session that refuses writes (the server was demoted to a standby, or the
    database set ``default_transaction_read_only``) stays so for its life: treat it like a
    lost connection, so the pool opens fresh sessions that see the server as it is now."""
    if getattr(context.original_exception, "sqlstate", None) == "25006":
        context.is_disconnect = True


class Database:
    """One engine plus its session factory; built explicitly, never at import time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
