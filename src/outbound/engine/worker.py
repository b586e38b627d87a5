"""The engine loop of one worker: results in, sweeps, then a fair dispatch round.

Several workers (processes) may run against one PostgreSQL database: claims lock rows and
skip the ones others hold, each worker registers and beats, and a worker that goes silent
has its in-flight attempts ended by the others. On SQLite one engine runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from outbound.channels.base import (
    ChannelError,
    Dial,
    Dialer,
    ExplainsRoom,
    HandsToAgents,
    InboundSms,
    Result,
    Sms,
    SmsGateway,
)
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.db.engine import Database
from outbound.dnc.optout import OptOutWords
from outbound.engine import dispatcher, results, store, sweepers
from outbound.engine.clock import Clock
from outbound.engine.desk import Desk
from outbound.engine.pacing import FairShare
from outbound.engine.runtime import CampaignRuntime, load_running
from outbound.metrics import series as metrics
from outbound.models import Worker
from outbound.settings.schemas import SettingsOut
from outbound.settings.service import get_settings
from outbound.strategies.outcomes import Channel, Outcome

log = logging.getLogger(__name__)


# After a round has started attempts, lines fewer than 1/LEFTOVER of a batch are left for
# the next round (moments later) rather than paid a whole chunk transaction for.
LEFTOVER = 20


@dataclass
class Connections:
    """A dialer's and an SMS gateway's settings (kind and options), as stored."""

    dialer: dict[str, Any]
    sms_gateway: dict[str, Any]

    @classmethod
    def of(cls, settings: SettingsOut) -> Connections:
        return cls(settings.dialer.model_dump(), settings.sms_gateway.model_dump())


@dataclass
class Timing:
    idle: timedelta = timedelta(milliseconds=200)
    refresh: timedelta = timedelta(seconds=2)
    sweep: timedelta = timedelta(seconds=1)
    heartbeat: timedelta = timedelta(seconds=5)
    silent_worker: timedelta = timedelta(seconds=30)


class Engine:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock,
        dialer: Dialer,
        sms: SmsGateway,
        worker_id: str | None = None,
        timing: Timing | None = None,
        connections: Connections | None = None,
    ) -> None:
        """``connections``: the settings the channels were built from; given, the engine
        follows their changes (else it keeps the channels it was handed)."""
        self.db, self.clock, self.dialer, self.sms = db, clock, dialer, sms
        self.connections = connections
        # Replaced channels, polled until their in-flight results are in, then closed.
        self._old_dialers: list[tuple[Dialer, datetime]] = []
        self._old_sms: list[tuple[SmsGateway, datetime]] = []
        self.worker_id = (
            worker_id or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        )
        self.timing = timing or Timing()
        self.fair = FairShare()
        self.stop_event = threading.Event()
        self.failing: str | None = None  # the last round's error, None once a round works
        self._running: dict[int, CampaignRuntime] = {}
        self._others: dict[int, CampaignRuntime] = {}  # stopped, whose results still arrive
        self._pacing_wait: datetime | None = None
        self._due: dict[str, datetime] = {}
        self._backlog: list[Result] = []  # results the database could not take yet
        self._inbound_backlog: list[InboundSms] = []  # and replies
        self.opt_out = OptOutWords()  # the setting's opt-out words, from the first refresh
        self.batch = 500
        self.dangling_timeout = timedelta(minutes=60)
        self.sms_expiry = 1440
        self.agent_silence = timedelta(seconds=30)
        self.desk = Desk(db, clock)
        self._attach(dialer)

    def _attach(self, dialer: Dialer) -> None:
        """A dialer that hands answered customers to reserved agents asks the desk."""
        if isinstance(dialer, HandsToAgents):
            dialer.attach_desk(self.desk)

    # -- bookkeeping ---------------------------------------------------------------------
    def _every(self, name: str, period: timedelta, now: datetime) -> bool:
        if now < self._due.get(name, now):
            return False
        self._due[name] = now + period
        return True

    def register(self) -> None:
        now = self.clock.now()
        with self.db.transaction() as session:
            session.merge(
                Worker(
                    id=self.worker_id,
                    hostname=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=now,
                    heartbeat_at=now,
                    dialer_capacity=self.dialer.capacity(),
                    sms_capacity=self.sms.capacity(),
                    dialer_note=self._dialer_note(),
                )
            )

    def _beat(self, now: datetime) -> None:
        """Alive, and what each channel takes now (for "why idle": a channel down)."""
        with self.db.transaction() as session:
            worker = session.get(Worker, self.worker_id)
            if worker is not None:
                worker.heartbeat_at = now
                worker.dialer_capacity = self.dialer.capacity()
                worker.sms_capacity = self.sms.capacity()
                worker.dialer_note = self._dialer_note()

    def _dialer_note(self) -> str | None:
        note = self.dialer.why_no_room() if isinstance(self.dialer, ExplainsRoom) else None
        return note[:255] if note else None

    def _refresh(self, now: datetime) -> None:
        with self.db.transaction() as session:
            settings = get_settings(session)
            self.batch = settings.feed_batch_size
            self.dangling_timeout = timedelta(minutes=settings.dangling_timeout_minutes)
            self.sms_expiry = settings.default_sms_expiry_minutes
            self.agent_silence = timedelta(seconds=settings.agent_heartbeat_seconds)
            self.opt_out = OptOutWords(settings.opt_out_words)
            self._running = {rt.id: rt for rt in load_running(session)}
            self._others.clear()
        self._reconnect(settings, now)

    def _reconnect(self, settings: SettingsOut, now: datetime) -> None:
        """A changed dialer or SMS gateway setting takes effect now: new attempts go to a
        channel built from it; the old one is still polled for its calls in flight and
        closed once they are in (what never comes is left to the dangling sweep)."""
        if self.connections is None:
            return
        wanted = Connections.of(settings)
        if wanted.dialer != self.connections.dialer:
            try:
                dialer = build_dialer(
                    settings.dialer.kind, settings.dialer.options, self.clock, self.db
                )
            except Exception:
                log.exception("cannot build the dialer from the changed settings; keeping the old")
            else:
                log.info("dialer settings changed: new calls go to the new %s", dialer.name)
                self._attach(dialer)
                self._old_dialers.append((self.dialer, now))
                self.dialer, self.connections.dialer = dialer, wanted.dialer
        if wanted.sms_gateway != self.connections.sms_gateway:
            kind, options = settings.sms_gateway.kind, settings.sms_gateway.options
            try:
                sms = build_sms_gateway(kind, options, self.clock, self.db)
            except Exception:
                log.exception("cannot build the SMS gateway from the changed settings; keeping it")
            else:
                log.info("SMS gateway settings changed: new messages go to the new %s", sms.name)
                self._old_sms.append((self.sms, now))
                self.sms, self.connections.sms_gateway = sms, wanted.sms_gateway

    def _retire(self, now: datetime) -> None:
        """Close the replaced channels that have nothing more to report."""

        def drained(channel: Dialer | SmsGateway, since: datetime) -> bool:
            if channel.next_event() is None or now - since > self.dangling_timeout:
                channel.close()
                return True
            return False

        self._old_dialers = [(c, t) for c, t in self._old_dialers if not drained(c, t)]
        self._old_sms = [(c, t) for c, t in self._old_sms if not drained(c, t)]

    def close_channels(self) -> None:
        channels: list[Dialer | SmsGateway] = [self.dialer, self.sms]
        channels += [c for c, _ in self._old_dialers] + [c for c, _ in self._old_sms]
        for channel in channels:
            channel.close()
        self._old_dialers.clear()
        self._old_sms.clear()

    def runtime(self, campaign_id: int) -> CampaignRuntime | None:
        """A campaign's runtime; a stopped campaign's is loaded too (its results still count)."""
        found = self._running.get(campaign_id) or self._others.get(campaign_id)
        if found is None:
            with self.db.transaction() as session:
                for rt in load_running(session, campaign_ids=[campaign_id]):
                    self._others[rt.id] = found = rt
        return found

    # -- one step ------------------------------------------------------------------------
    def step(self) -> datetime:
        """Do everything due now; return when the next step should run."""
        now = self.clock.now()
        if self._every("heartbeat", self.timing.heartbeat, now):
            self._beat(now)
        if self._every("refresh", self.timing.refresh, now):
            self._refresh(now)
        self._collect(now)
        if any(rt.reserves_agents for rt in self._running.values()):
            sweepers.give_back_reservations(self.db, now=now)
        if self._every("sweep", self.timing.sweep, now):
            sweepers.sweep_dangling(self.db, now=now, timeout=self.dangling_timeout)
            sweepers.sweep_sms_expiry(
                self.db, now=now, runtime=self.runtime, default_sms_expiry=self.sms_expiry
            )
            sweepers.sweep_agents(
                self.db, now=now, silent_for=self.agent_silence, worker_id=self.worker_id
            )
        if self._every("recover", self.timing.silent_worker / 3, now):
            sweepers.recover_workers(
                self.db, me=self.worker_id, now=now, silent_for=self.timing.silent_worker
            )
        if self._dispatch_round(now):
            return now  # there may be more to start at once
        return self._next_wake(now)

    def _next_wake(self, now: datetime) -> datetime:
        """The next moment anything can happen, capped at ``timing.idle`` from now.

        On the wall clock the cap keeps the loop responsive to uploads and starts; on a
        virtual clock (forecasts, tests) a long cap lets time jump from event to event.
        """
        channels: list[Dialer | SmsGateway] = [self.dialer, self.sms]
        channels += [c for c, _ in self._old_dialers] + [c for c, _ in self._old_sms]
        upcoming = [now + self.timing.idle, *(c.next_event() for c in channels)]
        with self.db.transaction() as session:
            due = store.next_due(session, list(self._running))
            expiry = store.next_sms_expiry(session, list(self._running))
            oldest = store.oldest_open_attempt(session)
        if due is not None and due > now:  # already due but held back: other events wake us
            upcoming.append(due)
        # The sweeps act only once their period has passed: waking for a dangling call or an
        # SMS expiry before that would spin on the spot (virtual clock) or busy-loop.
        sweep_at = self._due.get("sweep", now)
        if expiry is not None:
            upcoming.append(max(expiry, sweep_at))
        if oldest is not None:
            upcoming.append(max(oldest + self.dangling_timeout, sweep_at))
        upcoming.append(self._pacing_wait)
        for rt in self._running.values():
            if not rt.contact_local and not rt.calendar.open_in_all(now, (rt.zone,)):
                upcoming.append(rt.calendar.next_open(now, (rt.zone,)))
        return max(now, min(t for t in upcoming if t is not None))

    def _collect(self, now: datetime) -> None:
        found = self.dialer.poll(now)
        sms_results, inbound = self.sms.poll(now)
        found += sms_results
        for dialer, _ in self._old_dialers:
            found += dialer.poll(now)
        for sms, _ in self._old_sms:
            more, more_inbound = sms.poll(now)
            found += more
            inbound += more_inbound
        self._record(found, now)
        if self._old_dialers or self._old_sms:
            self._retire(now)
        inbound = self._inbound_backlog + inbound
        self._inbound_backlog = results.apply_inbound(
            self.db, inbound, runtime=self.runtime, now=now, opt_out=self.opt_out
        )

    def _dispatch_round(self, now: datetime) -> int:
        """One pass over the started campaigns with contacts due, fairest first, a chunk of
        campaigns per transaction; returns attempts started."""
        started = 0
        self._pacing_wait = None
        todo = [self._running[c] for c in self.fair.order(self._running)]
        while todo:
            # Each channel's own: a full or down SMS gateway holds back no call, and the
            # reverse (the dispatcher claims for a channel only what it takes).
            capacity = {Channel.VOICE: self.dialer.capacity(), Channel.SMS: self.sms.capacity()}
            if started:  # a few lines left over wait for the next round: not worth a chunk
                capacity = {c: n if n >= self.batch // LEFTOVER else 0 for c, n in capacity.items()}
            if sum(capacity.values()) <= 0:
                break
            claims = dispatcher.dispatch(
                self.db,
                todo,
                worker_id=self.worker_id,
                now=now,
                budget=self.batch,
                capacity=capacity,
            )
            if not claims:
                break
            todo = todo[len(claims) :]
            handover = dispatcher.Handover()
            for rt, claimed in claims:
                if claimed.blocked == "pacing":  # the bucket refills one call at a time
                    wait = now + timedelta(seconds=1 / max(rt.calls_per_second, 0.001))
                    self._pacing_wait = min(wait, self._pacing_wait or wait)
                if claimed.started:
                    started += claimed.started
                    self.fair.charge(rt.id, claimed.started, rt.priority)
                    handover.dials += claimed.handover.dials
                    handover.messages += claimed.handover.messages
                    handover.due |= claimed.handover.due
            self._hand_over(handover, now)
        return started

    def _hand_over(self, handover: dispatcher.Handover, now: datetime) -> None:
        refused = _offer(self.dialer.dial, handover.dials, now)
        refused += _offer(self.sms.send, handover.messages, now)
        metrics.handed_over(handover.due, {r.attempt_id for r in refused}, self.clock.now())
        self._record(refused, now)

    def _record(self, found: list[Result], now: datetime) -> None:
        """Apply results, with those the database could not take before, oldest first.

        A result kept longer than the dangling timeout is given up: the sweep has closed its
        attempt by then (and would ignore it anyway)."""
        kept = [r for r in self._backlog if r.at >= now - self.dangling_timeout]
        if len(kept) < len(self._backlog):
            log.warning(
                "%d results waited too long for the database; their calls end Dangling",
                len(self._backlog) - len(kept),
            )
        pending = kept + found
        if not pending:
            self._backlog = []
            return
        applied = results.apply_results(
            self.db, pending, runtime=self.runtime, now=now, default_sms_expiry=self.sms_expiry
        )
        self._backlog = applied.retry

    # -- the loop ------------------------------------------------------------------------
    def run(self, *, until: Callable[[], bool] | None = None) -> None:
        self.register()
        try:
            while not self.stop_event.is_set() and not (until and until()):
                try:
                    wake = self.step()
                    self.failing = None
                    metrics.engine_step(failed=False)
                except Exception as exc:
                    metrics.engine_step(failed=True)
                    log.exception("engine step failed; retrying")
                    self.failing = f"{type(exc).__name__}: {exc}"[:500]
                    wake = self.clock.now() + timedelta(seconds=1)
                self.clock.sleep_until(wake, wake=self.stop_event)
        finally:
            self._sign_off()

    def _sign_off(self) -> None:
        """Mark this worker stopped; a database that refuses it must not hide why it stopped."""
        try:
            with self.db.transaction() as session:
                worker = session.get(Worker, self.worker_id)
                if worker is not None:
                    worker.stopped_at = self.clock.now()
        except Exception:
            log.exception("engine %s could not record its stop", self.worker_id)

    def stop(self) -> None:
        self.stop_event.set()


Item = TypeVar("Item", Dial, Sms)


def _offer(
    send: Callable[[Sequence[Item]], None], items: list[Item], now: datetime
) -> list[Result]:
    """Hand items to a channel; a refusal becomes a network error result for each of them."""
    if not items:
        return []
    try:
        send(items)
    except ChannelError as exc:
        log.warning("channel refused %d attempts: %s", len(items), exc)
        return [
            Result(i.attempt_id, Outcome.NETWORK_ERROR, f"channel refused: {exc}", now)
            for i in items
        ]
    return []
