"""This process's own series: what its engine, deliverer and importer did, as it happened.

Every process (``outbound serve``, each ``outbound worker``) counts its own events in its
own registry, each series labelled ``worker`` (host:pid); across processes they add up with
``sum without (worker, instance)``. A count that follows a database change is taken only
once that change is committed (``on_commit``): a transaction rolled back and tried again
counts once, so the attempts counted, summed over the processes, are the attempts in the
database.
"""

from __future__ import annotations

import os
import socket
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

ATTEMPTS = Counter(
    "outbound_attempts",
    "Attempts started (recorded as sent and handed to a channel), by campaign id and channel.",
    ["worker", "campaign", "channel"],
    registry=REGISTRY,
)
RESULTS = Counter(
    "outbound_attempt_results",
    "Attempts that took their first result, by campaign id, channel and outcome; "
    "outcome 'dangling' for an attempt ended with no result (timeout, its worker died).",
    ["worker", "campaign", "channel", "outcome"],
    registry=REGISTRY,
)
DISPATCH_DELAY = Histogram(
    "outbound_dispatch_delay_seconds",
    "From when a contact was due (its due time, its campaign's start or its window's "
    "opening, whichever is last) to its attempt's hand-over to the channel.",
    ["worker", "channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
ENGINE_STEPS = Counter(
    "outbound_engine_steps", "Engine loop steps run.", ["worker"], registry=REGISTRY
)
ENGINE_ERRORS = Counter(
    "outbound_engine_errors",
    "Engine loop steps that failed (the loop retries a second later).",
    ["worker"],
    registry=REGISTRY,
)
WEBHOOK_DELIVERIES = Counter(
    "outbound_webhook_deliveries",
    "Webhook delivery tries by result: delivered (2xx), retry (failed, tried again later), "
    "failed (failed and given up).",
    ["worker", "result"],
    registry=REGISTRY,
)

_PENDING = "outbound.metrics.pending"


@cache
def _worker(pid: int) -> str:
    return f"{socket.gethostname()[:40]}:{pid}"


def worker() -> str:
    """This process's label: host and process id."""
    return _worker(os.getpid())


# -- counting on commit --------------------------------------------------------------------
def on_commit(session: Session, count: Callable[[], None]) -> None:
    """Run ``count`` once the session's transaction commits; never if it rolls back."""
    _install()
    session.info.setdefault(_PENDING, []).append(count)


def _after_commit(session: Session) -> None:
    for count in session.info.pop(_PENDING, ()):
        count()


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


@cache
def _install() -> None:
    event.listen(Session, "after_commit", _after_commit)
    event.listen(Session, "after_rollback", _after_rollback)


# -- the engine's events -------------------------------------------------------------------
def _channel_of(outcome: str) -> str:
    return "sms" if outcome.startswith("sms_") else "voice"


def attempts_started(session: Session, started: Iterable[tuple[int, Any]]) -> None:
    """Attempts (campaign id, channel) recorded in this transaction."""
    tally = Tally((str(campaign), str(channel)) for campaign, channel in started)
    if not tally:
        return

    def count() -> None:
        me = worker()
        for (campaign, channel), n in tally.items():
            ATTEMPTS.labels(me, campaign, channel).inc(n)

    on_commit(session, count)


def first_results(session: Session, ended: Iterable[tuple[int, Any]]) -> None:
    """Attempts (campaign id, outcome) that took their first result in this transaction."""
    _results(session, ((c, _channel_of(str(o)), str(o)) for c, o in ended))


def dangling(session: Session, ended: Iterable[tuple[int, Any]]) -> None:
    """Attempts (campaign id, channel) ended with no result in this transaction."""
    _results(session, ((c, str(channel), "dangling") for c, channel in ended))


def _results(session: Session, rows: Iterable[tuple[int, str, str]]) -> None:
    tally = Tally((str(campaign), channel, outcome) for campaign, channel, outcome in rows)
    if not tally:
        return

    def count() -> None:
        me = worker()
        for (campaign, channel, outcome), n in tally.items():
            RESULTS.labels(me, campaign, channel, outcome).inc(n)

    on_commit(session, count)


def handed_over(due: dict[int, tuple[Any, datetime]], refused: set[int], at: datetime) -> None:
    """Attempts given to a channel at ``at``: attempt id -> (channel, when it was due)."""
    me = worker()
    for attempt_id, (channel, since) in due.items():
        if attempt_id not in refused:
            DISPATCH_DELAY.labels(me, str(channel)).observe(max(0.0, (at - since).total_seconds()))


def engine_step(*, failed: bool) -> None:
    ENGINE_STEPS.labels(worker()).inc()
    if failed:
        ENGINE_ERRORS.labels(worker()).inc()


def webhook_tries(session: Session, results: Iterable[str]) -> None:
    """Delivery tries recorded in this transaction: 'delivered', 'retry' or 'failed'."""
    tally = Tally(results)
    if not tally:
        return

    def count() -> None:
        me = worker()
        for result, n in tally.items():
            WEBHOOK_DELIVERIES.labels(me, result).inc(n)

    on_commit(session, count)
