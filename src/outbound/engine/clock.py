"""Time for the engine: the wall clock in production, a virtual one for forecasts and tests."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_until(self, when: datetime, *, wake: threading.Event | None = None) -> None:
        """Wait until ``when`` (a virtual clock jumps there at once)."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep_until(self, when: datetime, *, wake: threading.Event | None = None) -> None:
        delay = max(0.0, (when - self.now()).total_seconds())
        if wake is not None:
            wake.wait(delay)
        else:
            time.sleep(delay)


class VirtualClock:
    """A clock that only moves when told to: thousands of simulated hours per real minute."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def sleep_until(self, when: datetime, *, wake: threading.Event | None = None) -> None:
        if when > self._now:
            self._now = when
