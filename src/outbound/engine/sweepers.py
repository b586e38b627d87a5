"""Periodic sweeps: attempts with no result (Dangling), SMS past expiry, dead workers, agents
whose desktop went away."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outbound.agents import reservations
from outbound.agents import service as agents
from outbound.db.engine import Database
from outbound.engine import store
from outbound.engine.decisions import decide
from outbound.engine.results import Runtimes
from outbound.engine.transitions import apply_decision, end_dangling
from outbound.metrics import series as metrics
from outbound.models import Attempt, Worker
from outbound.strategies.outcomes import Outcome
from outbound.webhooks import outbox

BATCH = 1000
RECOVERED = "its worker stopped before a result came"  # the raw result it leaves


def sweep_dangling(db: Database, *, now: datetime, timeout: timedelta) -> int:
    """Attempts sent longer ago than the timeout without any result (neither answered nor
    ended): closed, never redialled. An answered call may go on for hours: it is not one."""
    with db.transaction() as session:
        stale = store.stale_attempts(session, sent_before=now - timeout, limit=BATCH)
        _end_all(session, stale, now=now, why=f"no result within {timeout}")
        return len(stale)


def recover_workers(
    db: Database, *, me: str, now: datetime, silent_for: timedelta, limit: int = BATCH * 10
) -> int:
    """A worker that stopped beating cannot receive its calls' results: end them now.

    A pass ends at most ``limit`` attempts and skips those another transaction holds; a dead
    worker is marked stopped only once none of its attempts is open any more, so the next
    pass picks up whatever this one left."""
    with db.transaction() as session:
        dead = list(
            session.scalars(
                select(Worker.id).where(
                    Worker.id != me,
                    Worker.stopped_at.is_(None),
                    Worker.heartbeat_at < now - silent_for,
                )
            )
        )
        if not dead:
            return 0
        orphans = store.attempts_of_workers(session, dead, limit=limit)
        _end_all(session, orphans, now=now, why=RECOVERED)
        session.flush()
        unfinished = store.workers_with_open_attempts(session, dead)
        done = [worker for worker in dead if worker not in unfinished]
        if done:
            session.execute(update(Worker).where(Worker.id.in_(done)).values(stopped_at=now))
        return len(orphans)


def _end_all(session: Session, attempts: list[Attempt], *, now: datetime, why: str) -> None:
    contacts = store.contacts_by_id(session, [a.contact_id for a in attempts])
    metrics.dangling(session, ((a.campaign_id, a.channel) for a in attempts if not a.answered_at))
    released: Counter[int] = Counter()
    closed = []
    for attempt in attempts:
        answered = attempt.answered_at is not None  # its answer released its place already
        if end_dangling(attempt, contacts.get(attempt.contact_id), now=now, why=why):
            closed.append(attempt.contact_id)
        if not answered:
            released[attempt.campaign_id] += 1
    store.release_in_flight(session, released)
    outbox.contacts_changed(session, closed, now=now)


def sweep_sms_expiry(
    db: Database, *, now: datetime, runtime: Runtimes, default_sms_expiry: int
) -> int:
    """SMS contacts whose wait for a reply is over follow their no-reply rule; their attempt
    records ``sms_expired`` (the receipt it had stays in its raw result), so reports count it."""
    with db.transaction() as session:
        contacts = store.expired_sms(session, now=now, limit=BATCH)
        decided, expired = [], []
        for contact in contacts:
            attempt = (
                session.get(Attempt, contact.last_attempt_id) if contact.last_attempt_id else None
            )
            rt = runtime(contact.campaign_id)
            if attempt is None or rt is None:
                continue
            decision = decide(
                rt.plan,
                position=attempt.strategy_position,
                attempts_made=contact.attempt_count,
                outcome=Outcome.SMS_EXPIRED,
                now=now,
                default_sms_expiry_minutes=default_sms_expiry,
            )
            apply_decision(
                session, contact, decision, outcome=Outcome.SMS_EXPIRED, number=None, now=now
            )
            attempt.outcome = Outcome.SMS_EXPIRED
            expired.append(attempt.id)
            decided.append(contact.id)
        outbox.attempts_ended(session, expired, now=now)
        outbox.contacts_changed(session, decided, now=now)
        return len(contacts)


def sweep_agents(
    db: Database, *, now: datetime, silent_for: timedelta, worker_id: str | None = None
) -> int:
    """Logged-in agents with no heartbeat for ``silent_for``: not ready (Disconnected), so
    the dispatcher dials nothing more for them. Wrap-ups past their campaign's limit end;
    this worker's reservations are renewed and those whose lease ran out given back."""
    with db.transaction() as session:
        moved = agents.sweep_disconnected(session, now=now, silent_for=silent_for)
        moved += agents.sweep_wrap_up(session, now=now)
        if worker_id is not None:
            reservations.renew(session, worker_id=worker_id, now=now)
        moved += reservations.sweep_expired(session, now=now)
        return moved


def give_back_reservations(db: Database, *, now: datetime) -> int:
    """Reservations whose calls all ended unanswered: their agents are ready again."""
    with db.transaction() as session:
        return reservations.give_back_idle(session, now=now)
