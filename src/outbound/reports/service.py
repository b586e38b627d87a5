"""Reports and idle reasons: gathers the facts with aggregate queries, never per contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.agents import repository as agents
from outbound.campaigns.repository import get_by_ref
from outbound.campaigns.types import paced_by_agents
from outbound.contacts import repository as contacts_repository
from outbound.contacts import service as contacts_service
from outbound.contacts.states import CLOSED_STATES, OPEN_STATES, ContactState
from outbound.engine.pacing import agent_lines
from outbound.engine.runtime import calendar_of
from outbound.errors import Invalid
from outbound.models import Attempt, Campaign, Schedule
from outbound.reports import idle, repository, timeline
from outbound.reports.abandons import (
    AbandonRate,
    ConnectionSpeed,
    abandon_rates,
    connection_speed,
)
from outbound.reports.machines import Machines, machines
from outbound.reports.repository import IN_PROGRESS, NO_RESULT
from outbound.reports.timeline import Bucket
from outbound.strategies.outcomes import Channel, Outcome

# Every key a report's outcome counts carry, zeros included, so dashboards see a fixed shape.
OUTCOME_KEYS: tuple[str, ...] = (*(o.value for o in Outcome), IN_PROGRESS, NO_RESULT)


@dataclass(frozen=True)
class Status:
    campaign_id: int
    name: str
    running: bool
    verdict: idle.Verdict
    in_flight: int
    max_concurrent: int
    pending_due: int
    next_due_at: datetime | None


@dataclass(frozen=True)
class Report:
    campaign_id: int
    since: datetime | None
    counts_by_state: dict[ContactState, int]
    counts_by_outcome: dict[str, int]
    contacts_total: int
    open: int
    closed: int
    attempts_per_contact: float | None
    connect_rate: float | None
    in_flight: int
    abandon_rates: list[AbandonRate]
    machines: Machines
    connection: ConnectionSpeed

    @property
    def attempts_total(self) -> int:
        return sum(self.counts_by_outcome.values())


@dataclass(frozen=True)
class TimelineBucket:
    start: datetime
    outcomes: dict[str, int]


def campaign_status(session: Session, ref: str, *, now: datetime) -> Status:
    campaign = get_by_ref(session, ref)
    schedule = repository.schedules(session, {campaign.schedule_id})[campaign.schedule_id]
    return _status(session, campaign, schedule, _Engine.of(session, {campaign}, now=now), now=now)


def all_statuses(session: Session, *, now: datetime) -> list[Status]:
    """Every campaign's status, for the dashboard: a few queries per campaign."""
    campaigns = list(session.scalars(select(Campaign).order_by(Campaign.id)))
    schedules = repository.schedules(session, {c.schedule_id for c in campaigns})
    engine = _Engine.of(session, set(campaigns), now=now)
    return [_status(session, c, schedules[c.schedule_id], engine, now=now) for c in campaigns]


@dataclass(frozen=True)
class _Engine:
    """What the engine's side looks like to every campaign's status."""

    live_workers: int
    channels_down: frozenset[Channel]
    channels: dict[tuple[int, int], Channel]  # (strategy, position) -> channel
    dialer_notes: tuple[str, ...] = ()  # why live workers' dialers take nothing, if they say

    @classmethod
    def of(cls, session: Session, campaigns: set[Campaign], *, now: datetime) -> _Engine:
        live = repository.live_workers(session, now=now)
        down = repository.channels_down(session, now=now) if live else frozenset()
        strategies = {c.strategy_id for c in campaigns} if down else set()
        channels = repository.strategy_channels(session, strategies) if strategies else {}
        notes = repository.dialer_notes(session, now=now) if Channel.VOICE in down else ()
        return cls(live, down, channels, notes)


def _status(
    session: Session, campaign: Campaign, schedule: Schedule, engine: _Engine, *, now: datetime
) -> Status:
    positions = repository.due_positions(session, campaign.id, now=now)
    due = sum(positions.values())
    next_due = repository.next_due_at(session, campaign.id)
    needed = (engine.channels.get((campaign.strategy_id, p)) for p in positions)
    facts = idle.Facts(
        running=campaign.running,
        has_contacts=repository.has_contacts(session, campaign.id),
        has_open=repository.has_open(session, campaign.id),
        window=_window(session, campaign.id, schedule, due=due, now=now),
        in_flight=campaign.in_flight,
        max_concurrent=campaign.max_concurrent_calls,
        pending_due=due,
        next_due_at=next_due,
        live_workers=engine.live_workers,
        due_channels=frozenset(c for c in needed if c is not None),
        channels_down=engine.channels_down,
        dialer_notes=engine.dialer_notes,
        **_agent_facts(session, campaign),
    )
    return Status(
        campaign_id=campaign.id,
        name=campaign.name,
        running=campaign.running,
        verdict=idle.explain(facts, now=now),
        in_flight=campaign.in_flight,
        max_concurrent=campaign.max_concurrent_calls,
        pending_due=due,
        next_due_at=next_due,
    )


