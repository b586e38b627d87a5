"""Claiming due contacts of a few campaigns at a time and recording their attempts as sent.

Everything about an attempt is committed (contact ``Sent to Dialer``, attempt row, the
campaign's in-flight count and rate bucket) before anything is handed to a channel: a crash
after the commit leaves at worst a ``Sent to Dialer`` contact that the dangling sweep
closes, never a second dial. The DNC list and the window are checked here, at the gate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from outbound.agents import reservations
from outbound.agents.repository import ready_by_campaign
from outbound.channels.base import Dial, Sms
from outbound.contacts.states import ContactState
from outbound.contacts.zones import zones_for
from outbound.db.engine import Database
from outbound.engine import store
from outbound.engine.decisions import PlanAttempt, number_for
from outbound.engine.pacing import agent_lines, allowance, refill, reservation_lines
from outbound.engine.runtime import CampaignRuntime
from outbound.engine.store import AnyRow
from outbound.metrics import series as metrics
from outbound.metrics.delay import due_since
from outbound.models import Agent
from outbound.models._columns import utcnow
from outbound.strategies.outcomes import Channel
from outbound.webhooks import outbox

NO_WINDOW_RETRY = timedelta(days=1)
# Campaigns claimed for in one transaction at most: few commits per round, yet another
# worker finds the other campaigns free meanwhile.
CHUNK_CAMPAIGNS = 25
_PLACEHOLDER = re.compile(r"\{(phone[1-5]|param(?:[1-9]|1[0-2])|crm_contact_id)\}")


@dataclass
class Handover:
    dials: list[Dial] = field(default_factory=list)
    messages: list[Sms] = field(default_factory=list)
    # attempt id -> its channel and when its contact became due (the dispatch delay)
    due: dict[int, tuple[Channel, datetime]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.dials) + len(self.messages)


@dataclass(frozen=True)
class Claimed:
    started: int
    handover: Handover
    # Why nothing (more) could start: "window", "pacing", "capacity", "channel" (no channel
    # its strategy uses takes anything now), "stopped", "busy" (another worker is claiming
    # for it right now), "no_agent_ready" or "agents_busy" (preview/progressive: every line
    # of the ready agents is in use).
    blocked: str | None = None


def render(template: str, contact: Any) -> str:
    """An SMS text with {param1}…{param12}, {phone1}… and {crm_contact_id} filled in."""
    return _PLACEHOLDER.sub(lambda m: str(getattr(contact, m.group(1)) or ""), template)


@dataclass(frozen=True, slots=True)
class _Go:
    contact: AnyRow
    step: PlanAttempt
    slot: int
    number: str


@dataclass(frozen=True, slots=True)
class _Reserved:
    """A ready agent locked for a progressive campaign and the contacts dialled for it."""

    agent: Agent
    campaign_id: int
    contacts: tuple[int, ...]


@dataclass
class _Chunk:
    """What one transaction claims for several campaigns; written together before commit."""

    changes: list[dict[str, Any]] = field(default_factory=list)  # contacts closed or deferred
    chosen: list[tuple[CampaignRuntime, _Go]] = field(default_factory=list)  # before DNC
    going: list[tuple[CampaignRuntime, _Go]] = field(default_factory=list)  # to the channel
    gates: dict[int, tuple[int, float]] = field(default_factory=dict)  # in flight, tokens
    blocked: dict[int, str] = field(default_factory=dict)
    left: dict[Channel, int] = field(default_factory=dict)  # what each channel takes still
    ready: dict[int, int] = field(default_factory=dict)  # ready agents of agent-paced campaigns
    # Progressive: the agents locked for the contacts chosen, and what each contact's call
    # goes to once its reservation exists (contact id -> reservation id, SIP address).
    agents: list[_Reserved] = field(default_factory=list)
    reserved_for: dict[int, tuple[int, str]] = field(default_factory=dict)
    # Preview: the reservations whose contact the agent chose to call (contact id ->
    # reservation), and those whose contact cannot be called after all.
    previews: dict[int, Any] = field(default_factory=dict)
    dropped: list[Any] = field(default_factory=list)

    def room(self, rt: CampaignRuntime) -> int:
        """How many more of this campaign's attempts its channels take."""
        return sum(max(0, self.left.get(c, 0)) for c in channels_of(rt))

    def skipped(self, rt: CampaignRuntime) -> set[int]:
        """The campaign's positions whose channel takes nothing more now."""
        return {a.position for a in rt.plan.attempts if self.left.get(a.channel, 0) <= 0}


