"""Delivering the outbox: claim due events, POST them signed, record what the receiver said.

Any number of deliverers may run (one per ``serve`` and ``worker`` process): a claim takes
due events with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and marks them leased, so no other
deliverer sends them while the lease runs; the HTTP requests go out after that commit,
outside any transaction. A deliverer that dies leaves its events leased: they are sent
again once the lease is over (receivers dedupe by ``X-Outbound-Event-Id``).

Per contact and subscription the order holds: an event is not claimed while an earlier
event of the same contact for the same subscription is still pending (retrying). An
event given up (failed) no longer holds the later ones back; it stays visible and can be
redelivered by hand.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from outbound import __version__
from outbound.db.engine import Database
from outbound.engine.clock import Clock, SystemClock
from outbound.engine.store import among
from outbound.metrics import series as metrics
from outbound.models import DeliveryStatus, WebhookEvent, WebhookSubscription
from outbound.webhooks import signing
from outbound.webhooks.outbox import ATTEMPT_RESULT, PING

log = logging.getLogger(__name__)
PENDING = DeliveryStatus.PENDING


@dataclass(frozen=True)
class Policy:
    """How hard a deliverer tries: backoff doubles from ``base`` up to ``cap`` (each delay
    drawn between half and all of it), until ``max_tries`` or ``max_age``."""

    timeout: float = 10.0
    batch: int = 32
    concurrency: int = 8
    base: timedelta = timedelta(seconds=10)
    cap: timedelta = timedelta(hours=1)
    max_tries: int = 15
    max_age: timedelta = timedelta(days=1)
    idle_seconds: float = 1.0

    @property
    def lease(self) -> timedelta:
        """Longer than the slowest batch: no event is sent twice by two deliverers."""
        rounds = math.ceil(self.batch / self.concurrency)
        return timedelta(seconds=self.timeout * 2 * rounds + 30)

    def backoff(self, tries: int, rng: random.Random) -> timedelta:
        delay: timedelta = min(self.cap, self.base * 2 ** max(tries - 1, 0))
        return delay * (0.5 + rng.random() / 2)


@dataclass(frozen=True)
class _Job:
    event_id: int
    url: str
    secret: str
    event_type: str
    body: bytes


@dataclass(frozen=True)
class _Answer:
    event_id: int
    at: datetime
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def payload(event: WebhookEvent) -> dict[str, Any]:
    """What a receiver gets: built from the row alone, so a retry sends the same body."""
    out: dict[str, Any] = {
        "event_id": event.id,
        "type": event.event_type,
        "occurred_at": signing.iso(event.occurred_at),
        "subscription_id": event.subscription_id,
    }
    if event.event_type == PING:
        return out
    attempt: dict[str, Any] | None = None
    if event.attempt_id is not None:
        attempt = {
            "id": event.attempt_id,
            "phone_number": event.phone_number,
            "sent_at": signing.iso(event.attempt_sent_at),
            "ended_at": signing.iso(event.attempt_ended_at),
        }
        if event.event_type == ATTEMPT_RESULT:  # an agent call's disposition and form
            attempt["disposition"] = event.disposition
            attempt["form_values"] = event.form_values
    return out | {
        "contact_id": event.contact_id,
        "crm_contact_id": event.crm_contact_id,
        "campaign_id": event.campaign_id,
        "crm_campaign_id": event.crm_campaign_id,
        "state": event.state,
        "outcome": event.outcome,
        "attempt": attempt,
    }


def claim(session: Session, *, now: datetime, policy: Policy) -> list[_Job]:
    """Due events, at most one per contact and subscription, leased to this deliverer."""
    earlier = aliased(WebhookEvent)
    held_back = (
        select(earlier.id)
        .where(
            earlier.subscription_id == WebhookEvent.subscription_id,
            earlier.contact_id == WebhookEvent.contact_id,
            earlier.status == PENDING,
            earlier.id < WebhookEvent.id,
        )
        .exists()
    )
    query = (
        select(WebhookEvent.id)
        .join(
            WebhookSubscription,
            and_(
                WebhookSubscription.id == WebhookEvent.subscription_id, WebhookSubscription.active
            ),
        )
        .where(
            WebhookEvent.status == PENDING,
            WebhookEvent.next_try_at <= now,
            or_(WebhookEvent.claimed_until.is_(None), WebhookEvent.claimed_until <= now),
            ~held_back,
        )
        .order_by(WebhookEvent.next_try_at, WebhookEvent.id)
        .limit(policy.batch)
        .with_for_update(of=WebhookEvent, skip_locked=True)
    )
    found = list(session.scalars(query))
    if not found:
        return []
    # Conditional, for SQLite (no row locks: another deliverer may have read the same rows):
    # only the events still free are leased, and only those are sent.
    leased = session.execute(
        update(WebhookEvent)
        .where(
            among(session, WebhookEvent.id, found),
            WebhookEvent.status == PENDING,
            or_(WebhookEvent.claimed_until.is_(None), WebhookEvent.claimed_until <= now),
        )
        .values(claimed_until=now + policy.lease)
        .returning(WebhookEvent.id)
    )
    ids = sorted(leased.scalars())
    if not ids:
        return []
    rows = session.execute(
        select(WebhookEvent, WebhookSubscription.url, WebhookSubscription.secret)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookEvent.subscription_id)
        .where(among(session, WebhookEvent.id, ids))
        .order_by(WebhookEvent.id)
    )
    return [
        _Job(event.id, url, secret, event.event_type, signing.body(payload(event)))
        for event, url, secret in rows
    ]


def record(
    session: Session, answers: Sequence[_Answer], *, policy: Policy, rng: random.Random
) -> None:
    """Delivered, or the next try after a backoff, or given up."""
    by_id = {a.event_id: a for a in answers}
    tried: list[str] = []
    query = (
        select(WebhookEvent)
        .where(among(session, WebhookEvent.id, sorted(by_id)))
        .order_by(WebhookEvent.id)
        .with_for_update()
    )
    for event in session.scalars(query):
        answer = by_id[event.id]
        if event.status is not PENDING:  # redelivered or changed by hand meanwhile
            continue
        event.tries += 1
        event.last_try_at = answer.at
        event.last_status = answer.status
        event.last_error = answer.error
        event.claimed_until = None
        if answer.ok:
            event.status = DeliveryStatus.DELIVERED
            event.delivered_at = answer.at
            event.next_try_at = None
        elif event.tries >= policy.max_tries or answer.at - event.occurred_at >= policy.max_age:
            event.status = DeliveryStatus.FAILED
            event.next_try_at = None
        else:
            event.next_try_at = answer.at + policy.backoff(event.tries, rng)
        tried.append(
            "delivered" if answer.ok else "failed" if event.next_try_at is None else "retry"
        )
    metrics.webhook_tries(session, tried)


class Deliverer:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
        seed: int | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.policy = policy or Policy()
        self.rng = random.Random(seed)
        self.stop_event = threading.Event()
        self.failing: str | None = None  # the last round's error, for the health report
        self._http = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout, connect=min(5.0, self.policy.timeout)),
            follow_redirects=False,
            headers={"User-Agent": f"outbound-webhooks/{__version__}"},
        )
        self._pool = ThreadPoolExecutor(self.policy.concurrency, thread_name_prefix="webhook")

    def step(self) -> int:
        """One batch: claim, send, record; returns how many events were tried."""
        with self.db.transaction() as session:
            jobs = claim(session, now=self.clock.now(), policy=self.policy)
        if not jobs:
            return 0
        answers = list(self._pool.map(self._send, jobs))
        with self.db.transaction() as session:
            record(session, answers, policy=self.policy, rng=self.rng)
        return len(jobs)

    def _send(self, job: _Job) -> _Answer:
        at = self.clock.now()
        stamp = int(at.timestamp())
        headers = {
            "Content-Type": "application/json",
            signing.SIGNATURE: signing.signature(job.secret, stamp, job.body),
            signing.TIMESTAMP: str(stamp),
            signing.EVENT_ID: str(job.event_id),
            signing.EVENT_TYPE: job.event_type,
        }
        try:
            response = self._http.post(job.url, content=job.body, headers=headers)
        except httpx.HTTPError as exc:
            return _Answer(job.event_id, at, None, f"{type(exc).__name__}: {exc}"[:500])
        error = None
        if not 200 <= response.status_code < 300:
            error = f"HTTP {response.status_code}: {response.text[:200]}"[:500]
        return _Answer(job.event_id, at, response.status_code, error)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                busy = self.step()
                self.failing = None
            except Exception as exc:
                log.exception("webhook delivery failed; retrying")
                self.failing = f"{type(exc).__name__}: {exc}"[:500]
                busy = 0
            if not busy:
                self.stop_event.wait(self.policy.idle_seconds)

    def stop(self) -> None:
        self.stop_event.set()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._http.close()
