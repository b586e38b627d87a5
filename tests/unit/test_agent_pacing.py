"""Preview/progressive pacing arithmetic and its "why idle" sentences. Pure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from outbound.engine.pacing import agent_lines
from outbound.reports.idle import IdleReason, Window, explain
from tests.unit.test_reports_idle import DIALLING, NOW

PROGRESSIVE = replace(DIALLING, agent_mode="progressive", agents_assigned=3)


@pytest.mark.parametrize(
    ("ready", "lines", "in_flight", "expected"),
    [
        (0, 1.0, 0, 0),
        (0, 3.0, 0, 0),
        (1, 1.0, 0, 1),
        (2, 1.5, 0, 3),
        (2, 1.5, 2, 1),
        (2, 1.5, 3, 0),
        (2, 1.5, 5, 0),  # more in flight than lines (agents went away): none, never negative
        (1, 1.5, 0, 1),
        (3, 1.1, 0, 3),
        (10, 1.1, 0, 11),
        (3, 2.9, 0, 8),
        (7, 3.0, 20, 1),
    ],
)
def test_lines_for_ready_agents(ready: int, lines: float, in_flight: int, expected: int) -> None:
    assert agent_lines(ready=ready, lines_per_agent=lines, in_flight=in_flight) == expected


def test_no_agent_ready_holds_back_a_progressive_campaign() -> None:
    verdict = explain(replace(PROGRESSIVE, agents_ready=0, in_flight=0), now=NOW)
    assert verdict.reason is IdleReason.NO_AGENT_READY
    assert "none of its 3 agents is ready" in verdict.detail
    assert "5 contacts due" in verdict.detail


def test_no_agent_assigned_says_so() -> None:
    facts = replace(PROGRESSIVE, agents_assigned=0, agents_ready=0, agent_mode="preview")
    verdict = explain(facts, now=NOW)
    assert verdict.reason is IdleReason.NO_AGENT_READY
    assert "preview campaign" in verdict.detail and "no agent is assigned" in verdict.detail


def test_every_line_of_the_ready_agents_in_use() -> None:
    verdict = explain(replace(PROGRESSIVE, agents_ready=2, agent_lines=3, in_flight=3), now=NOW)
    assert verdict.reason is IdleReason.CAPACITY_FULL
    assert "all 3 lines of its 2 ready agents" in verdict.detail


def test_ready_agents_with_free_lines_dial() -> None:
    verdict = explain(replace(PROGRESSIVE, agents_ready=2, agent_lines=3, in_flight=2), now=NOW)
    assert verdict.dialling


def test_earlier_reasons_come_first() -> None:
    closed = replace(PROGRESSIVE, agents_ready=0, window=Window(False, zone="UTC"))
    assert explain(closed, now=NOW).reason is IdleReason.OUTSIDE_WINDOW
    nothing_due = replace(PROGRESSIVE, agents_ready=0, pending_due=0, next_due_at=None)
    assert explain(nothing_due, now=NOW).reason is IdleReason.NO_CONTACT_DUE


def test_a_fixed_campaign_never_waits_for_agents() -> None:
    assert explain(replace(DIALLING, agents_ready=0), now=NOW).dialling
