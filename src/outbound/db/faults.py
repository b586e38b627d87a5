"""What a database failure means for the caller: storage full, writes refused, unreachable.

Both SQLite and PostgreSQL name these conditions their own way; the API and the background
parts need one answer (a clear 507 or 503, a part marked down) whichever database it is.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from sqlalchemy.exc import DBAPIError

# PostgreSQL SQLSTATEs: disk full, out of memory/insufficient resources; read-only
# transaction; the server shutting down, a standby that cannot write, connection failures.
_PG_FULL = frozenset({"53100", "53000"})
_PG_READ_ONLY = frozenset({"25006"})
_PG_UNAVAILABLE_PREFIXES = ("08", "57P")


class Fault(StrEnum):
    STORAGE_FULL = "storage full"
    READ_ONLY = "read-only"
    UNAVAILABLE = "unavailable"


def classify(exc: BaseException) -> Fault | None:
    """The kind of database fault behind ``exc``, or None if it is no database fault."""
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        text = str(orig).lower()
        if code == sqlite3.SQLITE_FULL or "database or disk is full" in text:
            return Fault.STORAGE_FULL
        if code == sqlite3.SQLITE_READONLY or "readonly database" in text:
            return Fault.READ_ONLY
        return Fault.UNAVAILABLE if isinstance(orig, sqlite3.OperationalError) else None
    state = getattr(orig, "sqlstate", None) or ""
    if state in _PG_FULL:
        return Fault.STORAGE_FULL
    if state in _PG_READ_ONLY:
        return Fault.READ_ONLY
    if state.startswith(_PG_UNAVAILABLE_PREFIXES) or exc.connection_invalidated:
        return Fault.UNAVAILABLE
    return None


def describe(fault: Fault, exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the detail a client gets for this fault."""
    cause = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200]
    if fault is Fault.STORAGE_FULL:
        return 507, (
            f"storage full: the database cannot store more data ({cause}); "
            "free disk space (or raise the database's size limit) and try again"
        )
    if fault is Fault.READ_ONLY:
        return 503, f"the database refuses writes (read-only): {cause}; try again later"
    return 503, f"the database is unavailable: {cause}; try again later"