def _agent_facts(session: Session, campaign: Campaign) -> dict[str, Any]:
    """What holds a preview or progressive campaign back: its ready agents and their lines."""
    if not paced_by_agents(campaign.type, campaign.dialing_mode):
        return {}
    ready = agents.ready_by_campaign(session, [campaign.id])[campaign.id]
    return {
        "agent_mode": campaign.dialing_mode.value,
        "agents_assigned": agents.assigned_count(session, campaign.id),
        "agents_ready": ready,
        "agent_lines": agent_lines(
            ready=ready, lines_per_agent=campaign.lines_per_agent, in_flight=0
        ),
    }


def _window(
    session: Session, campaign_id: int, schedule: Schedule, *, due: int, now: datetime
) -> idle.Window:
    calendar = calendar_of(schedule)
    if not schedule.contact_local_time:
        return idle.campaign_window(calendar, schedule.time_zone, now)
    numbers = repository.due_numbers(session, campaign_id, now=now) if due else []
    return idle.local_window(calendar, schedule.time_zone, numbers, now)


def campaign_report(session: Session, ref: str, *, since: datetime | None, now: datetime) -> Report:
    """Live counts: contacts per state (all of them), attempts per outcome (since ``since``)."""
    campaign = get_by_ref(session, ref)
    since = _checked(since, "since")
    by_state = repository.state_counts(session, campaign.id)
    outcomes = repository.outcome_counts(session, campaign.id, since=since)
    counts = {s: by_state[s].count if s in by_state else 0 for s in ContactState}
    closed = sum(counts[s] for s in CLOSED_STATES)
    closed_attempts = sum(by_state[s].attempts for s in CLOSED_STATES if s in by_state)
    return Report(
        campaign_id=campaign.id,
        since=since,
        counts_by_state=counts,
        counts_by_outcome={k: outcomes.get(k, 0) for k in OUTCOME_KEYS},
        contacts_total=sum(counts.values()),
        open=sum(counts[s] for s in OPEN_STATES),
        closed=closed,
        attempts_per_contact=round(closed_attempts / closed, 4) if closed else None,
        connect_rate=round(counts[ContactState.CONNECTED] / closed, 4) if closed else None,
        in_flight=campaign.in_flight,
        abandon_rates=abandon_rates(session, campaign.id, now=now),
        machines=machines(session, campaign, since=since, until=now),
        connection=connection_speed(session, campaign.id, since=since),
    )


def campaign_timeline(
    session: Session,
    ref: str,
    *,
    bucket: Bucket,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> list[TimelineBucket]:
    """Attempt outcomes per UTC hour or day of sending; empty buckets are listed too."""
    campaign = get_by_ref(session, ref)
    try:
        start, end = timeline.span(
            bucket, since=_checked(since, "since"), until=_checked(until, "until"), now=now
        )
    except timeline.RangeError as exc:
        raise Invalid(("query", exc.field), str(exc)) from None
    rows = repository.outcomes_by_bucket(session, campaign.id, bucket=bucket, start=start, end=end)
    found: dict[datetime, dict[str, int]] = {}
    for label, key, n in rows:
        outcomes = found.setdefault(timeline.parse_label(label, bucket), {})
        outcomes[key] = outcomes.get(key, 0) + n
    return [TimelineBucket(at, found.get(at, {})) for at in timeline.starts(start, end, bucket)]


def contact_attempts(session: Session, contact_id: int) -> list[Attempt]:
    contact = contacts_service.get_contact(session, contact_id)
    return contacts_repository.attempts_of(session, contact.id)


def _checked(value: datetime | None, field: str) -> datetime | None:
    """In UTC and within the range every backend stores; else a 422 naming the field."""
    if value is None:
        return None
    try:
        utc: datetime | None = value.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not timeline.EARLIEST <= utc <= timeline.LATEST:
        raise Invalid(
            ("query", field),
            f"must lie between {timeline.EARLIEST:%Y} and {timeline.LATEST:%Y}",
        )
    return utc
