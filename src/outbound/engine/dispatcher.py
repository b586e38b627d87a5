"""Claiming due contacts of one campaign and recording their attempts as sent.

Everything about an attempt is committed (contact ``Sent to Dialer``, attempt row, the
campaign's in-flight count and rate bucket) before anything is handed to a channel: a crash
after the commit leaves at worst a ``Sent to Dialer`` contact that the dangling sweep
closes, never a second dial. The DNC list and the window are checked here, at the gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from outbound.channels.base import Dial, Sms
from outbound.contacts.states import ContactState
from outbound.contacts.zones import zones_for
from outbound.db.engine import Database
from outbound.dnc.service import is_listed
from outbound.engine import store
from outbound.engine.decisions import PlanAttempt, number_for
from outbound.engine.pacing import allowance, refill
from outbound.engine.runtime import CampaignRuntime
from outbound.engine.transitions import close
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Channel

NO_WINDOW_RETRY = timedelta(days=1)
_PLACEHOLDER = re.compile(r"\{(phone[1-5]|param(?:[1-9]|1[0-2])|crm_contact_id)\}")


@dataclass
class Handover:
    dials: list[Dial] = field(default_factory=list)
    messages: list[Sms] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.dials) + len(self.messages)


@dataclass(frozen=True)
class Claimed:
    started: int
    handover: Handover
    blocked: str | None = None  # why nothing (more) could start: "window", "pacing", "capacity"


def render(template: str, contact: Contact) -> str:
    """An SMS text with {param1}…{param12}, {phone1}… and {crm_contact_id} filled in."""
    return _PLACEHOLDER.sub(lambda m: str(getattr(contact, m.group(1)) or ""), template)


def dispatch(
    db: Database,
    rt: CampaignRuntime,
    *,
    worker_id: str,
    now: datetime,
    budget: int,
    capacity: int,
) -> Claimed:
    if not rt.contact_local and not rt.calendar.open_in_all(now, (rt.zone,)):
        return Claimed(0, Handover(), "window")
    with db.transaction() as session:
        campaign = store.lock_campaign(session, rt.id)
        if campaign is None or not campaign.running:
            return Claimed(0, Handover(), "stopped")
        tokens = refill(campaign.rate_tokens, campaign.rate_at, now, rt.calls_per_second)
        room = allowance(
            max_concurrent=rt.max_concurrent,
            in_flight=campaign.in_flight,
            tokens=tokens,
            budget=budget,
            capacity=capacity,
        )
        if room == 0:
            campaign.rate_tokens, campaign.rate_at = tokens, now
            blocked = "pacing" if campaign.in_flight < rt.max_concurrent else "capacity"
            return Claimed(0, Handover(), blocked)
        contacts = _claim(session, rt, now=now, limit=room)
        handover = _start(session, rt, contacts, worker_id=worker_id, now=now)
        started = len(handover)
        campaign.in_flight += started
        campaign.rate_tokens, campaign.rate_at = tokens - started, now
    return Claimed(started, handover)


def _claim(session: Session, rt: CampaignRuntime, *, now: datetime, limit: int) -> list[Contact]:
    newest_first = rt.order.value == "lifo"
    first = store.claim_due(
        session, rt.id, fresh=rt.fresh_first, newest_first=newest_first, now=now, limit=limit
    )
    second = store.claim_due(
        session,
        rt.id,
        fresh=not rt.fresh_first,
        newest_first=newest_first,
        now=now,
        limit=limit - len(first),
    )
    return first + second


def _start(
    session: Session, rt: CampaignRuntime, contacts: list[Contact], *, worker_id: str, now: datetime
) -> Handover:
    chosen: list[tuple[Contact, PlanAttempt, int, str]] = []
    for contact in contacts:
        step = rt.plan.at(contact.next_position)
        if step is None or contact.attempt_count >= rt.plan.max_attempts:
            close(contact, ContactState.RETRIES_COMPLETED, now=now)
            continue
        phones = [getattr(contact, f"phone{i}_e164") for i in range(1, 6)]
        slot, number = number_for(phones, step.phone_slot)
        if rt.contact_local and not _open_for(rt, number, now):
            zones = zones_for(number) or (rt.zone,)
            contact.next_attempt_at = rt.calendar.next_open(now, zones) or now + NO_WINDOW_RETRY
            continue
        chosen.append((contact, step, slot, number))
    listed = is_listed(session, [n for *_, n in chosen], rt.id) if chosen else set()
    attempts: list[tuple[Contact, Attempt]] = []
    for contact, step, slot, number in chosen:
        contact.number_to_call = number
        if number in listed:
            close(contact, ContactState.DNC_LISTED, now=now)
            continue
        attempt = Attempt(
            contact_id=contact.id,
            campaign_id=rt.id,
            number=contact.attempt_count + 1,
            strategy_position=step.position,
            channel=step.channel,
            phone_slot=slot,
            phone_number=number,
            sent_at=now,
            worker_id=worker_id,
        )
        session.add(attempt)
        attempts.append((contact, attempt))
        contact.state = ContactState.SENT_TO_DIALER
        contact.request_time = now
        contact.attempt_count += 1
        contact.next_attempt_at = None
    session.flush()
    handover = Handover()
    for contact, attempt in attempts:
        contact.last_attempt_id = attempt.id
        if attempt.channel is Channel.SMS:
            step = rt.plan.at(attempt.strategy_position)
            template = (step.sms_template if step else None) or rt.sms_template
            handover.messages.append(
                Sms(attempt.id, attempt.phone_number, rt.id, render(template, contact))
            )
        else:
            handover.dials.append(Dial(attempt.id, attempt.phone_number, rt.id, rt.type, rt.target))
    return handover


def _open_for(rt: CampaignRuntime, number: str, now: datetime) -> bool:
    return rt.calendar.open_in_all(now, zones_for(number) or (rt.zone,))
