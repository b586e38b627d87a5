"""What readiness means: the database answers, is at the newest migration, and takes writes."""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from outbound.db.engine import Database
from outbound.db.faults import classify, describe
from outbound.db.migrate import alembic_config


@cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def database_problem(db: Database) -> str | None:
    """Why the database cannot be used now (None: it answers a query)."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        return _why(exc)
    return None


def readiness_problems(db: Database) -> list[str]:
    """Everything that keeps this process from serving: empty means ready.

    The write probe changes a row to its own value and rolls back: it needs the same
    permission as any write (a read-only file, a read-only or standby PostgreSQL refuse it)
    and leaves nothing behind."""
    try:
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            problems = []
            if version != head_revision():
                problems.append(
                    f"the database schema is at {version}, not {head_revision()}: "
                    "run `outbound migrate`"
                )
            try:
                conn.execute(text("UPDATE alembic_version SET version_num = version_num"))
            except DBAPIError as exc:
                problems.append(_why(exc))
            conn.rollback()
            return problems
    except DBAPIError as exc:
        return [_why(exc)]


def _why(exc: DBAPIError) -> str:
    fault = classify(exc)
    if fault is None:
        return f"the database failed: {str(exc.orig).strip().splitlines()[0][:200]}"
    return describe(fault, exc)[1]
