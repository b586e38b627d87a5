"""Attempts: one row per contact attempt handed to a channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import enum_column, utcnow
from outbound.strategies.outcomes import Channel, Outcome


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_campaign_abandoned", "campaign_id", "abandoned_at"),
        # Attempts with no result at all (neither answered nor ended): the dangling sweep.
        Index(
            "ix_attempts_open",
            "sent_at",
            sqlite_where=text("ended_at IS NULL AND answered_at IS NULL"),
            postgresql_where=text("ended_at IS NULL AND answered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("contacts.id", ondelete="CASCADE"),
        index=True,
    )
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1st, 2nd, … attempt of this contact
    strategy_position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 8))
    phone_slot: Mapped[int] = mapped_column(Integer)
    phone_number: Mapped[str] = mapped_column(String(16), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A voice call's outcome is known when it is answered: recorded then; the call's end
    # (``ended_at``) follows. An attempt with neither has no result yet (dangling sweep).
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[Outcome | None] = mapped_column(enum_column(Outcome))
    raw_result: Mapped[str | None] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(128), index=True)
    worker_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # Agent calls: the agent the answered customer was handed to, the disposition the agent
    # ended the call with and the values of the campaign's agent form.
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    disposition: Mapped[str | None] = mapped_column(String(64))
    # Progressive calls: the agent reservation the call was dialled for (the row is deleted
    # once the reservation is over, so no foreign key), and when the answered customer was
    # abandoned (no agent free: the abandon message) - what the abandon rate counts.
    reservation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Answering-machine detection on this call: how long it took (ms of audio from the
    # answer to the verdict) and the verdict (HUMAN, MACHINE, NOTSURE).
    amd_ms: Mapped[int | None] = mapped_column(Integer)
    amd_verdict: Mapped[str | None] = mapped_column(String(8))
    # When the answered customer was handed to the agent (the speed of connection after the
    # answer is handed_at - answered_at).
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    form_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
