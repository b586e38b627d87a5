"""Reservations on the virtual clock with the simulated dialer, on both databases: two
customers dialled for one agent answer at once - one gets the agent, the other is abandoned
and counted; the wrap-up limit moves the agent on as the campaign says; a reservation whose
lease runs out (its worker died) is given back."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.agents import desk, reservations
from outbound.agents import service as agents
from outbound.agents.states import AgentState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.pacing import reservation_lines
from outbound.models import Agent, AgentReservation, AgentStateChange, Attempt
from outbound.reports import service as reports
from outbound.users.roles import Role
from tests.clocks import next_monday_9
from tests.conftest import Account, _account
from tests.integration.test_agents_dialing import ONE_CALL, _ask, _engine, _profile, _state
from tests.integration.test_engine_flow import setup_campaign

API = "/api/v1"


def _beat(db: Database, agent_id: int, clock: VirtualClock) -> None:
    with db.transaction() as session:
        agents.heartbeat(agents.get_agent(session, agent_id), now=clock.now())


def test_lines_per_reserved_agent_add_up() -> None:
    assert reservation_lines(4, 1.5) == [1, 2, 1, 2]
    assert reservation_lines(3, 1.0) == [1, 1, 1]
    assert reservation_lines(2, 2.0) == [2, 2]
    assert sum(reservation_lines(7, 2.3)) == 16  # floor(7 x 2.3)


def test_one_agent_two_answers_wrap_up_and_lease(
    client: TestClient, db: Database, admin: Account
) -> None:
    user = _account(db, Role.AGENT)
    # Both numbers answer 15 s after the dial (simulator, no jitter).
    campaign = setup_campaign(
        client, admin, strategy=ONE_CALL, phones=["+14155550200", "+14155550201"]
    )
    body = {
        "dialing_mode": "progressive",
        "lines_per_agent": 2.0,
        "wrap_up_seconds": 30,
        "after_wrap_up": "not_ready",
    }
    assert client.patch(f"{API}/campaigns/{campaign}", json=body, headers=admin.headers).is_success
    agent_id = _profile(client, admin, user, campaign)
    clock = VirtualClock(next_monday_9())
    engine = _engine(db, clock)
    _ask(db, agent_id, "not_ready", now=clock.now())
    _ask(db, agent_id, "ready", now=clock.now())
    engine.step()
    assert _state(db, agent_id)[0] is AgentState.RESERVED
    with db.transaction() as session:
        dialled = list(session.scalars(select(Attempt).where(Attempt.campaign_id == campaign)))
        held = session.scalars(select(AgentReservation)).all()
    assert len(dialled) == 2 and len(held) == 1
    assert {a.reservation_id for a in dialled} == {held[0].id}

    clock.advance(timedelta(seconds=16))
    engine.step()
    assert _state(db, agent_id)[0] is AgentState.TALKING
    with db.transaction() as session:
        rows = list(session.scalars(select(Attempt).where(Attempt.campaign_id == campaign)))
        report = reports.campaign_report(session, str(campaign), since=None, now=clock.now())
        assert session.scalars(select(AgentReservation)).all() == []
    taken = [a for a in rows if a.agent_id == agent_id]
    dropped = [a for a in rows if a.abandoned_at is not None]
    assert len(taken) == 1 and len(dropped) == 1 and taken[0] is not dropped[0]
    assert dropped[0].outcome is not None and dropped[0].outcome.value == "dialer_abandoned"
    hour = next(r for r in report.abandon_rates if r.window == "1h")
    assert (hour.abandons, hour.live_answers, hour.rate) == (1, 2, 0.5)

    with db.transaction() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        desk.end_call(session, agent, now=clock.now())
        agents.heartbeat(agent, now=clock.now())
    ended = clock.now()
    clock.advance(timedelta(seconds=29))
    _beat(db, agent_id, clock)
    engine._due.pop("sweep", None)
    engine.step()
    assert _state(db, agent_id)[0] is AgentState.WRAP_UP  # 29 s of a 30 s wrap-up
    clock.advance(timedelta(seconds=2))
    _beat(db, agent_id, clock)
    engine._due.pop("sweep", None)
    engine.step()
    assert _state(db, agent_id)[0] is AgentState.NOT_READY  # the campaign's after_wrap_up
    with db.transaction() as session:
        last = session.scalars(
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            .order_by(AgentStateChange.id.desc())
        ).first()
        assert last is not None and last.by == "system"
        assert last.at >= ended + timedelta(seconds=30)

    # A reservation made by a worker that died: its lease runs out, the agent is ready again.
    _ask(db, agent_id, "ready", now=clock.now())
    with db.transaction() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        reservations.reserve(session, agent, campaign, now=clock.now(), worker_id="dead")
    clock.advance(reservations.LEASE + timedelta(seconds=1))
    with db.transaction() as session:
        assert reservations.sweep_expired(session, now=clock.now()) == 1
    assert _state(db, agent_id)[0] is AgentState.READY
