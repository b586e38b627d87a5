"""The database's series, read at scrape time: the same figure from whichever process asks.

Each query is served by an index (contacts due: the claim index; calls in flight: the open
attempts' partial index; the webhook backlog: the pending events' partial index) or reads
a small table (campaigns, agents, workers, import jobs). A scrape within ``min_interval``
of the last one gets the last figures: scrapers in a hurry cost the database nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from outbound.agents.states import AgentState
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Agent, Attempt, Campaign, Contact, ImportJob, Worker
from outbound.models.import_job import ImportStatus
from outbound.models.webhook import DeliveryStatus, WebhookEvent
from outbound.strategies.outcomes import Channel

log = logging.getLogger(__name__)

Family = GaugeMetricFamily | CounterMetricFamily


def _pairs(rows: Iterable[Any]) -> dict[Any, int]:
    """A (key, count) query as a dict."""
    return {row[0]: int(row[1]) for row in rows}


class DatabaseCollector(Collector):
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        silent_worker: timedelta,
        min_interval: float = 5.0,
    ) -> None:
        self.db, self.clock, self.silent_worker = db, clock, silent_worker
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._last: tuple[float, list[Family]] | None = None

    def describe(self) -> Iterable[Family]:
        return []  # nothing at registration: the families are read from the database

    def collect(self) -> Iterator[Family]:
        with self._lock:
            if self._last is None or time.monotonic() - self._last[0] >= self.min_interval:
                self._last = (time.monotonic(), self._read())
            families = self._last[1]
        yield from families

    def _read(self) -> list[Family]:
        up = GaugeMetricFamily(
            "outbound_metrics_database_up",
            "1 when the database answered this scrape's queries, else 0 (figures left out).",
        )
        try:
            families = self._query(self.clock())
        except Exception as exc:
            log.warning(
                "metrics: the database did not answer: %s: %s",
                type(exc).__name__,
                exc,
                exc_info=True,
            )
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _query(self, now: datetime) -> list[Family]:
        info = GaugeMetricFamily(
            "outbound_campaign_info",
            "Every campaign: its id (the campaign label elsewhere), name and whether started.",
            labels=["campaign", "name", "running"],
        )
        campaign_flight = GaugeMetricFamily(
            "outbound_campaign_in_flight",
            "Attempts counted against each started campaign's concurrency right now.",
            labels=["campaign"],
        )
        due = GaugeMetricFamily(
            "outbound_contacts_due",
            "Contacts of each started campaign due now (pending, due time passed), dialled or not.",
            labels=["campaign"],
        )
        in_flight = GaugeMetricFamily(
            "outbound_in_flight",
            "Attempts handed to a channel and waiting for their first result (calls ringing, "
            "messages not yet accepted), by channel.",
            labels=["channel"],
        )
        agents = GaugeMetricFamily("outbound_agents", "Agents in each state.", labels=["state"])
        backlog = GaugeMetricFamily(
            "outbound_webhook_backlog", "Webhook events waiting to be delivered (pending)."
        )
        workers = GaugeMetricFamily(
            "outbound_engine_workers_alive",
            "Engine workers (serve and worker processes) whose heartbeat is recent.",
        )
        imports = CounterMetricFamily(
            "outbound_import_rows",
            "Rows of every import job by what became of them: imported, rejected, duplicate, "
            "dnc (listed, imported closed).",
            labels=["result"],
        )
        jobs = GaugeMetricFamily(
            "outbound_import_jobs", "Import jobs queued or running now.", labels=["status"]
        )
        with self.db.transaction() as session:
            running: set[int] = set()
            for cid, name, is_running, flight in session.execute(
                select(Campaign.id, Campaign.name, Campaign.running, Campaign.in_flight)
            ):
                info.add_metric([str(cid), name, str(bool(is_running)).lower()], 1)
                if is_running:
                    running.add(cid)
                    campaign_flight.add_metric([str(cid)], flight)
            counted: dict[int, int] = dict.fromkeys(running, 0)
            if running:
                query = (
                    select(Contact.campaign_id, func.count())
                    .where(
                        Contact.campaign_id.in_(sorted(running)),
                        Contact.state == ContactState.PENDING,
                        Contact.next_attempt_at <= now,
                    )
                    .group_by(Contact.campaign_id)
                )
                counted |= _pairs(session.execute(query))
            for cid, n in sorted(counted.items()):
                due.add_metric([str(cid)], n)
            open_attempts = (
                select(Attempt.channel, func.count())
                .where(Attempt.ended_at.is_(None), Attempt.answered_at.is_(None))
                .group_by(Attempt.channel)
            )
            flights = _pairs(session.execute(open_attempts))
            for channel in Channel:
                in_flight.add_metric([channel.value], flights.get(channel, 0))
            by_state = _pairs(
                session.execute(select(Agent.state, func.count()).group_by(Agent.state))
            )
            for state in AgentState:
                agents.add_metric([state.value], by_state.get(state, 0))
            pending = select(func.count()).where(WebhookEvent.status == DeliveryStatus.PENDING)
            backlog.add_metric([], session.scalar(pending) or 0)
            alive = select(func.count()).where(
                Worker.stopped_at.is_(None), Worker.heartbeat_at >= now - self.silent_worker
            )
            workers.add_metric([], session.scalar(alive) or 0)
            sums = session.execute(
                select(
                    func.coalesce(func.sum(ImportJob.rows_imported), 0),
                    func.coalesce(func.sum(ImportJob.rows_rejected), 0),
                    func.coalesce(func.sum(ImportJob.rows_duplicate), 0),
                    func.coalesce(func.sum(ImportJob.rows_dnc), 0),
                )
            ).one()
            for result, n in zip(("imported", "rejected", "duplicate", "dnc"), sums, strict=True):
                imports.add_metric([result], int(n))
            active = _pairs(
                session.execute(
                    select(ImportJob.status, func.count())
                    .where(ImportJob.status.in_([ImportStatus.QUEUED, ImportStatus.RUNNING]))
                    .group_by(ImportJob.status)
                )
            )
            for status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
                jobs.add_metric([status.value], active.get(status, 0))
        return [info, campaign_flight, due, in_flight, agents, backlog, workers, imports, jobs]