def channels_of(rt: CampaignRuntime) -> set[Channel]:
    return {a.channel for a in rt.plan.attempts}


def dispatch(
    db: Database,
    runtimes: Sequence[CampaignRuntime],
    *,
    worker_id: str,
    now: datetime,
    budget: int,
    capacity: Mapping[Channel, int],
) -> list[tuple[CampaignRuntime, Claimed]]:
    """Claim for the campaigns in the order given, several in one transaction.

    Visits campaigns (those with nothing due are passed over) until ``CHUNK_CAMPAIGNS`` were
    visited, ``budget`` attempts started or the channels' ``capacity`` is used; returns a
    claim for each campaign visited, so the caller goes on with the rest. One DNC look-up,
    one commit and one write per table serve them all. A campaign another worker is
    claiming for right now is skipped ("busy"), never waited for.

    Each channel's capacity holds back only the attempts on that channel: a campaign none of
    whose channels takes anything is passed over ("channel") without a look at the
    database, and a contact whose next attempt needs a channel that is full or down is left
    waiting (not claimed) while the others go.
    """
    visited: list[CampaignRuntime] = []
    chunk = _Chunk(left=dict(capacity))
    candidates: list[CampaignRuntime] = []
    reach = len(runtimes)  # the campaigns this chunk may visit: up to its last candidate
    for i, rt in enumerate(runtimes):
        if chunk.room(rt) > 0:
            candidates.append(rt)
            if len(candidates) == CHUNK_CAMPAIGNS:
                reach = i + 1
                break
    if not candidates:  # every channel these campaigns use is full or down
        return [(rt, Claimed(0, Handover(), "channel")) for rt in runtimes]
    closed = {rt.id for rt in candidates if not _window_open(rt, now)}
    with db.transaction() as session:
        # One index probe per campaign finds those with nothing due: they are passed over.
        due = store.with_due_contacts(session, [rt.id for rt in candidates], now)
        gates = store.lock_campaigns(
            session, [rt.id for rt in candidates if rt.id in due and rt.id not in closed]
        )
        chunk.ready = ready_by_campaign(session, [rt.id for rt in candidates if rt.agent_paced])
        for rt in runtimes[:reach]:
            if budget - len(chunk.chosen) <= 0 or sum(chunk.left.values()) <= 0:
                break
            visited.append(rt)
            room = min(budget - len(chunk.chosen), chunk.room(rt))
            if room <= 0:
                chunk.blocked[rt.id] = "channel"
                continue
            if rt.id not in due:
                continue
            if rt.id in closed:
                chunk.blocked[rt.id] = "window"
                continue
            why = _visit(
                session, rt, gates.get(rt.id), chunk, now=now, budget=budget, capacity=room
            )
            if why is not None:
                chunk.blocked[rt.id] = why
        _dnc_gate(session, chunk, now=now)
        attempt_of = _record(session, chunk, worker_id=worker_id, now=now)
    claims = []
    for rt in visited:
        going = [go for owner, go in chunk.going if owner is rt]
        handover = _handover(rt, going, attempt_of, chunk.reserved_for, now)
        claims.append((rt, Claimed(len(handover), handover, chunk.blocked.get(rt.id))))
    return claims


def _window_open(rt: CampaignRuntime, now: datetime) -> bool:
    """Contact-local campaigns are checked contact by contact instead."""
    return rt.contact_local or rt.calendar.open_in_all(now, (rt.zone,))


