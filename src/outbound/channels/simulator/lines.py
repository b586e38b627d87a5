"""What the simulated dialer and SMS gateway share: lines, hand-over checks, the ledger."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from outbound.channels.base import ChannelError
from outbound.channels.simulator.agenda import Agenda, Draws, Ledger, Randomness, delay
from outbound.engine.clock import Clock


class _Options(Protocol):
    @property
    def seed(self) -> int | None: ...
    @property
    def capacity(self) -> int: ...
    @property
    def ledger_path(self) -> str | None: ...
    @property
    def jitter(self) -> float: ...
    @property
    def instant(self) -> bool: ...


class _HandedOver(Protocol):
    @property
    def attempt_id(self) -> int: ...
    @property
    def number(self) -> str: ...


class SimulatedLines:
    """A pool of lines on the engine's clock; subclasses decide each hand-over's fate."""

    what = "simulator"  # how errors name the channel
    noun = "items"

    def __init__(self, options: _Options, clock: Clock, *, ledger_kind: str) -> None:
        self._options = options
        self._clock = clock
        self._random = Randomness(options.seed)
        self._agenda = Agenda(options.capacity)
        path = options.ledger_path
        self._ledger = Ledger(path, kind=ledger_kind) if path else None
        self._lock = threading.Lock()
        self._closed = False

    def capacity(self) -> int:
        with self._lock:
            return 0 if self._closed else self._agenda.free()

    def _admit(self, items: Sequence[_HandedOver]) -> datetime:
        """All or nothing (caller holds the lock): refuse a batch larger than the free lines,
        else write the ledger and return the hand-over time."""
        if self._closed:
            raise ChannelError(f"the {self.what} is closed", retriable=True)
        free = self._agenda.free()
        if len(items) > free:
            raise ChannelError(
                f"the {self.what} has {free} free lines, {len(items)} {self.noun} offered",
                retriable=True,
            )
        now = self._clock.now()
        if self._ledger is not None:
            self._ledger.record(((i.attempt_id, i.number) for i in items), now)
        return now

    def _delay(self, seconds: float, rng: Draws) -> timedelta:
        return delay(seconds, rng, jitter=self._options.jitter, instant=self._options.instant)

    def next_event(self) -> datetime | None:
        with self._lock:
            return self._agenda.next_due()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._agenda.clear()
            if self._ledger is not None:
                self._ledger.close()
