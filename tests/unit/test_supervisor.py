"""A supervised part that dies is rebuilt and restarted with a doubling wait; a part whose
own rounds fail is reported down until a round works again."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from outbound.health.supervisor import Supervised


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.005)


class Flaky:
    """Raises on its first ``crashes`` builds' runs, then runs until stopped."""

    built = 0
    starts: list[float] = []  # when each run began

    def __init__(self, crashes: int) -> None:
        Flaky.built += 1
        self.number = Flaky.built
        self.crashes = crashes
        self.failing: str | None = None
        self._stop = threading.Event()

    def run(self) -> None:
        Flaky.starts.append(time.monotonic())
        if self.number <= self.crashes:
            raise RuntimeError(f"database refuses writes (try {self.number})")
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()


def test_a_dying_part_is_restarted_with_doubling_waits_then_runs() -> None:
    Flaky.built, Flaky.starts = 0, []
    closed: list[int] = []
    part = Supervised(
        "engine", lambda: Flaky(3), close=lambda p: closed.append(p.number), backoff=(0.05, 0.2)
    )
    try:
        part.start()
        _until(lambda: part.status().state == "running" and Flaky.built == 4)
        status = part.status()
        assert status.restarts == 3 and status.error is None
        gaps = [b - a for a, b in itertools.pairwise(Flaky.starts)]
        assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2  # 0.05, 0.1, 0.2 (cap)
        assert closed == [1, 2, 3]  # every dead part was closed before the next was built
    finally:
        part.stop()
    assert part.status().state == "stopped" and closed == [1, 2, 3, 4]


def test_a_part_failing_its_rounds_is_down_until_a_round_works() -> None:
    Flaky.built = 0
    part = Supervised("deliverer", lambda: Flaky(0), backoff=(0.05, 0.2))
    part.start()
    try:
        _until(lambda: part.status().state == "running")
        live = part.part
        assert live is not None
        live.failing = "InternalError: read-only transaction"
        assert part.status().down and "read-only" in (part.status().error or "")
        live.failing = None
        assert part.status().state == "running"
    finally:
        part.stop()