def _visit(
    session: Session,
    rt: CampaignRuntime,
    campaign: AnyRow | None,
    chunk: _Chunk,
    *,
    now: datetime,
    budget: int,
    capacity: int,
) -> str | None:
    """Claim one locked campaign's due contacts into the chunk; returns why it could start
    nothing."""
    if campaign is None:
        return "busy"
    if not campaign.running:
        return "stopped"
    tokens = refill(campaign.rate_tokens, campaign.rate_at, now, rt.calls_per_second)
    room = allowance(
        max_concurrent=rt.max_concurrent,
        in_flight=campaign.in_flight,
        tokens=tokens,
        budget=budget,
        capacity=capacity,
    )
    chunk.gates[rt.id] = (campaign.in_flight, tokens)
    if rt.reserves_agents:
        return _visit_progressive(session, rt, chunk, now=now, room=room)
    if rt.previews:
        return _visit_preview(session, rt, chunk, now=now, room=room)
    if rt.agent_paced:
        ready = chunk.ready.get(rt.id, 0)
        lines = agent_lines(
            ready=ready, lines_per_agent=rt.lines_per_agent, in_flight=campaign.in_flight
        )
        if lines == 0:
            return "no_agent_ready" if ready == 0 else "agents_busy"
        room = min(room, lines)
    if room == 0:
        return "pacing" if campaign.in_flight < rt.max_concurrent else "capacity"
    claimed = _claim(session, rt, now=now, limit=room, skip=chunk.skipped(rt))
    _screen(rt, claimed, chunk, now=now)
    return None


def _visit_progressive(
    session: Session, rt: CampaignRuntime, chunk: _Chunk, *, now: datetime, room: int
) -> str | None:
    """Lock ready agents, claim up to their lines of contacts and share those out: each agent
    gets its contacts in claim order; an agent left without one stays ready (unlocked at
    commit). The reservations are written with the attempts (``_record``)."""
    if room == 0:
        return "capacity" if chunk.gates[rt.id][0] >= rt.max_concurrent else "pacing"
    taken = {r.agent.id for r in chunk.agents}
    personal = _personal(session, rt, chunk, now=now, room=room, taken=taken)
    room -= personal
    if room <= 0:
        return None
    locked = reservations.lock_ready(session, rt.id, limit=room, exclude=taken)
    if not locked:
        if personal:
            return None
        return "no_agent_ready" if chunk.ready.get(rt.id, 0) == 0 else "agents_busy"
    lines = reservation_lines(len(locked), rt.lines_per_agent)
    before = len(chunk.chosen)
    claimed = _claim(session, rt, now=now, limit=min(room, sum(lines)), skip=chunk.skipped(rt))
    _screen(rt, claimed, chunk, now=now)
    chosen = [go.contact.id for _, go in chunk.chosen[before:]]
    for agent, wanted in zip(locked, lines, strict=True):
        mine, chosen = chosen[:wanted], chosen[wanted:]
        if mine:
            chunk.agents.append(_Reserved(agent, rt.id, tuple(mine)))
    return None


def _visit_preview(
    session: Session, rt: CampaignRuntime, chunk: _Chunk, *, now: datetime, room: int
) -> str | None:
    """Preview: dial the contacts agents chose to call (their reservations name them)."""
    asked = reservations.lock_preview_calls(session, rt.id, limit=room)
    if not asked:
        if room == 0:
            return "capacity" if chunk.gates[rt.id][0] >= rt.max_concurrent else "pacing"
        return "no_agent_ready" if chunk.ready.get(rt.id, 0) == 0 and not asked else None
    rows = {row.id: row for row in store.claim_ids(session, [r.contact_id for r in asked])}
    for held in asked:
        contact = rows.get(held.contact_id)
        before = len(chunk.chosen)
        if contact is not None:
            _screen(rt, [contact], chunk, now=now)
        if len(chunk.chosen) > before:
            chunk.previews[held.contact_id] = held
        else:  # closed meanwhile, or outside its window now: the agent is given back
            chunk.dropped.append(held)
    return None


