"""Preview dialing: the agent sees the next contact first, then calls it or skips it.

``show`` picks the next contact for a ready agent among its preview campaigns (its own due
personal callbacks first, then the campaign's order) and reserves the agent with it: a
reservation row that names the contact (``agent_reservations.contact_id``) holds that
contact from every other agent and from the dispatcher while the agent looks. ``call``
marks the reservation; the engine's dispatcher dials it for that agent (the DNC list and
the window are checked again there) and the answer hands the customer over as in
progressive mode. ``skip`` records a disposition instead of a call: its outcome is applied
by the contact's strategy (no attempt is made) and the agent is ready again. A preview left
alone past ``PREVIEW_LEASE`` is given back by the reservations' sweep. Services never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, exists, or_, select
from sqlalchemy.orm import Session

from outbound.agents import reservations, service
from outbound.agents.callbacks import zone_of
from outbound.agents.schemas import PreviewOut, SkipRequest
from outbound.agents.states import AgentState
from outbound.campaigns import dispositions
from outbound.campaigns.dispositions import DispositionOutcome, attempt_outcome
from outbound.campaigns.types import CampaignType, DialingMode
from outbound.contacts.states import ContactState
from outbound.contacts.zones import zones_for
from outbound.dnc.service import add_number
from outbound.engine.decisions import decide, number_for
from outbound.engine.runtime import load_running
from outbound.engine.transitions import apply_decision, close
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Agent, AgentReservation, Campaign, Contact, User, agent_campaigns
from outbound.screenpop.schemas import PopParam, PopPhone
from outbound.strategies.outcomes import Outcome

PREVIEW_LEASE = timedelta(minutes=5)  # how long an agent may look before it is given back
CANDIDATES = 20  # contacts looked at per campaign for one outside its window
DNC_SOURCE = "agent"


def mine(session: Session, agent: Agent) -> AgentReservation | None:
    return session.scalar(
        select(AgentReservation)
        .where(AgentReservation.agent_id == agent.id, AgentReservation.contact_id.is_not(None))
        .with_for_update()
    )


def describe(session: Session, row: AgentReservation) -> PreviewOut:
    contact = session.get(Contact, row.contact_id)
    campaign = session.get(Campaign, row.campaign_id)
    assert contact is not None and campaign is not None
    (rt,) = load_running(session, campaign_ids=[campaign.id])
    step = rt.plan.at(contact.next_position)
    phones = [getattr(contact, f"phone{i}_e164") for i in range(1, 6)]
    _slot, number = number_for(phones, step.phone_slot if step else 1)
    return PreviewOut(
        campaign_id=campaign.id,
        campaign=campaign.name,
        agent_script=campaign.agent_script,
        contact_id=contact.id,
        crm_contact_id=contact.crm_contact_id,
        phones=[
            PopPhone(slot=i, number=raw, e164=getattr(contact, f"phone{i}_e164"))
            for i in range(1, 6)
            if (raw := getattr(contact, f"phone{i}")) is not None
        ],
        params=[
            PopParam(slot=i, value=v)
            for i in range(1, 13)
            if (v := getattr(contact, f"param{i}")) is not None
        ],
        number_to_call=number,
        attempt_number=contact.attempt_count + 1,
        last_outcome=contact.last_outcome,
        callback_at=contact.callback_at,
        personal=contact.callback_agent_id is not None,
        zone=zone_of(number),
        dispositions=dispositions.parse(campaign.dispositions),
        shown_until=row.lease_until,
        dial_requested_at=row.dial_requested_at,
    )


def _next_contact(session: Session, agent: Agent, *, now: datetime) -> Contact | None:
    """The agent's due personal callbacks first, then each preview campaign's due contacts
    (retries by due time, then fresh ones in upload order), skipping contacts held by
    another agent's preview or personal callback and those outside their calling window."""
    campaign_ids = list(
        session.scalars(
            select(Campaign.id)
            .join(agent_campaigns, agent_campaigns.c.campaign_id == Campaign.id)
            .where(
                agent_campaigns.c.agent_id == agent.id,
                agent_campaigns.c.active.is_(True),
                Campaign.running.is_(True),
                Campaign.type == CampaignType.AGENT,
                Campaign.dialing_mode == DialingMode.PREVIEW,
            )
            .order_by(Campaign.priority.desc(), Campaign.id)
        )
    )
    held = exists().where(AgentReservation.contact_id == Contact.id)
    for rt in load_running(session, campaign_ids=campaign_ids) if campaign_ids else []:
        until = rt.held_until(now)
        query = (
            select(Contact)
            .where(
                Contact.campaign_id == rt.id,
                Contact.state == ContactState.PENDING,
                Contact.next_attempt_at <= now,
                ~held,
                or_(
                    Contact.callback_agent_id.is_(None),
                    Contact.callback_agent_id == agent.id,
                    Contact.next_attempt_at <= (until or now),
                ),
            )
            .order_by(
                case((Contact.callback_agent_id == agent.id, 0), else_=1),
                case((Contact.attempt_count > 0, 0), else_=1),
                Contact.next_attempt_at,
                Contact.import_seq,
            )
            .limit(CANDIDATES)
            .with_for_update(skip_locked=True)
        )
        for contact in session.scalars(query):
            step = rt.plan.at(contact.next_position)
            if step is None or contact.attempt_count >= rt.plan.max_attempts:
                continue  # the dispatcher closes it
            phones = [getattr(contact, f"phone{i}_e164") for i in range(1, 6)]
            _slot, number = number_for(phones, step.phone_slot)
            zones = (zones_for(number) or (rt.zone,)) if rt.contact_local else (rt.zone,)
            if rt.calendar.open_in_all(now, zones):
                return contact
    return None


