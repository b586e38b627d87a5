"""The agent's desk: the call on the line, ending it, and its disposition.

An agent's current call is the newest attempt handed to it (``Attempt.agent_id``, set by the
dialer as it connects the customer) while the agent is talking or wrapping up. Ending the
call moves the agent to wrap-up; the disposition is recorded through the engine's port
(``engine.dispositions``), which makes it the attempt's outcome and lets the strategy apply it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from outbound.agents import repository
from outbound.agents.schemas import CallOut, DispositionRequest
from outbound.agents.service import change_state
from outbound.agents.states import AgentState
from outbound.agents.wrapup import FormProblem, check_form, wrap_up_ends
from outbound.campaigns import dispositions
from outbound.campaigns.dispositions import DispositionOutcome, attempt_outcome
from outbound.contacts.zones import UNKNOWN, zones_for
from outbound.engine.dispositions import record_disposition
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Agent, Attempt, Campaign, Contact, User
from outbound.screenpop.service import pop_for

ON_THE_LINE = frozenset({AgentState.TALKING, AgentState.WRAP_UP})
# A callback time this close to now (a minute typed while the clock turned) is "now".
CALLBACK_SLACK = timedelta(minutes=1)


def current_call(session: Session, agent: Agent, *, for_update: bool = False) -> Attempt | None:
    if agent.state not in ON_THE_LINE:
        return None
    return repository.current_call(session, agent.id, for_update=for_update)


def _call_or_404(session: Session, agent: Agent, *, for_update: bool = False) -> Attempt:
    call = current_call(session, agent, for_update=for_update)
    if call is None:
        raise NotFound(f"you have no call now (you are {agent.state.value})")
    return call


def describe_call(session: Session, agent: Agent, call: Attempt) -> CallOut:
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None  # the attempt's foreign key cascades
    wrapping = agent.state is AgentState.WRAP_UP
    listed = dispositions.parse(campaign.dispositions)
    callback_at = None
    chosen = next((d for d in listed if d.code == call.disposition), None)
    if chosen is not None and chosen.outcome is DispositionOutcome.CALLBACK_REQUESTED:
        contact = session.get(Contact, call.contact_id)
        if contact is not None and contact.last_attempt_id == call.id:
            callback_at = contact.next_attempt_at
    return CallOut(
        agent_state=agent.state,
        since=agent.state_since,
        wrap_up_seconds=campaign.wrap_up_seconds,
        wrap_up_ends_at=wrap_up_ends(agent.state_since, campaign.wrap_up_seconds)
        if wrapping
        else None,
        disposition=call.disposition,
        form_values=call.form_values,
        dispositions=listed,
        callback_at=callback_at,
        contact_zones=[z for z in zones_for(call.phone_number) if z != UNKNOWN] or ["UTC"],
        screen_pop=pop_for(session, call),
    )


def my_call(session: Session, agent: Agent) -> CallOut:
    return describe_call(session, agent, _call_or_404(session, agent))


def end_call(session: Session, agent: Agent, *, now: datetime, user: User | None = None) -> Agent:
    """The agent is done talking (the desktop's or the CTI's "end call"): wrap-up starts;
    the wrap-up sweep ends it after the campaign's ``wrap_up_seconds``."""
    if agent.state is not AgentState.TALKING:
        raise Conflict(f"you are {agent.state.value}, not talking: there is no call to end")
    change_state(session, agent, AgentState.WRAP_UP, reason=None, by=user, by_agent=False, now=now)
    agent.last_heartbeat_at = now
    return agent


def dispose(
    session: Session, agent: Agent, body: DispositionRequest, *, user: User, now: datetime
) -> CallOut:
    """Record how the call ended; a talking agent goes to wrap-up with it."""
    call = _call_or_404(session, agent, for_update=True)
    if call.disposition is not None:
        raise Conflict(f"this call was already disposed as {call.disposition!r}")
    campaign = session.get(Campaign, call.campaign_id)
    assert campaign is not None
    chosen = dispositions.find(campaign.dispositions, body.disposition)
    if chosen is None:
        codes = ", ".join(d.code for d in dispositions.parse(campaign.dispositions))
        raise Invalid(
            ("body", "disposition"),
            f"{body.disposition!r} is not a disposition of campaign {campaign.name!r} "
            f"(one of: {codes})",
        )
    try:
        values = check_form(campaign.agent_form, dict(body.form_values))
    except FormProblem as problem:
        loc = ("body", "form_values") + ((problem.field,) if problem.field else ())
        raise Invalid(loc, str(problem)) from None
    if body.callback_at is not None and chosen.outcome is not DispositionOutcome.CALLBACK_REQUESTED:
        raise Invalid(
            ("body", "callback_at"),
            f"a callback time goes with a callback_requested disposition; {chosen.code!r} "
            f"stands for {chosen.outcome.value}",
        )
    if body.callback_at is not None and body.callback_at < now - CALLBACK_SLACK:
        raise Invalid(("body", "callback_at"), "the callback time has passed; give a later one")
    record_disposition(
        session,
        call,
        code=chosen.code,
        outcome=attempt_outcome(chosen.outcome),
        do_not_call=chosen.outcome is DispositionOutcome.DO_NOT_CALL,
        form_values=values,
        callback_at=body.callback_at,
        callback_agent_id=agent.id if body.callback_personal else None,
        now=now,
    )
    if agent.state is AgentState.TALKING:
        change_state(
            session, agent, AgentState.WRAP_UP, reason=None, by=user, by_agent=False, now=now
        )
    agent.last_heartbeat_at = now
    return describe_call(session, agent, call)