def _personal(
    session: Session,
    rt: CampaignRuntime,
    chunk: _Chunk,
    *,
    now: datetime,
    room: int,
    taken: set[int],
) -> int:
    """Due personal callbacks whose agent is ready: that agent is locked and reserved for
    that one contact (one line: the customer asked for this agent). ``taken`` grows by the
    agents reserved; returns how many contacts were chosen."""
    quoted = any(step.channel is Channel.SMS for step in rt.plan.attempts)
    pairs = store.claim_personal(session, rt.id, now=now, limit=room, quoted=quoted)
    first: dict[int, AnyRow] = {}
    for agent_id, contact in pairs:  # earliest first: one callback per agent per round
        if agent_id not in taken:
            first.setdefault(agent_id, contact)
    agents = reservations.lock_agents(session, list(first))
    chosen = 0
    for agent in agents:
        before = len(chunk.chosen)
        _screen(rt, [first[agent.id]], chunk, now=now)
        if len(chunk.chosen) > before:
            chunk.agents.append(_Reserved(agent, rt.id, (first[agent.id].id,)))
            taken.add(agent.id)
            chosen += 1
    return chosen


def _claim(
    session: Session, rt: CampaignRuntime, *, now: datetime, limit: int, skip: set[int]
) -> list[AnyRow]:
    newest_first = rt.order.value == "lifo"
    quoted = any(step.channel is Channel.SMS for step in rt.plan.attempts)
    first = store.claim_due(
        session,
        rt.id,
        fresh=rt.fresh_first,
        newest_first=newest_first,
        now=now,
        limit=limit,
        quoted=quoted,
        skip=skip,
        held_until=rt.held_until(now),
    )
    second = store.claim_due(
        session,
        rt.id,
        fresh=not rt.fresh_first,
        newest_first=newest_first,
        now=now,
        limit=limit - len(first),
        quoted=quoted,
        skip=skip,
        held_until=rt.held_until(now),
    )
    return first + second


def _screen(rt: CampaignRuntime, contacts: list[AnyRow], chunk: _Chunk, *, now: datetime) -> None:
    """The cap, the channel and the window, contact by contact; the DNC list follows for the
    whole chunk. A contact whose channel took all it could is left as it is (still due)."""
    for contact in contacts:
        step = rt.plan.at(contact.next_position)
        if step is None or contact.attempt_count >= rt.plan.max_attempts:
            chunk.changes.append(_closing(contact.id, ContactState.RETRIES_COMPLETED, now=now))
            continue
        if chunk.left.get(step.channel, 0) <= 0:
            continue
        slot, number = number_for(contact[store.PHONES], step.phone_slot)
        if rt.contact_local and not _open_for(rt, number, now):
            zones = zones_for(number) or (rt.zone,)
            due = rt.calendar.next_open(now, zones) or now + NO_WINDOW_RETRY
            chunk.changes.append({"id": contact.id, "next_attempt_at": due, "updated_at": utcnow()})
            continue
        chunk.chosen.append((rt, _Go(contact, step, slot, number)))
        chunk.left[step.channel] -= 1


def _dnc_gate(session: Session, chunk: _Chunk, *, now: datetime) -> None:
    """The do-not-call lists as they are now, in the transaction that records the attempts."""
    wanted: dict[int, list[str]] = {}
    for rt, go in chunk.chosen:
        wanted.setdefault(rt.id, []).append(go.number)
    listed = store.dnc_listed(session, wanted) if wanted else {}
    for rt, go in chunk.chosen:
        if go.number in listed[rt.id]:
            closing = _closing(go.contact.id, ContactState.DNC_LISTED, now=now)
            chunk.changes.append(closing | {"number_to_call": go.number})
        else:
            chunk.going.append((rt, go))


def _reserve(session: Session, chunk: _Chunk, *, worker_id: str, now: datetime) -> None:
    """Reserve each locked agent that still has a contact to call after the DNC gate."""
    going = {go.contact.id for _, go in chunk.going}
    gone = list(chunk.dropped)
    for contact_id, preview in chunk.previews.items():
        if contact_id in going:
            chunk.reserved_for[contact_id] = (preview.id, preview.sip_address)
        else:
            gone.append(preview)  # on a DNC list: closed at the gate
    reservations.preview_dialled(
        session,
        [chunk.previews[c].id for c in going if c in chunk.previews],
        worker_id=worker_id,
        now=now,
    )
    reservations.give_back_ids(session, [g.id for g in gone], now=now)
    for held in chunk.agents:
        mine = [c for c in held.contacts if c in going]
        if not mine:
            continue
        row = reservations.reserve(
            session, held.agent, held.campaign_id, now=now, worker_id=worker_id
        )
        for contact_id in mine:
            chunk.reserved_for[contact_id] = (row.id, held.agent.sip_address)


