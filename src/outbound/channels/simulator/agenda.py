"""The machinery both simulators share: future events on a heap, lines in flight, the ledger."""

from __future__ import annotations

import heapq
import json
import os
import random
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from outbound.channels.base import ChannelError, InboundSms, Result

Event = Result | InboundSms


# (due, sequence, event or None: the line frees and nothing is reported, final: the
# hand-over's last event, it frees its line). A plain tuple: the heap compares (due, seq),
# unique, in C.
_Entry = tuple[datetime, int, Event | None, bool]


class Agenda:
    """Events ordered by due time, then by hand-over order; not thread-safe on its own.

    A hand-over holds a line from ``admit`` until its final event is popped, so capacity is
    freed by the results the engine has actually seen.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._heap: list[_Entry] = []
        self._seq = 0
        self._in_flight = 0

    def free(self) -> int:
        return max(0, self._capacity - self._in_flight)

    def admit(self, count: int) -> None:
        self._in_flight += count

    def add(self, due: datetime, event: Event | None, *, final: bool) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, event, final))

    def pop_due(self, now: datetime) -> list[Event]:
        events: list[Event] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, event, final = heapq.heappop(heap)
            if final:
                self._in_flight -= 1
            if event is not None:
                events.append(event)
        return events

    def next_due(self) -> datetime | None:
        return self._heap[0][0] if self._heap else None

    def clear(self) -> None:
        self._heap.clear()
        self._in_flight = 0


class Ledger:
    """An append-only record of hand-overs, shared safely by several processes.

    Each batch is one ``write`` on an ``O_APPEND`` descriptor: lines from different workers
    never interleave and nothing waits in a Python buffer when a worker dies.
    """

    def __init__(self, path: str, *, kind: str) -> None:
        self._kind = kind
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def record(self, items: Iterable[tuple[int, str]], at: datetime) -> None:
        if self._fd is None:
            raise ChannelError("the ledger is closed", retriable=True)
        stamp = at.isoformat()
        lines = "".join(
            json.dumps({"attempt_id": a, "number": n, "at": stamp, "kind": self._kind}) + "\n"
            for a, n in items
        )
        try:
            os.write(self._fd, lines.encode())
        except OSError as exc:
            raise ChannelError(f"cannot write the simulator ledger: {exc}", retriable=True) from exc

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit value from any 64-bit input."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class Draws:
    """Uniform draws in [0, 1) for one hand-over (a SplitMix64 stream): a few integer
    operations each, where seeding a ``random.Random`` per call cost more than the call."""

    __slots__ = ("_state",)

    def __init__(self, key: int) -> None:
        self._state = key & _MASK

    def random(self) -> float:
        self._state = (self._state + _GOLDEN) & _MASK
        return (_mix(self._state) >> 11) * (1.0 / (1 << 53))


class Randomness:
    """One stream of draws per hand-over, derived from the seed and the attempt.

    An attempt's fate then depends neither on batch order nor on which worker dialled it,
    so a seeded run is reproducible even with several workers.
    """

    def __init__(self, seed: int | None) -> None:
        chosen = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self._seed = _mix((chosen * _GOLDEN) & _MASK)

    def for_attempt(self, attempt_id: int, number: str) -> Draws:
        attempt = _mix((self._seed ^ attempt_id) & _MASK)
        return Draws(_mix(attempt ^ zlib.crc32(number.encode())))


def delay(seconds: float, rng: Draws, *, jitter: float, instant: bool) -> timedelta:
    if instant:
        return timedelta(0)
    spread = 1.0 + jitter * (2.0 * rng.random() - 1.0)
    return timedelta(seconds=seconds * spread)
