"""Personal callbacks on the virtual clock with the simulated dialer, on both databases.

A callback an agent books is that agent's: at its time, with another agent ready, only the
booking agent gets it (the dispatcher reserves it for that contact); if that agent is not
ready within the campaign's grace time the callback goes to any agent of the campaign, or
waits, as the campaign says. Never before its time; the DNC list still applies. A CRM books
and cancels callbacks through the API; the agent sees its own callbacks on the contact's
clock. The oracle is the attempts the simulator was asked to make and the agents they reached.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.agents import desk
from outbound.agents import service as agents
from outbound.agents.schemas import DispositionRequest
from outbound.agents.states import AgentState
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine
from outbound.models import Attempt, Contact, User
from outbound.users.roles import Role
from tests.clocks import next_monday_9
from tests.conftest import Account, _account
from tests.integration.test_agents_dialing import _ask, _engine, _profile, _state
from tests.integration.test_engine_flow import setup_campaign
from tests.web.test_web_agents import _agent_login

API = "/api/v1"
# A wrong person is tried again on the second attempt; a callback repeats the attempt.
STRATEGY = {
    "name": "callback-strategy",
    "max_attempts": 5,
    "attempts": [{"channel": "voice"}, {"channel": "voice"}],
}
FIRST, SECOND = "+14155550200", "+14155550201"  # the simulator answers both after 15 s


def _beat(db: Database, agent_ids: list[int], now: datetime) -> None:
    with db.transaction() as session:
        for agent_id in agent_ids:
            agents.heartbeat(agents.get_agent(session, agent_id), now=now)


def _steps(engine: Engine, db: Database, clock: VirtualClock, ids: list[int], n: int = 3) -> None:
    """A few rounds of the engine at this moment, the desktops beating."""
    for _ in range(n):
        _beat(db, ids, clock.now())
        engine.step()


def _calls(db: Database, contact_id: int) -> list[Attempt]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(Attempt).where(Attempt.contact_id == contact_id).order_by(Attempt.id)
            )
        )


def _contact_of(db: Database, phone: str) -> Contact:
    with db.transaction() as session:
        contact = session.scalar(select(Contact).where(Contact.phone1_e164 == phone))
        assert contact is not None
        return contact


def _until_talking(
    engine: Engine, db: Database, clock: VirtualClock, agent_id: int, ids: list[int]
) -> None:
    for _ in range(40):
        _beat(db, ids, clock.now())
        engine.step()
        if _state(db, agent_id)[0] is AgentState.TALKING:
            return
        clock.advance(timedelta(seconds=1))
    raise AssertionError(f"agent {agent_id} never got the call")


def _dispose(
    db: Database, agent_id: int, code: str, now: datetime, at: datetime | None = None
) -> None:
    with db.transaction() as session:
        agent = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, agent.user_id)
        assert user is not None
        body = DispositionRequest(disposition=code, callback_at=at)
        desk.dispose(session, agent, body, user=user, now=now)


def test_a_personal_callback_reaches_its_agent_then_anyone_after_the_grace(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = setup_campaign(client, admin, strategy=STRATEGY, phones=[FIRST, SECOND])
    body = {"dialing_mode": "progressive", "callback_grace_minutes": 15}
    changed = client.patch(f"{API}/campaigns/{campaign}", json=body, headers=admin.headers)
    assert changed.status_code == 200 and changed.json()["callback_after_grace"] == "any_agent"
    alice = _profile(client, admin, _account(db, Role.AGENT), campaign)
    bob = _profile(client, admin, _account(db, Role.SUPERVISOR), campaign)
    both = [alice, bob]
    clock = VirtualClock(next_monday_9())
    engine = _engine(db, clock)
    for agent_id in both:
        _ask(db, agent_id, "not_ready", now=clock.now())
    _ask(db, alice, "ready", now=clock.now())

    # Alice takes both customers in turn; each asks to be called back tomorrow, on their
    # own clock (+1 415: Los Angeles): the first at 10:00, the second at 11:00.
    zone = ZoneInfo("America/Los_Angeles")
    tomorrow = clock.now().astimezone(zone).date() + timedelta(days=1)
    at_ten = datetime.combine(tomorrow, time(10, 0), tzinfo=zone)
    at_eleven = datetime.combine(tomorrow, time(11, 0), tzinfo=zone)
    for at in (at_ten, at_eleven):
        _until_talking(engine, db, clock, alice, both)
        _dispose(db, alice, "callback", clock.now(), at)
        _ask(db, alice, "ready", now=clock.now())
        clock.advance(timedelta(seconds=20))  # the call ends at the simulator
        _steps(engine, db, clock, both)
    first, second = _contact_of(db, FIRST), _contact_of(db, SECOND)
    assert (first.callback_at, first.callback_agent_id) == (at_ten, alice)
    assert (second.callback_at, second.callback_agent_id) == (at_eleven, alice)

    # Bob is ready, Alice on a break: at 10:00 Bob, ready the longest, gets nothing.
    _ask(db, alice, "not_ready", now=clock.now(), reason="Break")
    _ask(db, bob, "ready", now=clock.now())
    clock.sleep_until(at_ten - timedelta(seconds=1))
    _steps(engine, db, clock, both)
    assert len(_calls(db, first.id)) == 1  # not a second before its time
    clock.sleep_until(at_ten)
    _steps(engine, db, clock, both)
    assert len(_calls(db, first.id)) == 1  # Alice's, and Alice is not ready
    assert _state(db, bob)[0] is AgentState.READY
    # Alice comes back five minutes later: the callback is dialled for her at once.
    clock.advance(timedelta(minutes=5))
    _ask(db, alice, "ready", now=clock.now())
    _steps(engine, db, clock, both, n=1)
    assert _state(db, alice)[0] is AgentState.RESERVED
    assert _state(db, bob)[0] is AgentState.READY
    _until_talking(engine, db, clock, alice, both)
    calls = _calls(db, first.id)
    assert len(calls) == 2 and calls[1].agent_id == alice
    assert calls[1].sent_at == at_ten + timedelta(minutes=5)
    assert _contact_of(db, FIRST).callback_agent_id is None  # done with once dialled
    _dispose(db, alice, "completed", clock.now())
    _ask(db, alice, "not_ready", now=clock.now(), reason="Lunch")

    # 11:00: Alice stays away. Bob gets it only once the 15 minutes of grace are over.
    clock.sleep_until(at_eleven + timedelta(minutes=15) - timedelta(seconds=1))
    _steps(engine, db, clock, both)
    assert len(_calls(db, second.id)) == 1
    clock.sleep_until(at_eleven + timedelta(minutes=15))
    _until_talking(engine, db, clock, bob, both)
    calls = _calls(db, second.id)
    assert len(calls) == 2 and calls[1].agent_id == bob
    assert calls[1].sent_at == at_eleven + timedelta(minutes=15)


def test_a_crm_books_and_cancels_callbacks_and_dnc_still_applies(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = setup_campaign(client, admin, strategy=STRATEGY, phones=[FIRST, SECOND])
    body = {"dialing_mode": "progressive", "callback_after_grace": "wait"}
    assert client.patch(f"{API}/campaigns/{campaign}", json=body, headers=admin.headers).is_success
    user = _account(db, Role.AGENT)
    alice = _profile(client, admin, user, campaign)
    bob = _profile(client, admin, _account(db, Role.SUPERVISOR), campaign)
    both = [alice, bob]
    clock = VirtualClock(next_monday_9())
    first, second = _contact_of(db, FIRST), _contact_of(db, SECOND)
    url = f"{API}/campaigns/{campaign}/contacts/{{}}/callback"
    # Booked from the real clock (the API's), then the virtual one is moved past it.
    at = (datetime.now(ZoneInfo("UTC")) + timedelta(hours=2)).replace(microsecond=0)
    booked = client.post(
        url.format(first.id), json={"at": at.isoformat(), "agent_id": alice}, headers=admin.headers
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["agent_id"] == alice
    assert client.post(
        url.format(second.id), json={"at": at.isoformat(), "agent_id": bob}, headers=admin.headers
    ).is_success
    listed = client.get(f"{API}/agents/me/callbacks", headers=user.headers).json()
    assert [c["contact_id"] for c in listed] == [first.id]
    expected = at.astimezone(ZoneInfo("America/Los_Angeles")).strftime("%Y-%m-%d %H:%M")
    assert listed[0]["zone"] == "America/Los_Angeles" and listed[0]["local_time"] == expected
    _agent_login(client, user)  # the desk lists them too, on the customer's clock
    mine = client.get("/agent").text.split('id="my-callbacks"')[1].split("</section>")[0]
    assert expected in mine and FIRST in mine and SECOND not in mine
    # Bad input: a time passed, an agent that does not serve the campaign, no such contact.
    past = (datetime.now(ZoneInfo("UTC")) - timedelta(hours=1)).isoformat()
    late = client.post(url.format(first.id), json={"at": past}, headers=admin.headers)
    assert late.status_code == 422 and late.json()["detail"][0]["loc"] == ["body", "at"]
    stranger = client.post(
        url.format(first.id), json={"at": at.isoformat(), "agent_id": 99999}, headers=admin.headers
    )
    assert stranger.status_code == 409
    assert (
        client.post(
            url.format(999999), json={"at": at.isoformat()}, headers=admin.headers
        ).status_code
        == 404
    )
    # Bob's number goes on the DNC list meanwhile.
    listed_dnc = client.post(f"{API}/dnc", json={"number": SECOND}, headers=admin.headers)
    assert listed_dnc.status_code == 201, listed_dnc.text

    # Long after the grace time, Alice away: with "wait" nobody else gets her callback.
    engine = _engine(db, clock)
    clock.sleep_until(max(clock.now(), at) + timedelta(hours=1))
    for agent_id in both:
        _ask(db, agent_id, "not_ready", now=clock.now())
        _ask(db, agent_id, "ready", now=clock.now())
    _ask(db, alice, "not_ready", now=clock.now(), reason="Break")
    _steps(engine, db, clock, both)
    assert _calls(db, first.id) == []
    # Bob's own callback reaches the DNC gate: closed as DNC Listed, never dialled.
    assert _calls(db, second.id) == []
    assert _contact_of(db, SECOND).state is ContactState.DNC_LISTED
    assert _state(db, bob)[0] is AgentState.READY

    # The CRM cancels Alice's callback: the contact is due again for anyone; Bob gets it.
    cancelled = client.delete(url.format(first.id), headers=admin.headers)
    assert cancelled.status_code == 200 and cancelled.json()["callback_at"] is None
    assert client.delete(url.format(first.id), headers=admin.headers).status_code == 404
    with db.transaction() as session:  # due at the API's (real) time: before the clock's
        contact = session.get(Contact, first.id)
        assert contact is not None and contact.next_attempt_at is not None
        assert contact.next_attempt_at <= clock.now()
    _until_talking(engine, db, clock, bob, both)
    assert [c.agent_id for c in _calls(db, first.id)] == [bob]
