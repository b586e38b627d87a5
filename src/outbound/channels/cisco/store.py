"""The Cisco dialers' own table (``cisco_feed``): what is queued, being fed, fed, done.

Only the dialers touch it, each through its ``product`` rows; the engine's tables are never
read or written here (results go back through ``poll``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from outbound.db.engine import Database
from outbound.models import CiscoFeed

QUEUED, FEEDING, FED, DONE, LOST = "queued", "feeding", "fed", "done", "lost"
WAITING = (QUEUED, FEEDING, FED)  # counted against the batch size


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    attempt_id: int
    campaign: str
    account: str
    phone: str
    state: str
    queued_at: datetime
    fed_at: datetime | None


def _row(r: CiscoFeed) -> Row:
    return Row(r.id, r.attempt_id, r.campaign, r.account, r.phone, r.state, r.queued_at, r.fed_at)


class FeedStore:
    def __init__(self, db: Database, product: str) -> None:
        self.db, self.product = db, product

    def add(self, rows: Iterable[tuple[int, str, str, str]], *, now: datetime) -> None:
        """(attempt id, Cisco campaign, account, phone) of attempts just handed over."""
        with self.db.transaction() as session:
            session.add_all(
                CiscoFeed(
                    product=self.product,
                    attempt_id=attempt_id,
                    campaign=campaign,
                    account=account,
                    phone=phone,
                    state=QUEUED,
                    queued_at=now,
                )
                for attempt_id, campaign, account, phone in rows
            )

    def waiting(self) -> list[Row]:
        """Rows not finished, oldest first."""
        query = (
            select(CiscoFeed)
            .where(CiscoFeed.product == self.product, CiscoFeed.state.in_(WAITING))
            .order_by(CiscoFeed.id)
        )
        with self.db.transaction() as session:
            return [_row(r) for r in session.scalars(query)]

    def count_waiting(self) -> int:
        query = select(func.count()).where(
            CiscoFeed.product == self.product, CiscoFeed.state.in_(WAITING)
        )
        with self.db.transaction() as session:
            return int(session.scalar(query) or 0)

    def move(
        self,
        ids: Sequence[int],
        state: str,
        *,
        now: datetime,
        only_from: str | tuple[str, ...] | None = None,
    ) -> set[int]:
        """Move rows to ``state``; with ``only_from``, only those still in that state (a
        claim: another worker, or a replaced dialer, that moved a row first keeps it).
        Returns the ids moved."""
        if not ids:
            return set()
        values: dict[str, object] = {"state": state}
        if state == FED:
            values["fed_at"] = now
        elif state in (DONE, LOST):
            values["done_at"] = now
        query = update(CiscoFeed).where(CiscoFeed.id.in_(list(ids))).values(**values)
        if only_from is not None:
            states = (only_from,) if isinstance(only_from, str) else only_from
            query = query.where(CiscoFeed.state.in_(states))
        with self.db.transaction() as session:
            moved = session.execute(query.returning(CiscoFeed.id)).scalars().all()
        return set(moved)
