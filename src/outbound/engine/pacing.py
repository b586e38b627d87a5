"""Pacing and fairness arithmetic. Pure.

Calls per second is a token bucket (burst of one second's worth) whose state lives on the
campaign row, so every worker draws from the same bucket. Campaigns share the channel by
stride scheduling: each dispatched attempt costs 1/priority, and the campaign that has spent
least goes first, so a weight-3 campaign gets three times the share of a weight-1 one and
none starves.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime


def refill(tokens: float, last: datetime | None, now: datetime, rate: float) -> float:
    burst = max(1.0, rate)
    if last is None:
        return burst
    elapsed = max(0.0, (now - last).total_seconds())
    return min(burst, tokens + elapsed * rate)


def allowance(
    *, max_concurrent: int, in_flight: int, tokens: float, budget: int, capacity: int
) -> int:
    """How many attempts a campaign may start now."""
    return max(0, min(max_concurrent - in_flight, int(tokens), budget, capacity))


def agent_lines(*, ready: int, lines_per_agent: float, in_flight: int) -> int:
    """Preview and progressive: at most ``lines_per_agent`` calls in flight per ready agent,
    so no customer is dialled while no agent is ready. (The epsilon keeps 2 x 1.5 at 3.)"""
    return max(0, math.floor(ready * lines_per_agent + 1e-9) - in_flight)


def reservation_lines(agents: int, lines_per_agent: float) -> list[int]:
    """Progressive: how many contacts to dial for each of ``agents`` agents reserved at once;
    together floor(agents x lines_per_agent), spread evenly (1.5 gives 1, 2, 1, 2 ...)."""

    def upto(n: int) -> int:
        return math.floor(n * lines_per_agent + 1e-9)

    return [upto(j + 1) - upto(j) for j in range(agents)]


class FairShare:
    """Stride scheduling over campaigns (ids) by priority weight."""

    def __init__(self) -> None:
        self._spent: dict[int, float] = {}

    def order(self, campaigns: Iterable[int]) -> list[int]:
        ids = list(campaigns)
        floor = min((self._spent[c] for c in ids if c in self._spent), default=0.0)
        for cid in ids:  # a newcomer starts level with the others, not ahead of them
            self._spent.setdefault(cid, floor)
        for gone in set(self._spent) - set(ids):
            del self._spent[gone]
        return sorted(ids, key=lambda c: (self._spent[c], c))

    def charge(self, campaign: int, attempts: int, priority: int) -> None:
        self._spent[campaign] = self._spent.get(campaign, 0.0) + attempts / max(1, priority)
