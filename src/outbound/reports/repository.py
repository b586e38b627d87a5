"""Aggregate queries behind reports and the idle reasons.

Each one is a COUNT, MIN or GROUP BY over an index whose leading columns are the campaign
(and state): none reads contacts one by one, so the answers stay quick with millions of rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, literal_column, select
from sqlalchemy.orm import Session, selectinload

from outbound.contacts.states import OPEN_STATES, ContactState
from outbound.models import Attempt, Contact, Schedule, StrategyAttempt, Worker
from outbound.reports.idle import LIVE_WORKER_SECONDS
from outbound.reports.timeline import Bucket
from outbound.strategies.outcomes import Channel, Outcome

# Outcome keys for attempts that have none: still with a channel, or ended without a result.
IN_PROGRESS = "in_progress"
NO_RESULT = "no_result"
# Due numbers judged for a contact-local schedule's window.
ZONE_SAMPLE = 200


@dataclass(frozen=True)
class StateCount:
    count: int
    attempts: int  # the sum of the contacts' attempt counts


def has_contacts(
    session: Session, campaign_id: int, *, states: Sequence[ContactState] = ()
) -> bool:
    query = exists().where(Contact.campaign_id == campaign_id)
    if states:
        query = query.where(Contact.state.in_(states))
    return bool(session.scalar(select(query)))


def has_open(session: Session, campaign_id: int) -> bool:
    return has_contacts(session, campaign_id, states=sorted(OPEN_STATES))


def pending_due(session: Session, campaign_id: int, *, now: datetime) -> int:
    """Pending contacts whose next attempt time has come: a range of ix_contacts_due."""
    query = select(func.count()).where(
        Contact.campaign_id == campaign_id,
        Contact.state == ContactState.PENDING,
        Contact.next_attempt_at <= now,
    )
    return int(session.scalar(query) or 0)


def next_due_at(session: Session, campaign_id: int) -> datetime | None:
    """The earliest time an open contact needs the engine: its next attempt or SMS expiry.

    One MIN per state, so each is a single seek into ix_contacts_due rather than a scan.
    """
    found = [
        session.scalar(
            select(func.min(Contact.next_attempt_at)).where(
                Contact.campaign_id == campaign_id, Contact.state == state
            )
        )
        for state in (ContactState.PENDING, ContactState.SMS_SENT)
    ]
    return min((f for f in found if f is not None), default=None)


def due_numbers(session: Session, campaign_id: int, *, now: datetime) -> list[str]:
    """The numbers of the first due contacts, for judging a contact-local window."""
    query = (
        select(func.coalesce(Contact.number_to_call, Contact.phone1_e164))
        .where(
            Contact.campaign_id == campaign_id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at <= now,
        )
        .order_by(Contact.next_attempt_at)
        .limit(ZONE_SAMPLE)
    )
    return list(session.scalars(query))


def due_positions(session: Session, campaign_id: int, *, now: datetime) -> dict[int, int]:
    """``pending_due`` by the strategy position the contacts are due at."""
    query = (
        select(Contact.next_position, func.count())
        .where(
            Contact.campaign_id == campaign_id,
            Contact.state == ContactState.PENDING,
            Contact.next_attempt_at <= now,
        )
        .group_by(Contact.next_position)
    )
    return {int(position): int(n) for position, n in session.execute(query)}


def strategy_channels(session: Session, strategy_ids: set[int]) -> dict[tuple[int, int], Channel]:
    """(strategy id, position) -> the channel of that attempt."""
    query = select(
        StrategyAttempt.strategy_id, StrategyAttempt.position, StrategyAttempt.channel
    ).where(StrategyAttempt.strategy_id.in_(strategy_ids))
    return {(s, p): c for s, p, c in session.execute(query)}


def channels_down(session: Session, *, now: datetime) -> frozenset[Channel]:
    """Channels no live worker can use: each one's room is 0 wherever it is known, and no
    attempt on it is in flight (a full dialer with calls in progress is not down)."""
    live = (
        Worker.stopped_at.is_(None),
        Worker.heartbeat_at >= now - timedelta(seconds=LIVE_WORKER_SECONDS),
    )
    rows = session.execute(select(Worker.dialer_capacity, Worker.sms_capacity).where(*live)).all()
    if not rows:
        return frozenset()
    down = set()
    for channel, index in ((Channel.VOICE, 0), (Channel.SMS, 1)):
        if all(row[index] == 0 for row in rows):
            busy = exists().where(Attempt.ended_at.is_(None), Attempt.channel == channel)
            if not session.scalar(select(busy)):
                down.add(channel)
    return frozenset(down)


def dialer_notes(session: Session, *, now: datetime) -> tuple[str, ...]:
    """What live workers' dialers say about taking no calls (a trunk's Retry-After)."""
    live = (
        Worker.stopped_at.is_(None),
        Worker.heartbeat_at >= now - timedelta(seconds=LIVE_WORKER_SECONDS),
        Worker.dialer_note.is_not(None),
    )
    notes = session.scalars(select(Worker.dialer_note).where(*live).order_by(Worker.id))
    return tuple(dict.fromkeys(n for n in notes if n))


def live_workers(session: Session, *, now: datetime) -> int:
    query = select(func.count()).where(
        Worker.stopped_at.is_(None),
        Worker.heartbeat_at >= now - timedelta(seconds=LIVE_WORKER_SECONDS),
    )
    return int(session.scalar(query) or 0)


def schedules(session: Session, ids: set[int]) -> dict[int, Schedule]:
    query = (
        select(Schedule)
        .where(Schedule.id.in_(ids))
        .options(selectinload(Schedule.windows), selectinload(Schedule.blackouts))
    )
    return {s.id: s for s in session.scalars(query)}


def state_counts(session: Session, campaign_id: int) -> dict[ContactState, StateCount]:
    """One pass over the campaign's contacts, grouped by state."""
    query = (
        select(Contact.state, func.count(), func.coalesce(func.sum(Contact.attempt_count), 0))
        .where(Contact.campaign_id == campaign_id)
        .group_by(Contact.state)
    )
    return {state: StateCount(int(n), int(a)) for state, n, a in session.execute(query)}


