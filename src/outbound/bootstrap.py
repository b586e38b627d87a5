"""Bring a database to a usable state: schema at head, built-in rows, a first admin."""

from __future__ import annotations

from sqlalchemy.orm import Session

from outbound.agents.service import ensure_reasons
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.schedules.service import ensure_default_schedule
from outbound.strategies.service import ensure_default_strategy
from outbound.users.service import ensure_first_admin


def seed(session: Session) -> None:
    """Create the built-in Default strategy and schedule, and the agents' reason codes, if
    missing (idempotent)."""
    ensure_default_strategy(session)
    ensure_default_schedule(session)
    ensure_reasons(session)


def prepare(db: Database, *, first_admin: bool = True) -> str | None:
    """Migrate and seed; unless told not to, make sure an admin exists.

    Returns the password of an admin it had to create, if any.
    """
    upgrade_head(db.url)
    with db.transaction() as session:
        seed(session)
        return ensure_first_admin(session) if first_admin else None
