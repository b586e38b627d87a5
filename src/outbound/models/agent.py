"""Agents, the campaigns they serve, not-ready reasons and the history of their states."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outbound.agents.states import AgentState
from outbound.db.base import Base, UTCDateTime
from outbound.models._columns import Timestamps, enum_column, utcnow

# Which Agent campaigns each agent serves (assigned by an admin).
agent_campaigns = Table(
    "agent_campaigns",
    Base.metadata,
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
    # The agent works this campaign now (chosen at the desktop among those assigned).
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
)


class AgentReason(Base):
    """A not-ready reason code; ``system`` ones are set by the product, never by an agent."""

    __tablename__ = "agent_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    system: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Agent(Timestamps, Base):
    """A user's agent profile and live state. Reservations (a row with a lease, claimed like
    contacts) come with the call hand-over and point here."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    sip_address: Mapped[str] = mapped_column(String(255))
    state: Mapped[AgentState] = mapped_column(
        enum_column(AgentState, 12), default=AgentState.LOGGED_OUT
    )
    state_since: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent_reasons.id", ondelete="SET NULL")
    )
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    campaigns = relationship("Campaign", secondary=agent_campaigns, order_by="Campaign.id")
    reason = relationship(AgentReason)
    user = relationship("User")

    __table_args__ = (Index("ix_agents_state", "state"),)


class AgentStateChange(Base):
    """One change of an agent's state: who or what made it, when, and why."""

    __tablename__ = "agent_state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    from_state: Mapped[AgentState] = mapped_column(enum_column(AgentState, 12))
    to_state: Mapped[AgentState] = mapped_column(enum_column(AgentState, 12))
    reason_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent_reasons.id", ondelete="SET NULL")
    )
    # The reason's name at the time: the history stays readable if the code is renamed.
    reason: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The user who asked; None when the product did it (a sweep, the engine).
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_agent_state_changes_agent_at", "agent_id", "at", "id"),)