def outcome_counts(
    session: Session, campaign_id: int, *, since: datetime | None = None
) -> dict[str, int]:
    """Attempts per outcome, with IN_PROGRESS and NO_RESULT for those without one."""
    query = (
        select(Attempt.outcome, Attempt.ended_at.is_(None), func.count())
        .where(Attempt.campaign_id == campaign_id)
        .group_by(Attempt.outcome, Attempt.ended_at.is_(None))
    )
    if since is not None:
        query = query.where(Attempt.sent_at >= since)
    counts: dict[str, int] = {}
    for outcome, waiting, n in session.execute(query):
        key = _key(outcome, waiting=bool(waiting))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def outcomes_by_bucket(
    session: Session, campaign_id: int, *, bucket: Bucket, start: datetime, end: datetime
) -> list[tuple[str, str, int]]:
    """(bucket label, outcome key, count) for the campaign's attempts sent in [start, end).

    Labelled in a subquery so that the outer GROUP BY names plain columns: PostgreSQL would
    not match a bound format string repeated in the GROUP BY with the one in the SELECT.
    """
    dialect = session.get_bind().dialect.name
    labelled = (
        select(
            _label(dialect, bucket).label("b"),
            Attempt.outcome.label("o"),
            Attempt.ended_at.is_(None).label("w"),
        )
        .where(
            Attempt.campaign_id == campaign_id,
            Attempt.sent_at >= start,
            Attempt.sent_at < end,
        )
        .subquery()
    )
    query = select(labelled.c.b, labelled.c.o, labelled.c.w, func.count()).group_by(
        labelled.c.b, labelled.c.o, labelled.c.w
    )
    return [
        (str(label), _key(outcome, waiting=bool(waiting)), int(n))
        for label, outcome, waiting, n in session.execute(query)
    ]


def _label(dialect: str, bucket: Bucket) -> ColumnElement[str]:
    """The UTC hour or day of sent_at as text in Bucket.label_format, on either backend."""
    if dialect == "postgresql":
        fmt = "YYYY-MM-DD HH24" if bucket is Bucket.HOUR else "YYYY-MM-DD"
        utc = func.timezone(literal_column("'UTC'"), Attempt.sent_at)
        return func.to_char(utc, literal_column(f"'{fmt}'"))
    # SQLite keeps UTC wall time as text ("2025-03-01 09:00:00.000000").
    return func.strftime(literal_column(f"'{bucket.label_format}'"), Attempt.sent_at)


def _key(outcome: Outcome | None, *, waiting: bool) -> str:
    if outcome is not None:
        return outcome.value
    return IN_PROGRESS if waiting else NO_RESULT
