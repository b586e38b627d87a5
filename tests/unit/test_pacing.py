"""Pacing arithmetic and fair sharing between campaigns."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from outbound.engine.pacing import FairShare, allowance, refill

T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)


def test_the_bucket_refills_at_the_rate_up_to_one_second_of_burst() -> None:
    assert refill(0.0, None, T0, 5.0) == 5.0
    assert refill(0.0, T0, T0 + timedelta(milliseconds=200), 5.0) == 1.0
    assert refill(0.0, T0, T0 + timedelta(minutes=5), 5.0) == 5.0
    assert refill(0.0, T0, T0 + timedelta(seconds=1), 0.5) == 0.5  # slow campaigns wait


def test_allowance_is_the_tightest_limit() -> None:
    assert allowance(max_concurrent=10, in_flight=8, tokens=5, budget=100, capacity=100) == 2
    assert allowance(max_concurrent=10, in_flight=0, tokens=3.9, budget=100, capacity=100) == 3
    assert allowance(max_concurrent=10, in_flight=12, tokens=5, budget=100, capacity=100) == 0


def test_priority_weights_share_the_channel_and_nobody_starves() -> None:
    fair = FairShare()
    weights = {1: 1, 2: 3, 3: 1}
    served: Counter[int] = Counter()
    for _ in range(500):  # each round the channel has room for one more call
        first = fair.order(weights)[0]
        served[first] += 1
        fair.charge(first, 1, weights[first])
    assert served[2] == 300 and served[1] == 100 and served[3] == 100


def test_a_campaign_started_later_does_not_jump_the_queue_for_ever() -> None:
    fair = FairShare()
    for _ in range(100):
        first = fair.order([1])[0]
        fair.charge(first, 1, 1)
    order = fair.order([1, 2])
    served: Counter[int] = Counter()
    for _ in range(100):
        first = fair.order([1, 2])[0]
        served[first] += 1
        fair.charge(first, 1, 1)
    assert order[0] in (1, 2) and abs(served[1] - served[2]) <= 1
