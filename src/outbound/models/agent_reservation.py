"""An agent reserved for the calls dialled for it: a row with a lease, one per agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, UTCDateTime
from outbound.models._columns import utcnow


class AgentReservation(Base):
    """Lives while the agent is reserved and no customer of it has answered yet.

    The first customer who answers consumes it (the row is deleted in the transaction that
    makes the agent talk); calls that end unanswered give it back (deleted, the agent ready
    again). The worker that dialled renews ``lease_until``; a lease that runs out (the worker
    died) is swept. Attempts point at it by ``attempts.reservation_id`` (no foreign key: the
    row is gone once the reservation is over).
    """

    __tablename__ = "agent_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), unique=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    worker_id: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Preview: the contact the agent is shown (held from every other agent while the row
    # lives), and when the agent chose to call it (the dispatcher dials it then).
    contact_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("contacts.id", ondelete="CASCADE"), unique=True
    )
    dial_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
