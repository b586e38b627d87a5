"""Why a campaign is not dialling right now, from a handful of facts. Pure: no I/O, no clock.

The engine's invariant 5 says every decision not to dial must be explainable. The service
gathers the facts with a few aggregate queries; this module turns them into one reason, a
sentence for people, and the instant the reason ends when that is known. The reasons are
checked in the order an operator would fix them: a stopped campaign is "stopped" even if it
also has no contacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from outbound.contacts.zones import zones_for
from outbound.schedules.calendar import HORIZON_DAYS, Calendar
from outbound.strategies.outcomes import Channel

# A worker that has not beaten for this long is presumed gone (the engine beats every 5 s).
LIVE_WORKER_SECONDS = 60


class IdleReason(StrEnum):
    STOPPED = "stopped"
    NO_CONTACTS = "no_contacts"
    ALL_CLOSED = "all_closed"
    OUTSIDE_WINDOW = "outside_window"
    CAPACITY_FULL = "capacity_full"
    NO_CONTACT_DUE = "no_contact_due"
    CHANNEL_DOWN = "channel_down"
    NO_AGENT_READY = "no_agent_ready"


CHANNEL_NAMES = {Channel.VOICE: "dialer", Channel.SMS: "SMS gateway"}


@dataclass(frozen=True)
class Window:
    """Whether the schedule lets the campaign dial now, and if not, when it next will.

    ``sample`` is the number of due contacts judged for a contact-local schedule (0 when the
    campaign's own zone decided).
    """

    open: bool
    opens_at: datetime | None = None
    zone: str | None = None
    sample: int = 0


@dataclass(frozen=True, kw_only=True)
class Facts:
    running: bool
    has_contacts: bool
    has_open: bool
    window: Window
    in_flight: int
    max_concurrent: int
    pending_due: int
    next_due_at: datetime | None
    live_workers: int
    # The channels the due contacts' next attempts need, and the channels that take
    # nothing now (no live worker's has room, none has an attempt in flight).
    due_channels: frozenset[Channel] = frozenset()
    channels_down: frozenset[Channel] = frozenset()
    # What the dialers say about taking nothing (a trunk's back-off), when they say.
    dialer_notes: tuple[str, ...] = ()
    # Preview and progressive campaigns dial only for ready agents: ``agent_mode`` names the
    # mode (None for a campaign that does not wait for agents).
    agent_mode: str | None = None
    agents_assigned: int = 0
    agents_ready: int = 0
    agent_lines: int = 0  # floor(ready x lines_per_agent)


@dataclass(frozen=True)
class Verdict:
    reason: IdleReason | None
    detail: str
    until: datetime | None = None

    @property
    def dialling(self) -> bool:
        return self.reason is None


def campaign_window(calendar: Calendar, zone: str, now: datetime) -> Window:
    """A schedule in the campaign's own time zone: one zone decides for every contact."""
    if calendar.open_in(now, zone):
        return Window(True, zone=zone)
    return Window(False, calendar.next_open(now, (zone,)), zone=zone)


def local_window(
    calendar: Calendar, default_zone: str, numbers: Iterable[str], now: datetime
) -> Window:
    """A contact-local schedule judged on a sample of due numbers.

    It is open when at least one sampled number may be dialled now (the dispatcher will find
    it); otherwise it opens at the earliest opening among them. A number the numbering plan
    does not place is judged in the schedule's own zone, as the dispatcher does.
    """
    zone_sets = {zones_for(n) or (default_zone,) for n in numbers}
    if not zone_sets:
        return Window(True)
    if any(calendar.open_in_all(now, zones) for zones in zone_sets):
        return Window(True, sample=len(zone_sets))
    openings = [o for zones in zone_sets if (o := calendar.next_open(now, zones)) is not None]
    return Window(False, min(openings, default=None), sample=len(zone_sets))


def explain(facts: Facts, *, now: datetime) -> Verdict:
    """The first reason, in operator order, that keeps the campaign from dialling now."""
    if not facts.running:
        return Verdict(IdleReason.STOPPED, "the campaign is stopped; start it to dial")
    if not facts.has_contacts:
        return Verdict(IdleReason.NO_CONTACTS, "the campaign has no contacts; add or upload some")
    if not facts.has_open:
        return Verdict(
            IdleReason.ALL_CLOSED, "every contact's life cycle is closed; nothing is left to dial"
        )
    if not facts.window.open:
        return _outside(facts.window)
    if facts.pending_due == 0:  # capacity holds nothing back when nothing waits for it
        return _nothing_due(facts.next_due_at, now=now)
    if facts.agent_mode is not None:
        held = _held_by_agents(facts)
        if held is not None:
            return held
    if facts.in_flight >= facts.max_concurrent:
        return Verdict(
            IdleReason.CAPACITY_FULL,
            f"all {facts.max_concurrent} concurrent calls are in use; new ones start as these end",
        )
    if facts.live_workers == 0:
        return Verdict(IdleReason.CHANNEL_DOWN, "no engine worker is running")
    if facts.due_channels and facts.due_channels <= facts.channels_down:
        names = [name for c, name in CHANNEL_NAMES.items() if c in facts.due_channels]
        them = "it" if len(names) == 1 else "them"
        detail = (
            f"the {' and the '.join(names)} {'takes' if them == 'it' else 'take'} nothing now "
            f"(down, or no room) and the {facts.pending_due} contacts due wait for {them}"
        )
        if Channel.VOICE in facts.due_channels and facts.dialer_notes:
            detail += "; " + "; ".join(facts.dialer_notes)
        return Verdict(IdleReason.CHANNEL_DOWN, detail)
    return Verdict(
        None,
        f"dialling: {facts.pending_due} contacts due, "
        f"{facts.in_flight} of {facts.max_concurrent} concurrent calls in use",
    )


def _held_by_agents(facts: Facts) -> Verdict | None:
    """A preview or progressive campaign with no ready agent, or every line of its ready
    agents in use."""
    if facts.agents_ready == 0:
        if facts.agents_assigned == 0:
            who = "no agent is assigned to it"
        else:
            who = f"none of its {facts.agents_assigned} agents is ready"
        return Verdict(
            IdleReason.NO_AGENT_READY,
            f"a {facts.agent_mode} campaign dials only while an agent is ready, and {who}; "
            f"{facts.pending_due} contacts due wait",
        )
    if facts.in_flight >= facts.agent_lines:
        return Verdict(
            IdleReason.CAPACITY_FULL,
            f"all {facts.agent_lines} lines of its {facts.agents_ready} ready agents are in use; "
            "new calls start as these end or more agents get ready",
        )
    return None


def _outside(window: Window) -> Verdict:
    if window.sample:
        where = f"in the due contacts' local time ({window.sample} time zones sampled)"
    else:
        where = f"in {window.zone}" if window.zone else ""
    if window.opens_at is None:
        detail = f"the schedule has no open window {where} in the next {HORIZON_DAYS} days"
        return Verdict(IdleReason.OUTSIDE_WINDOW, " ".join(detail.split()))
    detail = f"outside the schedule's windows {where} until {stamp(window.opens_at)}"
    return Verdict(IdleReason.OUTSIDE_WINDOW, " ".join(detail.split()), window.opens_at)


def _nothing_due(next_due_at: datetime | None, *, now: datetime) -> Verdict:
    if next_due_at is None:
        return Verdict(
            IdleReason.NO_CONTACT_DUE,
            "no contact is due: the open ones wait for a result from the dialer",
        )
    if next_due_at <= now:
        # Only an SMS wait can be over with nothing pending due: the next sweep moves it on.
        detail = f"no contact is due; an SMS wait that ended at {stamp(next_due_at)} is next"
        return Verdict(IdleReason.NO_CONTACT_DUE, detail)
    detail = f"no contact is due until {stamp(next_due_at)}"
    return Verdict(IdleReason.NO_CONTACT_DUE, detail, next_due_at)


def stamp(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
