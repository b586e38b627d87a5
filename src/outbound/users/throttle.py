"""The log-in throttle: failures counted atomically per account and per client address.

Each log-in first *reserves* its try: one ``INSERT ... ON CONFLICT DO UPDATE SET failures =
failures + 1 ... RETURNING`` (SQLite and PostgreSQL alike), refused while the key is blocked,
and committed in its own transaction before the password is checked. The try that uses up
the free failures sets the block in that same transaction, so concurrent log-ins see it
and are refused (429) without a password check: however many arrive at once, at most the
free failures are checked, then one more each time a block runs out. A right password
gives the account's try back and clears its count; the address keeps its count minus
that try, so guessing in between one's own successful log-ins gains nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outbound.db.engine import Database
from outbound.errors import TooManyRequests
from outbound.models import LoginThrottle, User

T = LoginThrottle


@dataclass(frozen=True)
class Policy:
    """Free failures before a block, per account and per client address (an office behind
    one address has many users); each further failure doubles the block, up to ``max_delay``."""

    user_free: int = 5
    address_free: int = 20
    max_delay: int = 900

    def free(self, key: str) -> int:
        return self.user_free if key.startswith("user:") else self.address_free

    def delay(self, key: str, failures: int) -> int | None:
        excess = failures - self.free(key)
        return None if excess < 0 else min(2 ** min(excess, 30), self.max_delay)


def user_key(user_id: int) -> str:
    return f"user:{user_id}"


def address_key(address: str | None) -> str:
    return f"addr:{(address or 'unknown')[:70]}"


class Throttle:
    """Reservations run in their own transactions: they must be visible to every other
    log-in before this one's password is checked, whatever becomes of the request."""

    def __init__(self, db: Database, policy: Policy) -> None:
        self.db, self.policy = db, policy

    def reserve(self, username: str, address: str | None, *, now: datetime) -> list[str]:
        """Count one try against the address and the account (if the name is one); returns
        the keys counted, or raises 429 saying how long to wait.

        Runs before the request's own session touches the database: a request holding one
        pooled connection while it waits for a second would starve the pool under load."""
        with self.db.sessions() as session:
            user_id = session.scalar(
                select(User.id).where(func.lower(User.username) == username.lower())
            )
            keys = [address_key(address)] + ([user_key(user_id)] if user_id is not None else [])
            for key in keys:
                failures = _count_one(session, key, now)
                if failures is None:
                    refused = _blocked(session, key, now)
                    session.rollback()  # give back the tries counted against earlier keys
                    raise refused
                delay = self.policy.delay(key, failures)
                if delay is not None:
                    blocked = now + timedelta(seconds=delay)
                    session.execute(update(T).where(T.key == key).values(blocked_until=blocked))
            session.commit()
        return keys


def forgive(session: Session, keys: Sequence[str]) -> None:
    """A right password: the account starts afresh, each address gets this try back."""
    for key in keys:
        if key.startswith("user:"):
            clear_throttle(session, key)
        else:
            given_back = update(T).where(T.key == key, T.failures > 0)
            session.execute(given_back.values(failures=T.failures - 1))


def clear_throttle(session: Session, key: str) -> None:
    """Forget a key's failures (a password set by an administrator), in the caller's unit."""
    session.execute(update(T).where(T.key == key).values(failures=0, blocked_until=None))


def _count_one(session: Session, key: str, now: datetime) -> int | None:
    """The key's failures with this try, or None while it is blocked (nothing counted)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    counted = (
        insert(T)
        .values(key=key, failures=1, blocked_until=None, updated_at=now)
        .on_conflict_do_update(
            index_elements=[T.key],
            set_={"failures": T.failures + 1, "updated_at": now},
            where=or_(T.blocked_until.is_(None), T.blocked_until <= now),
        )
        .returning(T.failures)
    )
    failures: int | None = session.scalar(counted)
    return failures


def _blocked(session: Session, key: str, now: datetime) -> TooManyRequests:
    until = session.scalar(select(T.blocked_until).where(T.key == key))
    wait = max(1, math.ceil((until - now).total_seconds())) if until else 1
    who = "this account" if key.startswith("user:") else "this address"
    return TooManyRequests(
        f"too many failed log-ins from {who}; try again in {wait} s", retry_after=wait
    )
