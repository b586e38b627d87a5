"""The agent state machine over its whole table: every (from, to) pair, written out here by
hand from the design (logged out -> not ready <-> ready -> reserved -> talking -> wrap-up ->
ready or not ready; log out from not ready or ready), not derived from the module."""

from __future__ import annotations

import pytest

from outbound.agents.states import AgentState, IllegalTransition, transition

NAMES = ["logged_out", "not_ready", "ready", "reserved", "talking", "wrap_up"]
# Rows: from; columns: to, in the order of NAMES. 1 = allowed.
TABLE = {
    #               lo nr rd rs tk wu
    "logged_out": [0, 1, 0, 0, 0, 0],
    "not_ready": [1, 1, 1, 0, 0, 0],  # not_ready -> not_ready: a change of reason
    "ready": [1, 1, 0, 1, 0, 0],
    "reserved": [0, 1, 1, 0, 1, 0],  # back to ready: the reservation given back
    "talking": [0, 0, 0, 0, 0, 1],
    "wrap_up": [0, 1, 1, 0, 0, 0],
}
AGENT_MAY_ASK = {"ready", "not_ready", "logged_out"}
PAIRS = [(a, b, TABLE[a][j]) for a in NAMES for j, b in enumerate(NAMES)]


def test_the_table_covers_every_state() -> None:
    assert sorted(NAMES) == sorted(s.value for s in AgentState)


@pytest.mark.parametrize(("source", "target", "allowed"), PAIRS)
def test_engine_moves(source: str, target: str, allowed: int) -> None:
    if allowed:
        assert transition(AgentState(source), AgentState(target), by_agent=False) == target
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(AgentState(source), AgentState(target), by_agent=False)
        assert f"from {source} to {target}" in info.value.message
        assert info.value.status_code == 409


@pytest.mark.parametrize(("source", "target", "allowed"), PAIRS)
def test_agent_moves(source: str, target: str, allowed: int) -> None:
    """An agent may only ask for ready, not ready or logged out, and only where the table
    allows it; reserved, talking and wrap-up are the engine's to set."""
    if allowed and target in AGENT_MAY_ASK:
        assert transition(AgentState(source), AgentState(target), by_agent=True) == target
        return
    with pytest.raises(IllegalTransition) as info:
        transition(AgentState(source), AgentState(target), by_agent=True)
    assert f"from {source} to {target}" in info.value.message
    if target not in AGENT_MAY_ASK:
        assert "set by the engine" in info.value.message