def show(session: Session, agent: Agent, *, now: datetime) -> PreviewOut:
    """The contact the agent previews now: the one already shown, or the next one (the
    agent, ready, is reserved with it). 404 when nothing is due."""
    row = mine(session, agent)
    if row is not None:
        return describe(session, row)
    if agent.state is not AgentState.READY:
        raise Conflict(f"you are {agent.state.value}; go ready to preview the next contact")
    contact = _next_contact(session, agent, now=now)
    if contact is None:
        raise NotFound("no contact of your preview campaigns is due now")
    row = reservations.reserve(session, agent, contact.campaign_id, now=now, lease=PREVIEW_LEASE)
    row.contact_id = contact.id
    session.flush()
    agent.last_heartbeat_at = now
    return describe(session, row)


def _shown(session: Session, agent: Agent) -> AgentReservation:
    row = mine(session, agent)
    if row is None:
        raise Conflict("no contact is shown to you; GET /agents/me/preview first")
    return row


def call(session: Session, agent: Agent, *, now: datetime) -> PreviewOut:
    """Dial the contact shown, for this agent (the engine places the call)."""
    row = _shown(session, agent)
    if row.dial_requested_at is None:
        row.dial_requested_at = now
        row.lease_until = now + reservations.LEASE
    agent.last_heartbeat_at = now
    return describe(session, row)


def skip(session: Session, agent: Agent, body: SkipRequest, *, user: User, now: datetime) -> Agent:
    """Pass the contact shown with a disposition: the strategy applies its outcome (no
    attempt is made), "do not call" lists the number; the agent is ready again."""
    row = _shown(session, agent)
    if row.dial_requested_at is not None:
        raise Conflict("the call is being placed; dispose of it once it is over")
    campaign = session.get(Campaign, row.campaign_id)
    contact = session.scalar(select(Contact).where(Contact.id == row.contact_id).with_for_update())
    assert campaign is not None and contact is not None
    chosen = dispositions.find(campaign.dispositions, body.disposition)
    if chosen is None:
        codes = ", ".join(d.code for d in dispositions.parse(campaign.dispositions))
        raise Invalid(
            ("body", "disposition"),
            f"{body.disposition!r} is not a disposition of campaign {campaign.name!r} "
            f"(one of: {codes})",
        )
    if body.callback_at is not None and chosen.outcome is not DispositionOutcome.CALLBACK_REQUESTED:
        raise Invalid(("body", "callback_at"), "a callback time goes with a callback disposition")
    if body.callback_at is not None and body.callback_at < now - timedelta(minutes=1):
        raise Invalid(("body", "callback_at"), "the callback time has passed; give a later one")
    outcome: Outcome = attempt_outcome(chosen.outcome)
    if chosen.outcome is DispositionOutcome.DO_NOT_CALL:
        for i in range(1, 6):
            if (number := getattr(contact, f"phone{i}_e164")) is not None:
                add_number(
                    session,
                    number,
                    campaign_id=None,
                    source=DNC_SOURCE,
                    note=f"agent skipped contact {contact.id} as do not call",
                    now=now,
                )
        close(contact, ContactState.DNC_LISTED, now=now)
        contact.last_outcome = outcome.value
    else:
        (rt,) = load_running(session, campaign_ids=[campaign.id])
        decision = decide(
            rt.plan,
            position=contact.next_position,
            attempts_made=contact.attempt_count,
            outcome=outcome,
            now=now,
            callback_at=body.callback_at,
        )
        apply_decision(session, contact, decision, outcome=outcome, number=None, now=now)
        booked = body.callback_at is not None and contact.state is ContactState.PENDING
        contact.callback_at = contact.next_attempt_at if booked else None
        contact.callback_agent_id = agent.id if booked else None
    contact.updated_at = now
    session.delete(row)
    service.change_state(
        session, agent, AgentState.READY, reason=None, by=user, by_agent=False, now=now
    )
    agent.last_heartbeat_at = now
    return agent
