"""Agent reservations, the hand-over of an answered customer, the call's end and wrap-up.

Progressive dialing reserves a ready agent (``ready -> reserved``) and dials up to
``lines_per_agent`` contacts for that reservation. The first of them to answer consumes it
(``take``: the agent talks, the attempt names the agent); any other that answers finds it
gone and is abandoned. Calls that all end unanswered give it back (``reserved -> ready``),
and so does a lease that runs out (the worker that dialled died). Every state change goes
through ``service.change_state``, so the history keeps each of them. Services never commit.

Claims: an agent is reserved under ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several
workers never reserve one agent twice; a reservation is consumed by deleting its row, so
of two customers answering at once only one gets the agent (SQLite has one writer).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session

from outbound.agents import service
from outbound.agents.states import AgentState
from outbound.dnc.service import add_number
from outbound.models import Agent, AgentReservation, Attempt, agent_campaigns

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)  # renewed by the dialling worker every sweep
OPT_OUT_SOURCE = "dtmf_opt_out"


def lock_ready(
    session: Session, campaign_id: int, *, limit: int, exclude: Collection[int] = ()
) -> list[Agent]:
    """Ready agents serving the campaign, the longest ready first, locked; agents another
    transaction holds (another worker reserving, an agent's own request) are skipped."""
    if limit <= 0:
        return []
    query = (
        select(Agent)
        .join(agent_campaigns, agent_campaigns.c.agent_id == Agent.id)
        .where(agent_campaigns.c.campaign_id == campaign_id, Agent.state == AgentState.READY)
        .order_by(Agent.state_since, Agent.id)
        .limit(limit + len(exclude))
        .with_for_update(of=Agent, skip_locked=True)
    )
    return [a for a in session.scalars(query) if a.id not in exclude][:limit]


def lock_agents(session: Session, agent_ids: Collection[int]) -> list[Agent]:
    """These agents, locked, if still ready (those another transaction holds are skipped)."""
    if not agent_ids:
        return []
    query = (
        select(Agent)
        .where(Agent.id.in_(list(agent_ids)), Agent.state == AgentState.READY)
        .order_by(Agent.id)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def reserve(
    session: Session,
    agent: Agent,
    campaign_id: int,
    *,
    now: datetime,
    worker_id: str | None = None,
    lease: timedelta = LEASE,
) -> AgentReservation:
    """Reserve a ready agent (locked by the caller) for calls of this campaign: the agent is
    ``reserved``; attempts dialled for it carry the reservation's id. Also what preview
    dialing uses to reserve an agent for the contact it chose to call."""
    service.change_state(
        session, agent, AgentState.RESERVED, reason=None, by=None, by_agent=False, now=now
    )
    row = AgentReservation(
        agent_id=agent.id,
        campaign_id=campaign_id,
        worker_id=worker_id,
        lease_until=now + lease,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def take(session: Session, attempt_id: int, *, now: datetime, reachable: bool = True) -> str | None:
    """The customer of this attempt answered: hand it to the reserved agent.

    Returns the agent's SIP address (the agent is now talking and the attempt names it), or
    None: the reservation is gone (another customer of it answered first, it was given
    back) or the agent is no longer reserved (went not ready, its desktop went away). An
    agent whose phone did not answer the check (``reachable=False``) is made not ready."""
    reservation_id = session.scalar(select(Attempt.reservation_id).where(Attempt.id == attempt_id))
    if reservation_id is None:
        return None
    # Consuming first: the row's deletion is the claim (the write lock on SQLite).
    agent_id = session.scalar(
        delete(AgentReservation)
        .where(AgentReservation.id == reservation_id)
        .returning(AgentReservation.agent_id)
    )
    if agent_id is None:
        return None
    agent = session.scalar(
        select(Agent)
        .where(Agent.id == agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if agent is None or agent.state is not AgentState.RESERVED:
        return None
    if not reachable:
        reason = service.disconnected_reason(session)
        service.change_state(
            session, agent, AgentState.NOT_READY, reason=reason, by=None, by_agent=False, now=now
        )
        log.warning("agent %s: phone %s unreachable; made not ready", agent.id, agent.sip_address)
        return None
    service.change_state(
        session, agent, AgentState.TALKING, reason=None, by=None, by_agent=False, now=now
    )
    session.execute(
        update(Attempt).where(Attempt.id == attempt_id).values(agent_id=agent.id, handed_at=now)
    )
    return agent.sip_address


def opt_out(session: Session, attempt_id: int, *, now: datetime) -> None:
    """The customer pressed the opt-out key during the abandon message: the number goes on
    the global DNC list (TCPA's automated opt-out)."""
    number = session.scalar(select(Attempt.phone_number).where(Attempt.id == attempt_id))
    if number is None:
        return
    add_number(
        session,
        number,
        campaign_id=None,
        source=OPT_OUT_SOURCE,
        note=f"opt-out key pressed during the abandon message (attempt {attempt_id})",
        now=now,
    )


def lock_preview_calls(session: Session, campaign_id: int, *, limit: int) -> list[Any]:
    """Preview reservations of the campaign whose agent chose to call and that are not
    dialled yet, locked: (id, contact_id, agent_id, sip_address)."""
    if limit <= 0:
        return []
    query = (
        select(
            AgentReservation.id,
            AgentReservation.contact_id,
            AgentReservation.agent_id,
            Agent.sip_address,
        )
        .join(Agent, Agent.id == AgentReservation.agent_id)
        .where(
            AgentReservation.campaign_id == campaign_id,
            AgentReservation.contact_id.is_not(None),
            AgentReservation.dial_requested_at.is_not(None),
            AgentReservation.worker_id.is_(None),
        )
        .order_by(AgentReservation.dial_requested_at, AgentReservation.id)
        .limit(limit)
        .with_for_update(of=AgentReservation, skip_locked=True)
    )
    return list(session.execute(query))


def preview_dialled(
    session: Session, ids: list[int], *, worker_id: str, now: datetime, lease: timedelta = LEASE
) -> None:
    """The previews dialled now: the dialling worker holds (and renews) them."""
    if ids:
        session.execute(
            update(AgentReservation)
            .where(AgentReservation.id.in_(ids))
            .values(worker_id=worker_id, lease_until=now + lease)
        )


def give_back_ids(session: Session, ids: list[int], *, now: datetime) -> int:
    if not ids:
        return 0
    rows = list(
        session.scalars(
            select(AgentReservation).where(AgentReservation.id.in_(ids)).with_for_update()
        )
    )
    return _give_back(session, rows, now=now)


def _give_back(session: Session, rows: list[AgentReservation], *, now: datetime) -> int:
    """Delete the reservations; their agents, if still reserved, are ready again."""
    if not rows:
        return 0
    agents = {
        a.id: a
        for a in session.scalars(
            select(Agent)
            .where(Agent.id.in_([r.agent_id for r in rows]))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    for row in rows:
        agent = agents.get(row.agent_id)
        if agent is not None and agent.state is AgentState.RESERVED:
            service.change_state(
                session, agent, AgentState.READY, reason=None, by=None, by_agent=False, now=now
            )
        session.delete(row)
    session.flush()
    return len(rows)


def give_back_idle(session: Session, *, now: datetime) -> int:
    """Reservations none of whose calls is still waiting for an answer: given back."""
    waiting = exists().where(
        Attempt.reservation_id == AgentReservation.id,
        Attempt.answered_at.is_(None),
        Attempt.ended_at.is_(None),
    )
    # A preview not dialled yet (the agent looks, or asked for the call) has no call.
    dialled = or_(AgentReservation.contact_id.is_(None), AgentReservation.worker_id.is_not(None))
    query = (
        select(AgentReservation)
        .where(~waiting, dialled)
        .order_by(AgentReservation.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    return _give_back(session, list(session.scalars(query)), now=now)


def sweep_expired(session: Session, *, now: datetime) -> int:
    """Reservations whose lease ran out (the worker that dialled stopped renewing)."""
    query = (
        select(AgentReservation)
        .where(AgentReservation.lease_until < now)
        .order_by(AgentReservation.id)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    return _give_back(session, list(session.scalars(query)), now=now)


def renew(session: Session, *, worker_id: str, now: datetime, lease: timedelta = LEASE) -> None:
    session.execute(
        update(AgentReservation)
        .where(AgentReservation.worker_id == worker_id)
        .values(lease_until=now + lease)
    )


def any_open(session: Session) -> bool:
    return session.scalar(select(exists().where(AgentReservation.id.is_not(None)))) or False
