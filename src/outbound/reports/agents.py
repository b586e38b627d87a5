"""Per-agent figures over a period, from the agents' state history (``agent_state_changes``).

Each change starts a stretch of its new state that lasts until the next change (or the end
of the period); the state an agent was in when the period starts is the last change before
it. Talk, wrap-up, ready, not ready and reserved times are the stretches clipped to the
period; logged-in time is every state but logged out; occupancy is (talk + wrap-up) over
logged-in time. Calls handled are the moves into talking within the period.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.agents.states import AgentState
from outbound.models import Agent, AgentStateChange, User
from outbound.reports.schemas import AgentReportOut, AgentsReportOut


@dataclass
class Totals:
    seconds: dict[AgentState, float] = field(default_factory=lambda: dict.fromkeys(AgentState, 0.0))
    calls: int = 0

    @property
    def logged_in(self) -> float:
        return sum(s for state, s in self.seconds.items() if state is not AgentState.LOGGED_OUT)

    @property
    def occupancy(self) -> float | None:
        busy = self.seconds[AgentState.TALKING] + self.seconds[AgentState.WRAP_UP]
        return round(busy / self.logged_in, 4) if self.logged_in > 0 else None


def durations(
    initial: AgentState,
    changes: Iterable[tuple[datetime, AgentState]],
    *,
    since: datetime,
    until: datetime,
) -> Totals:
    """Pure: the time in each state within [since, until) and the calls taken, given the
    state at ``since`` and the changes (when, new state) in order."""
    totals = Totals()
    state, start = initial, since
    for at, to in changes:
        if at < since:
            state = to
            continue
        if at >= until:
            break
        totals.seconds[state] += (at - start).total_seconds()
        if to is AgentState.TALKING:
            totals.calls += 1
        state, start = to, at
    totals.seconds[state] += max(0.0, (until - start).total_seconds())
    return totals


@dataclass(frozen=True)
class AgentFigures:
    agent_id: int
    username: str
    totals: Totals


def agent_report(session: Session, *, since: datetime, until: datetime) -> list[AgentFigures]:
    """Every agent's figures over [since, until)."""
    agents: Sequence[tuple[int, str]] = [
        (int(a), str(u))
        for a, u in session.execute(
            select(Agent.id, User.username).join(User, User.id == Agent.user_id).order_by(Agent.id)
        )
    ]
    # The state each agent was in at ``since``: its last change before it.
    last_before = (
        select(AgentStateChange.agent_id, func.max(AgentStateChange.id).label("id"))
        .where(AgentStateChange.at < since)
        .group_by(AgentStateChange.agent_id)
        .subquery()
    )
    initial = {
        int(agent_id): state
        for agent_id, state in session.execute(
            select(AgentStateChange.agent_id, AgentStateChange.to_state).join(
                last_before, last_before.c.id == AgentStateChange.id
            )
        )
    }
    changes: dict[int, list[tuple[datetime, AgentState]]] = {}
    query = (
        select(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.to_state)
        .where(AgentStateChange.at >= since, AgentStateChange.at < until)
        .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
    )
    for agent_id, at, to in session.execute(query):
        changes.setdefault(int(agent_id), []).append((at, to))
    return [
        AgentFigures(
            agent_id,
            username,
            durations(
                initial.get(agent_id, AgentState.LOGGED_OUT),
                changes.get(agent_id, []),
                since=since,
                until=until,
            ),
        )
        for agent_id, username in agents
    ]


def agents_out(figures: list[AgentFigures], since: datetime, until: datetime) -> AgentsReportOut:
    s = AgentState
    return AgentsReportOut(
        since=since,
        until=until,
        agents=[
            AgentReportOut(
                agent_id=f.agent_id,
                username=f.username,
                calls_handled=f.totals.calls,
                talk_seconds=f.totals.seconds[s.TALKING],
                wrap_up_seconds=f.totals.seconds[s.WRAP_UP],
                ready_seconds=f.totals.seconds[s.READY],
                not_ready_seconds=f.totals.seconds[s.NOT_READY],
                reserved_seconds=f.totals.seconds[s.RESERVED],
                logged_in_seconds=f.totals.logged_in,
                occupancy=f.totals.occupancy,
            )
            for f in figures
        ],
    )
