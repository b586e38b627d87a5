"""Preview dialing on the virtual clock with the simulated dialer, on both databases: the
engine dials nothing by itself; an agent sees the next contact first (held from the other
agents), calls it (dialled for that agent, handed to it on the answer) or skips it with a
disposition whose outcome the strategy applies (a wrong person is tried again later on the
next attempt; do not call lists the number). The oracle: the attempts made, the agents they
reached and the contacts' states, against the strategy written in the test."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.agents import preview
from outbound.agents import service as agents
from outbound.agents.schemas import SkipRequest
from outbound.agents.states import AgentState
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.models import Attempt, Contact, DncEntry, User
from outbound.users.roles import Role
from tests.clocks import next_monday_9
from tests.conftest import Account, _account
from tests.integration.test_agent_callbacks import _beat, _calls, _contact_of, _until_talking
from tests.integration.test_agents_dialing import _ask, _engine, _profile, _state
from tests.integration.test_engine_flow import setup_campaign
from tests.web.test_web_agents import _agent_login

API = "/api/v1"
STRATEGY = {
    "name": "preview-strategy",
    "max_attempts": 3,
    "attempts": [
        {"channel": "voice", "rules": {"wrong_person": {"action": "next", "delay_minutes": 90}}},
        {"channel": "voice"},
    ],
}
FIRST, SECOND, THIRD = "+14155550200", "+14155550201", "+14155550202"


def _show(db: Database, agent_id: int, now: datetime) -> int:
    with db.transaction() as session:
        return preview.show(
            session, agents.get_agent(session, agent_id, for_update=True), now=now
        ).contact_id


def _skip(db: Database, agent_id: int, code: str, now: datetime) -> None:
    with db.transaction() as session:
        agent = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, agent.user_id)
        assert user is not None
        preview.skip(session, agent, SkipRequest(disposition=code), user=user, now=now)


def test_preview_shows_then_calls_or_skips(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = setup_campaign(client, admin, strategy=STRATEGY, phones=[FIRST, SECOND, THIRD])
    changed = client.patch(
        f"{API}/campaigns/{campaign}", json={"dialing_mode": "preview"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    alice_user = _account(db, Role.AGENT)
    alice = _profile(client, admin, alice_user, campaign)
    bob = _profile(client, admin, _account(db, Role.SUPERVISOR), campaign)
    both = [alice, bob]
    # Not ready: no preview (409 names why).
    refused = client.get(f"{API}/agents/me/preview", headers=alice_user.headers)
    assert refused.status_code == 409 and "ready" in refused.json()["detail"]
    clock = VirtualClock(next_monday_9())
    engine = _engine(db, clock)
    for agent_id in both:
        _ask(db, agent_id, "not_ready", now=clock.now())
        _ask(db, agent_id, "ready", now=clock.now())
    for _ in range(3):
        _beat(db, both, clock.now())
        engine.step()
    with db.transaction() as session:
        assert session.scalars(select(Attempt)).all() == []  # nothing dialled by itself

    first, second, third = (_contact_of(db, p).id for p in (FIRST, SECOND, THIRD))
    assert _show(db, alice, clock.now()) == first  # upload order
    assert _show(db, alice, clock.now()) == first  # the same until called or skipped
    assert _state(db, alice)[0] is AgentState.RESERVED
    assert _show(db, bob, clock.now()) == second  # Alice's is held from Bob
    for _ in range(3):
        _beat(db, both, clock.now())
        engine.step()
    assert _calls(db, first) == [] and _calls(db, second) == []  # looking is not calling

    with db.transaction() as session:
        preview.call(session, agents.get_agent(session, alice, for_update=True), now=clock.now())
    _until_talking(engine, db, clock, alice, both)
    (call,) = _calls(db, first)
    assert call.agent_id == alice and call.reservation_id is not None
    assert call.handed_at is not None and call.answered_at is not None

    # Bob skips: a wrong person goes to the second attempt 90 minutes later, no call made.
    skipped_at = clock.now()
    _skip(db, bob, "wrong_person", skipped_at)
    assert _state(db, bob)[0] is AgentState.READY and _calls(db, second) == []
    moved = _contact_of(db, SECOND)
    assert moved.state is ContactState.PENDING and moved.next_position == 2
    assert moved.next_attempt_at == skipped_at + timedelta(minutes=90)
    # Next for Bob: the third (the second is not due); he skips it as do not call.
    assert _show(db, bob, clock.now()) == third
    _skip(db, bob, "do_not_call", clock.now())
    assert _contact_of(db, THIRD).state is ContactState.DNC_LISTED
    with db.transaction() as session:
        assert session.scalar(select(DncEntry).where(DncEntry.number_e164 == THIRD)) is not None
        assert session.get(Contact, second) is not None
    nothing = client.get(f"{API}/agents/me/preview", headers=alice_user.headers)
    assert nothing.status_code == 409  # Alice is talking


def test_the_desk_previews_and_skips(client: TestClient, db: Database, admin: Account) -> None:
    campaign = setup_campaign(client, admin, strategy=STRATEGY, phones=[FIRST, SECOND])
    body = {"dialing_mode": "preview"}
    assert client.patch(f"{API}/campaigns/{campaign}", json=body, headers=admin.headers).is_success
    user = _account(db, Role.AGENT)
    _profile(client, admin, user, campaign)
    token = _agent_login(client, user)
    for state in ("not_ready", "ready"):
        moved = client.post("/agent/state", data={"csrf_token": token, "state": state})
        assert moved.status_code in (200, 303), moved.text
    page = client.get("/agent").text
    assert 'id="preview-show"' in page and 'id="preview"' not in page
    htmx = {"HX-Request": "true"}
    shown = client.post("/agent/preview", data={"csrf_token": token}, headers=htmx)
    assert shown.status_code == 200 and 'id="preview"' in shown.text and FIRST in shown.text
    skipped = client.post(
        "/agent/preview/skip",
        data={"csrf_token": token, "disposition": "wrong_person"},
        headers=htmx,
    )
    assert skipped.status_code == 200 and 'id="my-state">Ready<' in skipped.text
    contact = _contact_of(db, FIRST)
    assert contact.next_position == 2 and contact.state is ContactState.PENDING
    # The CTI shows the next one (the first is not due for 90 minutes).
    nxt = client.get(f"{API}/agents/me/preview", headers=user.headers)
    assert nxt.status_code == 200 and nxt.json()["number_to_call"] == SECOND
    called = client.post(f"{API}/agents/me/preview/call", headers=user.headers)
    assert called.status_code == 200 and called.json()["dial_requested_at"] is not None
    late = client.post(
        f"{API}/agents/me/preview/skip", json={"disposition": "completed"}, headers=user.headers
    )
    assert late.status_code == 409  # the call is being placed
