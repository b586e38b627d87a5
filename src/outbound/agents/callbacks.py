"""Callbacks booked for a contact: by a CRM through the API, listed on the agent's desk.

A callback is the contact's next attempt at a time the customer asked for
(``contacts.callback_at``, the contact pending and due then). With an agent
(``contacts.callback_agent_id``) it is **personal**: the dispatcher reserves that agent for
it when the agent is ready, and holds it back from the others until the campaign's
``callback_grace_minutes`` after it is due; then any agent of the campaign gets it, or it
waits for its agent (``callback_after_grace: wait``). The DNC list and the calling window
still apply when it is dialled. Services never commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.agents.schemas import CallbackOut, CallbackRequest, MyCallbackOut
from outbound.campaigns import repository as campaigns
from outbound.campaigns.types import CampaignType, paced_by_agents
from outbound.contacts.states import LABELS, ContactState
from outbound.contacts.zones import UNKNOWN, zones_for
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Agent, Campaign, Contact, agent_campaigns

# A time this close to now (typed while the clock turned) is "now".
SLACK = timedelta(minutes=1)


def describe(contact: Contact) -> CallbackOut:
    return CallbackOut(
        contact_id=contact.id,
        campaign_id=contact.campaign_id,
        callback_at=contact.callback_at,
        agent_id=contact.callback_agent_id,
        state=contact.state,
        next_attempt_at=contact.next_attempt_at,
    )


def _contact(session: Session, campaign: Campaign, contact_id: int) -> Contact:
    contact = session.scalar(
        select(Contact)
        .where(Contact.id == contact_id, Contact.campaign_id == campaign.id)
        .with_for_update()
    )
    if contact is None:
        raise NotFound(f"contact {contact_id} is not in campaign {campaign.name!r}")
    return contact


def schedule(
    session: Session, ref: str, contact_id: int, body: CallbackRequest, *, now: datetime
) -> Contact:
    """Book (or move) the callback of a pending contact; ``agent_id`` makes it personal."""
    campaign = campaigns.get_by_ref(session, ref)
    if campaign.type is CampaignType.SMS:
        raise Conflict(f"campaign {campaign.name!r} sends SMS only; it makes no calls")
    contact = _contact(session, campaign, contact_id)
    if body.at < now - SLACK:
        raise Invalid(("body", "at"), "the callback time has passed; give a later one")
    if body.agent_id is not None:
        if not paced_by_agents(campaign.type, campaign.dialing_mode):
            raise Conflict(
                f"campaign {campaign.name!r} dials in {campaign.dialing_mode.value} mode; "
                "personal callbacks need an Agent campaign in preview or progressive mode",
                loc=("body", "agent_id"),
            )
        serves = session.scalar(
            select(agent_campaigns.c.agent_id).where(
                agent_campaigns.c.agent_id == body.agent_id,
                agent_campaigns.c.campaign_id == campaign.id,
            )
        )
        if serves is None:
            exists = session.get(Agent, body.agent_id) is not None
            raise Conflict(
                f"agent {body.agent_id} does not serve campaign {campaign.name!r}"
                if exists
                else f"agent {body.agent_id} does not exist",
                loc=("body", "agent_id"),
            )
    if contact.state is not ContactState.PENDING:
        raise Conflict(
            f"contact {contact.id} is {LABELS[contact.state]}; a callback is booked for a "
            "pending contact (one with a call on the line: once its result is in)"
        )
    contact.callback_at = body.at
    contact.callback_agent_id = body.agent_id
    contact.next_attempt_at = body.at
    contact.updated_at = now
    session.flush()
    return contact


def cancel(session: Session, ref: str, contact_id: int, *, now: datetime) -> Contact:
    """The contact's booked callback is dropped: it is due again at once, for any agent."""
    campaign = campaigns.get_by_ref(session, ref)
    contact = _contact(session, campaign, contact_id)
    if contact.callback_at is None or contact.state is not ContactState.PENDING:
        raise NotFound(f"contact {contact.id} has no callback booked")
    contact.callback_at = None
    contact.callback_agent_id = None
    contact.next_attempt_at = now
    contact.updated_at = now
    session.flush()
    return contact


def zone_of(number: str | None) -> str:
    """The contact's zone as the desk shows it: the first it may be in, else UTC."""
    zones = [z for z in zones_for(number or "") if z != UNKNOWN]
    return zones[0] if zones else "UTC"


def mine(session: Session, agent: Agent, *, limit: int = 100) -> list[MyCallbackOut]:
    """The agent's personal callbacks still to come (pending), earliest first, each with
    its time on the contact's own clock."""
    query = (
        select(Contact, Campaign.name)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .where(
            Contact.callback_agent_id == agent.id,
            Contact.state == ContactState.PENDING,
            Contact.callback_at.is_not(None),
        )
        .order_by(Contact.callback_at, Contact.id)
        .limit(limit)
    )
    out = []
    for contact, campaign_name in session.execute(query):
        assert contact.callback_at is not None
        zone = zone_of(contact.phone1_e164)
        local = contact.callback_at.astimezone(ZoneInfo(zone))
        out.append(
            MyCallbackOut(
                contact_id=contact.id,
                campaign_id=contact.campaign_id,
                campaign=campaign_name,
                crm_contact_id=contact.crm_contact_id,
                phone=contact.phone1,
                callback_at=contact.callback_at,
                zone=zone,
                local_time=local.strftime("%Y-%m-%d %H:%M"),
            )
        )
    return out
