"""The agent state machine. Pure: no I/O, no clock.

An agent logs in not ready, goes ready, is reserved for a call by the engine, talks, wraps
up, and goes ready or not ready again. The engine (reservations, the call's answer and end,
the wrap-up limit) and the agent (ready, not ready, log out) own different moves: an agent
never claims to be reserved or talking, the dialer's events say so.
"""

from __future__ import annotations

from enum import StrEnum

from outbound.errors import Conflict


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    NOT_READY = "not_ready"
    READY = "ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"


S = AgentState
# Where each state may go. not_ready -> not_ready is a change of reason (a break becomes
# lunch, or the desktop went away). reserved -> ready is a reservation given back (the
# customer did not answer); reserved -> not_ready is an agent gone during the reservation.
TRANSITIONS: dict[AgentState, frozenset[AgentState]] = {
    S.LOGGED_OUT: frozenset({S.NOT_READY}),
    S.NOT_READY: frozenset({S.NOT_READY, S.READY, S.LOGGED_OUT}),
    S.READY: frozenset({S.NOT_READY, S.RESERVED, S.LOGGED_OUT}),
    S.RESERVED: frozenset({S.TALKING, S.READY, S.NOT_READY}),
    S.TALKING: frozenset({S.WRAP_UP}),
    S.WRAP_UP: frozenset({S.READY, S.NOT_READY}),
}
# The states an agent (or a desktop, a CRM) may ask for; the others are the engine's.
AGENT_CHOSEN = frozenset({S.READY, S.NOT_READY, S.LOGGED_OUT})
# Logged in: what the heartbeat watches. Talking is left alone: the call is up on the
# phone whatever the desktop does; the end of the call moves the agent on.
WATCHED = frozenset({S.NOT_READY, S.READY, S.RESERVED, S.WRAP_UP})


class IllegalTransition(Conflict):
    """A move the state machine does not have (409)."""

    def __init__(self, current: AgentState, target: AgentState, why: str = "") -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        message = f"an agent cannot go from {current.value} to {target.value}"
        message += f": {why}" if why else f" (from {current.value} it may go to: {allowed})"
        super().__init__(message, loc=("body", "state"))
        self.current, self.target = current, target


def transition(current: AgentState, target: AgentState, *, by_agent: bool) -> AgentState:
    """The new state, or IllegalTransition naming both states.

    ``by_agent``: the move is asked for by the agent (the API), who may only choose ready,
    not ready or logged out.
    """
    if by_agent and target not in AGENT_CHOSEN:
        raise IllegalTransition(
            current, target, f"{target.value} is set by the engine as calls come, not by the agent"
        )
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)
    return target
