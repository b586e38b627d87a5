"""Progressive dialing on the virtual clock with the simulated dialer, on both databases:
no customer is dialled while no agent of the campaign is ready, at most
floor(ready x lines_per_agent) calls ring at once, and an agent whose desktop goes silent is
made not ready (Disconnected) by the engine's sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.agents import desk
from outbound.agents import service as agents
from outbound.agents.schemas import DispositionRequest, StateRequest
from outbound.agents.states import AgentState
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Agent, AgentStateChange, Attempt, User
from outbound.reports import service as reports
from outbound.users.roles import Role
from tests.clocks import next_monday_9
from tests.conftest import Account, _account
from tests.factories import make_campaign
from tests.integration.test_engine_flow import setup_campaign

API = "/api/v1"
ONE_CALL = {"name": "one-call", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
# Numbers ending 480 ring 30 s and are not answered; 200 answer after 15 s.
PHONES = [f"+1415{230 + i}0{'480' if i % 3 else '200'}" for i in range(30)]


def _engine(db: Database, clock: VirtualClock) -> Engine:
    dialer = build_dialer("simulator", {"seed": 7, "jitter": 0}, clock)
    sms = build_sms_gateway("simulator", {"seed": 7}, clock)
    timing = Timing(idle=timedelta(seconds=5), sweep=timedelta(seconds=1))
    engine = Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="agents-w", timing=timing)
    engine.register()
    return engine


def _profile(client: TestClient, admin: Account, user: Account, campaign: int) -> int:
    users = {
        u["username"]: u["id"] for u in client.get(f"{API}/users", headers=admin.headers).json()
    }
    body = {"user_id": users[user.username], "sip_address": "1001", "campaign_ids": [campaign]}
    created = client.post(f"{API}/agents", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _ask(
    db: Database, agent_id: int, state: str, *, now: datetime, reason: str | None = None
) -> None:
    """What the desktop's POST /agents/me/state does, at the virtual clock's time."""
    with db.transaction() as session:
        agent = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, agent.user_id)
        assert user is not None
        reason_id = None
        if reason is not None:
            reason_id = next(r.id for r in agents.list_reasons(session) if r.name == reason)
        body = StateRequest(state=AgentState(state), reason_id=reason_id)
        agents.request_state(session, agent, body, user=user, now=now)


def _beat(db: Database, agent_ids: list[int], now: datetime) -> None:
    """The desktops beat, and dispose of a call once the customer hung up (its attempt
    ended): the agent wraps up, free to go ready or not ready."""
    with db.transaction() as session:
        for agent_id in agent_ids:
            agent = agents.get_agent(session, agent_id)
            agents.heartbeat(agent, now=now)
            if agent.state is AgentState.TALKING:
                last = session.scalars(
                    select(Attempt).where(Attempt.agent_id == agent_id).order_by(Attempt.id.desc())
                ).first()
                if last is not None and last.ended_at is not None:
                    _dispose(session, agent, now)


def _dispose(session: Session, agent: Agent, now: datetime) -> None:
    user = session.get(User, agent.user_id)
    assert user is not None
    desk.dispose(session, agent, DispositionRequest(disposition="completed"), user=user, now=now)


def _ringing(db: Database, campaign: int) -> int:
    """Calls handed to the dialer and neither answered nor ended: counted from the attempts."""
    with db.transaction() as session:
        query = select(func.count()).where(
            Attempt.campaign_id == campaign,
            Attempt.answered_at.is_(None),
            Attempt.ended_at.is_(None),
        )
        return int(session.scalar(query) or 0)


def _attempts(db: Database, campaign: int) -> int:
    with db.transaction() as session:
        return int(session.scalar(select(func.count()).where(Attempt.campaign_id == campaign)) or 0)


def _state(db: Database, agent_id: int) -> tuple[AgentState, str | None]:
    with db.transaction() as session:
        agent = session.get(Agent, agent_id)
        assert agent is not None
        return agent.state, agent.reason.name if agent.reason else None


def _run(
    engine: Engine,
    clock: VirtualClock,
    db: Database,
    campaign: int,
    *,
    seconds: int,
    present: list[int],
) -> int:
    """Step the engine for ``seconds`` virtual seconds, the present agents beating; returns the
    most calls ringing at once seen after any step."""
    end = clock.now() + timedelta(seconds=seconds)
    most = 0
    while clock.now() < end:
        _beat(db, present, clock.now())
        wake = engine.step()
        most = max(most, _ringing(db, campaign))
        clock.sleep_until(min(wake, clock.now() + timedelta(seconds=5), end))
    return most


def test_progressive_dials_only_for_ready_agents(
    client: TestClient, db: Database, admin: Account, supervisor: Account
) -> None:
    agent = _account(db, Role.AGENT)
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=PHONES)
    paced = {"dialing_mode": "progressive", "lines_per_agent": 1.5}
    assert (
        client.patch(f"{API}/campaigns/{campaign}", json=paced, headers=admin.headers).status_code
        == 200
    )
    other = make_campaign(db, "other-sales")
    first, second = (
        _profile(client, admin, agent, campaign),
        _profile(client, admin, supervisor, campaign),
    )
    outsider = _profile(client, admin, admin, other)  # ready, but for another campaign
    clock = VirtualClock(next_monday_9())
    engine = _engine(db, clock)
    _ask(db, outsider, "not_ready", now=clock.now())
    _ask(db, outsider, "ready", now=clock.now())
    for agent_id in (first, second):
        _ask(db, agent_id, "not_ready", now=clock.now())  # logged in, not ready

    present = [first, second, outsider]
    _run(engine, clock, db, campaign, seconds=60, present=present)
    assert _attempts(db, campaign) == 0  # 30 contacts due, nobody ready: nobody dialled
    with db.transaction() as session:
        status = reports.campaign_status(session, str(campaign), now=clock.now())
    assert status.verdict.reason == "no_agent_ready"
    assert "none of its 2 agents is ready" in status.verdict.detail

    for agent_id in (first, second):
        _ask(db, agent_id, "ready", now=clock.now())
    most = _run(engine, clock, db, campaign, seconds=120, present=present)
    assert most == 3  # floor(2 x 1.5): the lines are used, and never more
    assert _attempts(db, campaign) > 3  # calls ended and new ones followed

    for agent_id in (first, second):
        if _state(db, agent_id)[0] is AgentState.TALKING:  # the call goes on: wait for its end
            _run(engine, clock, db, campaign, seconds=60, present=present)
        _ask(db, agent_id, "not_ready", now=clock.now(), reason="Break")
    dialled = _attempts(db, campaign)
    _run(engine, clock, db, campaign, seconds=120, present=present)
    assert _attempts(db, campaign) == dialled  # no new call once nobody is ready
    assert _ringing(db, campaign) == 0
    with db.transaction() as session:
        status = reports.campaign_status(session, str(campaign), now=clock.now())
    assert status.verdict.reason == "no_agent_ready", status.verdict


def test_a_silent_desktop_makes_the_agent_not_ready(
    client: TestClient, db: Database, admin: Account
) -> None:
    agent = _account(db, Role.AGENT)
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=PHONES[:3])
    assert (
        client.patch(
            f"{API}/settings", json={"agent_heartbeat_seconds": 20}, headers=admin.headers
        ).status_code
        == 200
    )
    agent_id = _profile(client, admin, agent, campaign)
    clock = VirtualClock(next_monday_9())
    engine = _engine(db, clock)
    _ask(db, agent_id, "not_ready", now=clock.now())
    _ask(db, agent_id, "ready", now=clock.now())
    # Beating every 15 s keeps the agent ready well past the 20 s limit.
    for _ in range(4):
        clock.advance(timedelta(seconds=15))
        _beat(db, [agent_id], clock.now())
        engine.step()
    assert _state(db, agent_id) == (AgentState.READY, None)
    silent_from = clock.now()
    clock.advance(timedelta(seconds=19))
    engine.step()
    assert _state(db, agent_id) == (AgentState.READY, None)  # not yet 20 s
    clock.advance(timedelta(seconds=2))
    engine.step()
    assert _state(db, agent_id) == (AgentState.NOT_READY, "Disconnected")
    with db.transaction() as session:
        last = session.scalars(
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            .order_by(AgentStateChange.id.desc())
        ).first()
        assert last is not None
        assert (last.from_state, last.to_state, last.reason, last.by, last.by_user_id) == (
            AgentState.READY,
            AgentState.NOT_READY,
            "Disconnected",
            "system",
            None,
        )
        assert last.at == silent_from + timedelta(seconds=21)
    # Marked once: the next sweeps leave it as it is.
    clock.advance(timedelta(seconds=30))
    engine.step()
    with db.transaction() as session:
        changes = session.scalar(select(func.count()).where(AgentStateChange.agent_id == agent_id))
    assert changes == 3
    # Back at the desk: the agent may go ready again.
    _ask(db, agent_id, "ready", now=clock.now())
    assert _state(db, agent_id) == (AgentState.READY, None)
