"""Queries on agents: by user, the ready count per campaign, the silent ones."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from outbound.agents.states import WATCHED, AgentState
from outbound.campaigns.types import AfterWrapUp
from outbound.models import Agent, AgentReason, AgentStateChange, Attempt, Campaign, agent_campaigns


def by_user(session: Session, user_id: int, *, for_update: bool = False) -> Agent | None:
    query = select(Agent).where(Agent.user_id == user_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def get(session: Session, agent_id: int, *, for_update: bool = False) -> Agent | None:
    query = select(Agent).where(Agent.id == agent_id)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def all_agents(session: Session) -> list[Agent]:
    query = (
        select(Agent)
        .order_by(Agent.id)
        .options(
            selectinload(Agent.campaigns), selectinload(Agent.user), selectinload(Agent.reason)
        )
    )
    return list(session.scalars(query))


def reason_by_name(session: Session, name: str) -> AgentReason | None:
    return session.scalar(select(AgentReason).where(func.lower(AgentReason.name) == name.lower()))


def agents_with_reason(session: Session, reason_id: int) -> int:
    query = select(func.count()).select_from(Agent).where(Agent.reason_id == reason_id)
    return int(session.scalar(query) or 0)


def ready_by_campaign(session: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """How many ready agents serve each campaign (0 for those none does)."""
    if not campaign_ids:
        return {}
    query = (
        select(agent_campaigns.c.campaign_id, func.count())
        .join(Agent, Agent.id == agent_campaigns.c.agent_id)
        .where(
            agent_campaigns.c.campaign_id.in_(campaign_ids),
            agent_campaigns.c.active.is_(True),
            Agent.state == AgentState.READY,
        )
        .group_by(agent_campaigns.c.campaign_id)
    )
    found = {int(cid): int(n) for cid, n in session.execute(query)}
    return {cid: found.get(cid, 0) for cid in campaign_ids}


def assigned_count(session: Session, campaign_id: int) -> int:
    query = select(func.count()).where(agent_campaigns.c.campaign_id == campaign_id)
    return int(session.scalar(query) or 0)


def silent(session: Session, *, before: datetime, disconnected_id: int) -> list[Agent]:
    """Logged-in agents with no heartbeat since ``before`` and not yet marked disconnected;
    rows another transaction holds (an agent's request) are left for the next sweep."""
    query = (
        select(Agent)
        .where(
            Agent.state.in_(WATCHED),
            or_(Agent.last_heartbeat_at.is_(None), Agent.last_heartbeat_at < before),
            ~and_(Agent.state == AgentState.NOT_READY, Agent.reason_id == disconnected_id),
        )
        .order_by(Agent.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def history(
    session: Session, agent_id: int, *, limit: int, before: int | None
) -> list[AgentStateChange]:
    """Newest first; ``before`` is the id the previous page ended at."""
    query = select(AgentStateChange).where(AgentStateChange.agent_id == agent_id)
    if before is not None:
        query = query.where(AgentStateChange.id < before)
    return list(session.scalars(query.order_by(AgentStateChange.id.desc()).limit(limit)))


def active_campaigns(session: Session, agent_id: int) -> list[int]:
    query = (
        select(agent_campaigns.c.campaign_id)
        .where(agent_campaigns.c.agent_id == agent_id, agent_campaigns.c.active.is_(True))
        .order_by(agent_campaigns.c.campaign_id)
    )
    return [int(cid) for cid in session.scalars(query)]


def set_active_campaigns(session: Session, agent_id: int, campaign_ids: Sequence[int]) -> None:
    session.flush()  # the assignment's own rows first
    mine = agent_campaigns.c.agent_id == agent_id
    chosen = agent_campaigns.c.campaign_id.in_(list(campaign_ids))
    session.execute(update(agent_campaigns).where(mine, chosen).values(active=True))
    session.execute(update(agent_campaigns).where(mine, ~chosen).values(active=False))


def current_call(session: Session, agent_id: int, *, for_update: bool = False) -> Attempt | None:
    """The newest attempt handed to this agent."""
    query = select(Attempt).where(Attempt.agent_id == agent_id).order_by(Attempt.id.desc()).limit(1)
    if for_update:
        query = query.with_for_update()
    return session.scalar(query)


def undisposed_call(session: Session, agent_id: int) -> bool:
    call = current_call(session, agent_id)
    return call is not None and call.disposition is None


def wrapping_up(session: Session) -> list[tuple[Agent, int, AfterWrapUp]]:
    """Agents in wrap-up (rows another transaction holds are left for the next sweep), each
    with the wrap-up limit and the after-wrap-up state of its last call's campaign."""
    agents = list(
        session.scalars(
            select(Agent)
            .where(Agent.state == AgentState.WRAP_UP)
            .order_by(Agent.id)
            .limit(1000)
            .with_for_update(skip_locked=True)
        )
    )
    found = []
    for agent in agents:
        call = current_call(session, agent.id)
        campaign = session.get(Campaign, call.campaign_id) if call is not None else None
        if campaign is None:  # no call to wrap up (its campaign was deleted): nothing to wait
            found.append((agent, 0, AfterWrapUp.READY))
        else:
            found.append((agent, campaign.wrap_up_seconds, campaign.after_wrap_up))
    return found