def _record(session: Session, chunk: _Chunk, *, worker_id: str, now: datetime) -> dict[int, int]:
    """The attempts, the contacts sent or closed, the campaigns' gates: all before commit."""
    store.update_contacts(session, chunk.changes)
    _reserve(session, chunk, worker_id=worker_id, now=now)
    # Booked callbacks being dialled now are done with (personal or not).
    booked = [
        {"id": go.contact.id, "callback_at": None, "callback_agent_id": None}
        for _, go in chunk.going
        if go.contact.callback_at is not None
    ]
    if booked:
        store.update_contacts(session, booked)
    reserved = (
        {"reservation_id": None} if chunk.reserved_for else {}
    )  # the column only when some attempt has one: one shape for every row
    attempt_of = store.record_attempts(
        session,
        [
            {
                "contact_id": go.contact.id,
                "campaign_id": rt.id,
                "number": go.contact.attempt_count + 1,
                "strategy_position": go.step.position,
                "channel": go.step.channel,
                "phone_slot": go.slot,
                "phone_number": go.number,
                "sent_at": now,
                "worker_id": worker_id,
            }
            | reserved
            | (
                {"reservation_id": chunk.reserved_for[go.contact.id][0]}
                if go.contact.id in chunk.reserved_for
                else {}
            )
            for rt, go in chunk.going
        ],
        now=now,
    )
    # Webhooks (nothing when no subscription): contacts closed at the gate, and sent.
    if outbox.enabled(session):
        moved = [c["id"] for c in chunk.changes if "state" in c]
        outbox.contacts_changed(session, [*moved, *attempt_of], now=now)
    metrics.attempts_started(session, ((rt.id, go.step.channel) for rt, go in chunk.going))
    started = Counter(rt.id for rt, _ in chunk.going)
    stamp = utcnow()
    store.update_campaigns(
        session,
        [
            {
                "id": campaign_id,
                "in_flight": in_flight + started[campaign_id],
                "rate_tokens": tokens - started[campaign_id],
                "rate_at": now,
                "updated_at": stamp,
            }
            for campaign_id, (in_flight, tokens) in chunk.gates.items()
        ],
    )
    return attempt_of


def _closing(contact_id: int, state: ContactState, *, now: datetime) -> dict[str, Any]:
    return {
        "id": contact_id,
        "state": state,
        "closed_at": now,
        "next_attempt_at": None,
        "updated_at": utcnow(),
    }


def _handover(
    rt: CampaignRuntime,
    going: list[_Go],
    attempt_of: dict[int, int],
    reserved_for: dict[int, tuple[int, str]],
    now: datetime,
) -> Handover:
    handover = Handover()
    for go in going:
        attempt_id = attempt_of[go.contact.id]
        handover.due[attempt_id] = (go.step.channel, due_since(rt, go.contact.next_attempt_at, now))
        if go.step.channel is Channel.SMS:
            template = go.step.sms_template or rt.sms_template
            handover.messages.append(
                Sms(attempt_id, go.number, rt.id, render(template, go.contact))
            )
        elif go.contact.id in reserved_for:
            reservation_id, agent = reserved_for[go.contact.id]
            handover.dials.append(
                Dial(
                    attempt_id,
                    go.number,
                    rt.id,
                    rt.type,
                    rt.target,
                    agent=agent,
                    reservation_id=reservation_id,
                    abandon_message=rt.abandon_message,
                    opt_out_digit=rt.opt_out_digit,
                    amd=rt.amd,
                )
            )
        else:
            handover.dials.append(
                Dial(attempt_id, go.number, rt.id, rt.type, rt.target, amd=rt.amd)
            )
    return handover


def _open_for(rt: CampaignRuntime, number: str, now: datetime) -> bool:
    return rt.calendar.open_in_all(now, zones_for(number) or (rt.zone,))
