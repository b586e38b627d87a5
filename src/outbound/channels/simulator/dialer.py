"""The simulated dialer: each call's result is decided at hand-over and due after its latency."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from outbound.channels.base import ChannelError, Dial, Result
from outbound.channels.simulator.agenda import Agenda, Ledger, Randomness, delay
from outbound.channels.simulator.config import SimulatorConfig
from outbound.channels.simulator.plan import WeightedOutcomes, voice_fate
from outbound.engine.clock import Clock


class SimulatorDialer:
    name = "simulator"

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._mix = WeightedOutcomes(config.outcomes)
        self._random = Randomness(config.seed)
        self._agenda = Agenda(config.capacity)
        self._ledger = Ledger(config.ledger_path, kind="dial") if config.ledger_path else None
        self._lock = threading.Lock()
        self._closed = False

    def capacity(self) -> int:
        with self._lock:
            return 0 if self._closed else self._agenda.free()

    def dial(self, dials: Sequence[Dial]) -> None:
        """All or nothing: a batch larger than the free lines is refused whole."""
        if not dials:
            return
        with self._lock:
            if self._closed:
                raise ChannelError("the simulator dialer is closed", retriable=True)
            free = self._agenda.free()
            if len(dials) > free:
                raise ChannelError(
                    f"the simulator dialer has {free} free lines, {len(dials)} calls offered",
                    retriable=True,
                )
            now = self._clock.now()
            if self._ledger is not None:
                self._ledger.record(((d.attempt_id, d.number) for d in dials), now)
            for one in dials:
                self._schedule(one, now)

    def _schedule(self, call: Dial, now: datetime) -> None:
        rng = self._random.for_attempt(call.attempt_id, call.number)
        fate = voice_fate(call.number, rng, self._mix)
        self._agenda.admit(1)
        if fate is None:  # never answers: the line frees later, nothing is reported
            due = now + self._delay(self._config.lost_call_seconds, rng)
            self._agenda.add(due, None, final=True)
            return
        outcome, raw = fate
        due = now + self._delay(self._config.latency[outcome], rng)
        self._agenda.add(due, Result(call.attempt_id, outcome, raw, due), final=True)

    def _delay(self, seconds: float, rng: random.Random) -> timedelta:
        return delay(seconds, rng, jitter=self._config.jitter, instant=self._config.instant)

    def poll(self, now: datetime) -> list[Result]:
        with self._lock:
            return [e for e in self._agenda.pop_due(now) if isinstance(e, Result)]

    def next_event(self) -> datetime | None:
        """The earliest result, or the moment a never-answered call frees its line."""
        with self._lock:
            return self._agenda.next_due()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._agenda.clear()
            if self._ledger is not None:
                self._ledger.close()
