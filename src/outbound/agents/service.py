"""Agents: profiles, reason codes, state changes with history, and the heartbeat sweep.

Every state change goes through ``change_state``, which asks the pure state machine and
writes the history row in the same transaction as the new state: the history never misses
a change nor shows one that did not happen. Services never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from outbound.agents import repository
from outbound.agents.schemas import AgentCreate, AgentOut, AgentUpdate, StateRequest
from outbound.agents.states import AgentState, transition
from outbound.agents.wrapup import after_wrap_up
from outbound.campaigns.types import CampaignType
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Agent, AgentReason, AgentStateChange, Campaign, User
from outbound.users.roles import may_act_as_agent

BUILT_IN_REASONS = ("Break", "Lunch", "Training", "Meeting")
DISCONNECTED = "Disconnected"  # system: set by the heartbeat sweep, never chosen by an agent
# system: the campaign's wrap-up limit passed and it sends agents to not ready afterwards
WRAP_UP_OVER = "Wrap-up over"
SYSTEM_REASONS = (DISCONNECTED, WRAP_UP_OVER)
SYSTEM_BY = "system"
# An agent on a call (or about to be) is not deleted under the engine's feet.
ON_A_CALL = frozenset({AgentState.RESERVED, AgentState.TALKING, AgentState.WRAP_UP})


def ensure_reasons(session: Session) -> None:
    """The built-in reason codes and the system "Disconnected" (idempotent)."""
    have = {name.lower() for name in session.scalars(select(AgentReason.name))}
    for name in BUILT_IN_REASONS:
        if name.lower() not in have:
            session.add(AgentReason(name=name, system=False))
    for name in SYSTEM_REASONS:
        if name.lower() not in have:
            session.add(AgentReason(name=name, system=True))
    session.flush()


def system_reason(session: Session, name: str) -> AgentReason:
    reason = repository.reason_by_name(session, name)
    if reason is None:
        ensure_reasons(session)
        reason = repository.reason_by_name(session, name)
    assert reason is not None
    return reason


def disconnected_reason(session: Session) -> AgentReason:
    return system_reason(session, DISCONNECTED)


# -- profiles -------------------------------------------------------------------------------
def describe(agent: Agent) -> AgentOut:
    return AgentOut(
        id=agent.id,
        user_id=agent.user_id,
        username=agent.user.username,
        sip_address=agent.sip_address,
        campaign_ids=sorted(c.id for c in agent.campaigns),
        active_campaign_ids=active_campaign_ids(agent),
        state=agent.state,
        state_since=agent.state_since,
        reason_id=agent.reason_id,
        reason=agent.reason.name if agent.reason is not None else None,
        last_heartbeat_at=agent.last_heartbeat_at,
    )


def active_campaign_ids(agent: Agent) -> list[int]:
    session = object_session(agent)
    assert session is not None
    return repository.active_campaigns(session, agent.id)


def choose_campaigns(session: Session, agent: Agent, campaign_ids: list[int]) -> Agent:
    """The agent works these of its assigned campaigns now (the others wait)."""
    assigned = {c.id for c in agent.campaigns}
    for index, campaign_id in enumerate(campaign_ids):
        if campaign_id not in assigned:
            raise Conflict(
                f"campaign {campaign_id} is not assigned to you (an admin assigns campaigns)",
                loc=("body", "campaign_ids", index),
            )
    if len(set(campaign_ids)) != len(campaign_ids):
        raise Invalid(("body", "campaign_ids"), "each campaign at most once")
    repository.set_active_campaigns(session, agent.id, campaign_ids)
    return agent


def list_agents(session: Session) -> list[Agent]:
    return repository.all_agents(session)


def get_agent(session: Session, agent_id: int, *, for_update: bool = False) -> Agent:
    agent = repository.get(session, agent_id, for_update=for_update)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return agent


def my_agent(session: Session, user: User, *, for_update: bool = False) -> Agent:
    agent = repository.by_user(session, user.id, for_update=for_update)
    if agent is None:
        raise NotFound(
            f"user {user.username!r} has no agent profile; an admin creates it (POST /agents)"
        )
    return agent


def create_agent(session: Session, data: AgentCreate, *, now: datetime) -> Agent:
    user = session.get(User, data.user_id)
    if user is None:
        raise Conflict(f"user {data.user_id} does not exist", loc=("body", "user_id"))
    if not may_act_as_agent(user.role):
        raise Conflict(
            f"user {user.username!r} is a {user.role.value}; only an agent, a supervisor or an "
            "admin can take calls (change the user's role first)",
            loc=("body", "user_id"),
        )
    if repository.by_user(session, user.id) is not None:
        raise Conflict(
            f"user {user.username!r} already has an agent profile", loc=("body", "user_id")
        )
    agent = Agent(
        user_id=user.id,
        sip_address=data.sip_address,
        state=AgentState.LOGGED_OUT,
        state_since=now,
        created_at=now,
        updated_at=now,
    )
    agent.campaigns = _agent_campaigns(session, data.campaign_ids)
    session.add(agent)
    session.flush()
    return agent


def update_agent(session: Session, agent: Agent, patch: AgentUpdate, *, now: datetime) -> Agent:
    for field in patch.model_fields_set:
        if getattr(patch, field) is None:
            raise Invalid(("body", field), f"{field} cannot be null; leave it out to keep it")
    if patch.campaign_ids is not None:
        agent.campaigns = _agent_campaigns(session, patch.campaign_ids)
    if patch.sip_address is not None:
        agent.sip_address = patch.sip_address
    agent.updated_at = now
    session.flush()
    return agent


def delete_agent(session: Session, agent: Agent) -> None:
    if agent.state in ON_A_CALL:
        raise Conflict(f"agent {agent.id} is {agent.state.value}; delete it once the call is over")
    session.delete(agent)
    session.flush()


def _agent_campaigns(session: Session, campaign_ids: list[int]) -> list[Campaign]:
    """The campaigns named, each an Agent campaign; the first bad one is refused by index."""
    found = {
        c.id: c for c in session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
    }
    seen: set[int] = set()
    chosen = []
    for index, campaign_id in enumerate(campaign_ids):
        loc = ("body", "campaign_ids", index)
        campaign = found.get(campaign_id)
        if campaign is None:
            raise Conflict(f"campaign {campaign_id} does not exist", loc=loc)
        if campaign.type is not CampaignType.AGENT:
            raise Conflict(
                f"campaign {campaign.name!r} is an {campaign.type.value} campaign; "
                "agents serve Agent campaigns only",
                loc=loc,
            )
        if campaign_id in seen:
            raise Invalid(loc, f"campaign {campaign_id} is listed twice")
        seen.add(campaign_id)
        chosen.append(campaign)
    return chosen


# -- reasons ---------------------------------------------------------------------------------
def list_reasons(session: Session) -> list[AgentReason]:
    return list(session.scalars(select(AgentReason).order_by(AgentReason.id)))


def get_reason(session: Session, reason_id: int) -> AgentReason:
    reason = session.get(AgentReason, reason_id)
    if reason is None:
        raise NotFound(f"reason {reason_id} does not exist")
    return reason


def create_reason(session: Session, name: str) -> AgentReason:
    _check_free(session, name)
    reason = AgentReason(name=name, system=False)
    session.add(reason)
    session.flush()
    return reason


def rename_reason(session: Session, reason: AgentReason, name: str) -> AgentReason:
    if reason.system:
        raise Conflict(f"{reason.name!r} is a system reason; it cannot be changed")
    _check_free(session, name, exclude_id=reason.id)
    reason.name = name
    session.flush()
    return reason


def delete_reason(session: Session, reason: AgentReason) -> None:
    if reason.system:
        raise Conflict(f"{reason.name!r} is a system reason; it cannot be deleted")
    using = repository.agents_with_reason(session, reason.id)
    if using:
        raise Conflict(
            f"{using} agent(s) are not ready with reason {reason.name!r} now; "
            "delete it once none is"
        )
    session.delete(reason)
    session.flush()


def _check_free(session: Session, name: str, *, exclude_id: int | None = None) -> None:
    other = repository.reason_by_name(session, name)
    if other is not None and other.id != exclude_id:
        raise Conflict(f"a reason named {other.name!r} already exists", loc=("body", "name"))


# -- states ----------------------------------------------------------------------------------
def request_state(
    session: Session, agent: Agent, body: StateRequest, *, user: User, now: datetime
) -> Agent:
    """An agent's own request: ready, not ready with a reason it may choose, or log out."""
    reason = None
    if body.reason_id is not None:
        if body.state is not AgentState.NOT_READY:
            raise Invalid(("body", "reason_id"), "a reason goes with not_ready only")
        reason = session.get(AgentReason, body.reason_id)
        if reason is None:
            raise Conflict(f"reason {body.reason_id} does not exist", loc=("body", "reason_id"))
        if reason.system:
            raise Conflict(
                f"{reason.name!r} is set by the system; choose another reason",
                loc=("body", "reason_id"),
            )
    elif body.state is AgentState.NOT_READY and agent.state is not AgentState.LOGGED_OUT:
        # Logging in needs none: whether one is needed depends on the stored state (409).
        raise Conflict(
            "not_ready needs a reason_id (GET /agent-reasons) except when logging in",
            loc=("body", "reason_id"),
        )
    if agent.state is AgentState.WRAP_UP and repository.undisposed_call(session, agent.id):
        raise Conflict(
            "dispose of the call first (POST /agents/me/call/disposition); the wrap-up limit "
            "ends it otherwise",
            loc=("body", "state"),
        )
    change_state(session, agent, body.state, reason=reason, by=user, by_agent=True, now=now)
    agent.last_heartbeat_at = now  # a request from the desktop shows it is there
    return agent


