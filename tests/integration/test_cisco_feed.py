"""The Cisco dialers' feeding rules, against a simulated UCCE over real HTTP, on both
databases: two dialers on one database (two workers, or a dialer replaced by a settings
change) feed each record once and report each result once; a 503 is waited out for the
backoff, not retried sooner; a target that is not a Cisco campaign id, or a campaign Cisco
does not know, ends the attempts at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from outbound.campaigns.types import CampaignType
from outbound.channels.base import ChannelError, Dial
from outbound.channels.registry import build_dialer
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.strategies.outcomes import Outcome
from tests.clocks import next_monday_9
from tests.peers.cisco.state import SimState
from tests.peers.cisco.ucce import UcceSim

USER, PASSWORD = "administrator", "cisco-pw-1"
CAMPAIGN = 77


@pytest.fixture
def ucce(db: Database, tmp_path: Path) -> Iterator[UcceSim]:
    state = SimState(f"sqlite:///{tmp_path / 'hds.db'}", product="ucce")
    state.add_campaign(CAMPAIGN, "feed", max_attempts=1)
    sim = UcceSim(state, username=USER, password=PASSWORD)
    sim.peer.start()
    yield sim
    sim.peer.stop()
    state.close()


def options(sim: UcceSim, **more: object) -> dict[str, object]:
    return {
        "url": sim.url,
        "username": USER,
        "password": PASSWORD,
        "results_url": sim.state.url,
        "batch_size": 20,
        "backoff_seconds": 30,
        **more,
    }


def dials(first: int, count: int, target: str = str(CAMPAIGN)) -> list[Dial]:
    return [
        Dial(first + i, f"+1415555{first + i:04d}", 1, CampaignType.AGENT, target)
        for i in range(count)
    ]


def test_two_dialers_on_one_database_feed_and_report_each_record_once(
    db: Database, ucce: UcceSim
) -> None:
    clock = VirtualClock(next_monday_9())
    one = build_dialer("cisco_ucce", options(ucce), clock, db)
    two = build_dialer("cisco_ucce", options(ucce), clock, db)
    try:
        one.dial(dials(1000, 6))
        two.dial(dials(2000, 6))
        now = clock.now()
        assert two.poll(now) == [] and one.poll(now) == []  # both fed what they found
        assert sorted(ucce.state.fed.values()) == [1] * 12
        # The batch size holds for both together: 12 of ours wait in Cisco.
        assert one.capacity() == two.capacity() == 20 - 12
        ucce.state.run_dialer()
        clock.advance(timedelta(seconds=10))
        now = clock.now()
        found = one.poll(now) + two.poll(now)
        assert sorted(r.attempt_id for r in found) == [*range(1000, 1006), *range(2000, 2006)]
        assert {r.outcome for r in found} == {Outcome.CONNECTED}  # no plan digits: answered
        assert one.capacity() == two.capacity() == 20
    finally:
        one.close()
        two.close()


def test_a_503_is_waited_out_for_the_backoff(db: Database, ucce: UcceSim) -> None:
    clock = VirtualClock(next_monday_9())
    dialer = build_dialer("cisco_ucce", options(ucce), clock, db)
    try:
        ucce.state.occupied = 30  # the processing queue is full
        dialer.dial(dials(1, 3))
        assert dialer.poll(clock.now()) == []
        assert ucce.state.refused == 1 and not ucce.state.fed
        wake = dialer.next_event()
        assert wake is not None and wake - clock.now() == timedelta(seconds=30)
        clock.advance(timedelta(seconds=29))
        dialer.poll(clock.now())
        assert ucce.state.refused == 1  # not tried before the backoff ends
        clock.advance(timedelta(seconds=1))
        dialer.poll(clock.now())
        assert ucce.state.refused == 2  # refused again: the next wait doubles
        assert dialer.next_event() - clock.now() == timedelta(seconds=60)  # type: ignore[operator]
        ucce.state.occupied = 0
        clock.advance(timedelta(seconds=60))
        dialer.poll(clock.now())
        assert sorted(ucce.state.fed.values()) == [1, 1, 1]
    finally:
        dialer.close()


def test_targets_that_are_not_cisco_campaigns_end_the_attempts(db: Database, ucce: UcceSim) -> None:
    clock = VirtualClock(next_monday_9())
    dialer = build_dialer("cisco_ucce", options(ucce), clock, db)
    try:
        with pytest.raises(ChannelError) as refused:
            dialer.dial(dials(1, 2, target="sales"))
        assert not refused.value.retriable
        dialer.dial(dials(10, 2, target="999"))  # no such campaign in Cisco
        ended = dialer.poll(clock.now())
        assert sorted(r.attempt_id for r in ended) == [10, 11]
        assert {r.outcome for r in ended} == {Outcome.NETWORK_ERROR}
        assert "CceDBDataNotFoundException" in ended[0].raw
        assert dialer.capacity() == 20  # nothing left waiting
    finally:
        dialer.close()