def change_state(
    session: Session,
    agent: Agent,
    target: AgentState,
    *,
    reason: AgentReason | None,
    by: User | None,
    by_agent: bool,
    now: datetime,
) -> AgentStateChange:
    """Move the agent (the state machine decides) and write the history row."""
    before = agent.state
    agent.state = transition(before, target, by_agent=by_agent)
    agent.reason_id = reason.id if reason is not None else None
    agent.state_since = now
    agent.updated_at = now
    change = AgentStateChange(
        agent_id=agent.id,
        from_state=before,
        to_state=target,
        reason_id=agent.reason_id,
        reason=reason.name if reason is not None else None,
        at=now,
        by_user_id=by.id if by is not None else None,
        by=by.username if by is not None else SYSTEM_BY,
    )
    session.add(change)
    session.flush()
    return change


def heartbeat(agent: Agent, *, now: datetime) -> Agent:
    agent.last_heartbeat_at = now
    return agent


def sweep_disconnected(session: Session, *, now: datetime, silent_for: timedelta) -> int:
    """Logged-in agents whose desktop stopped beating: not ready, reason Disconnected, so no
    call is dialled for them. Returns how many were moved."""
    reason = disconnected_reason(session)
    gone = repository.silent(session, before=now - silent_for, disconnected_id=reason.id)
    for agent in gone:
        change_state(
            session, agent, AgentState.NOT_READY, reason=reason, by=None, by_agent=False, now=now
        )
    return len(gone)


def sweep_wrap_up(session: Session, *, now: datetime) -> int:
    """Agents whose wrap-up has lasted the campaign's limit go ready or not ready (reason
    "Wrap-up over"), as the campaign of their last call says. Returns how many moved."""
    moved = 0
    for agent, limit, after in repository.wrapping_up(session):
        target = after_wrap_up(
            agent.state, since=agent.state_since, limit_seconds=limit, after=after, now=now
        )
        if target is None:
            continue
        reason = system_reason(session, WRAP_UP_OVER) if target is AgentState.NOT_READY else None
        change_state(session, agent, target, reason=reason, by=None, by_agent=False, now=now)
        moved += 1
    return moved


def history(
    session: Session, agent: Agent, *, limit: int, before: int | None
) -> list[AgentStateChange]:
    return repository.history(session, agent.id, limit=limit, before=before)
