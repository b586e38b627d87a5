"""The agent's desk through the CTI API on both databases: the current call's screen-pop,
ending it, its disposition (the outcome the strategy then applies, the form's values, the
webhook, the DNC list), the wrap-up limit on the engine's virtual clock, the campaigns the
agent works now, and the event stream.

Calls are real attempts made by the engine with the simulated dialer on a virtual clock
(numbers ending 200 answer after 15 s). The hand-over of an answered customer to an agent is
the dialer's (another branch); here ``_hand_over`` does what it does through the agents
service: reserve the ready agent, stamp the attempt with it, move the agent to talking.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.agents import desk, repository
from outbound.agents import service as agents
from outbound.agents.schemas import DispositionRequest, StateRequest
from outbound.agents.states import AgentState
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Agent, Attempt, Contact, User, WebhookEvent
from outbound.strategies.outcomes import Outcome
from outbound.users.roles import Role
from outbound.webhooks.deliverer import payload
from tests.clocks import next_monday_9
from tests.conftest import Account, _account
from tests.factories import make_campaign
from tests.integration.test_engine_flow import setup_campaign

API = "/api/v1"
# Two voice attempts; a wrong person is tried again on the second after 90 minutes.
STRATEGY = {
    "name": "desk-strategy",
    "max_attempts": 3,
    "attempts": [
        {"channel": "voice", "rules": {"wrong_person": {"action": "next", "delay_minutes": 90}}},
        {"channel": "voice"},
    ],
}
FORM = [
    {"name": "interest", "label": "Interest", "type": "select", "options": ["low", "high"]},
    {"name": "notes", "label": "Notes", "type": "textarea", "required": True},
    {"name": "age", "label": "Age", "type": "number"},
]
PHONE = "+14155550200"  # the simulator answers it after 15 s


@pytest.fixture
def agent(db: Database) -> Account:
    return _account(db, Role.AGENT)


def _engine(db: Database, clock: VirtualClock) -> Engine:
    dialer = build_dialer("simulator", {"seed": 3, "jitter": 0}, clock)
    sms = build_sms_gateway("simulator", {"seed": 3}, clock)
    timing = Timing(idle=timedelta(seconds=5), sweep=timedelta(seconds=1))
    engine = Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="desk-w", timing=timing)
    engine.register()
    return engine


def _setup(client: TestClient, admin: Account, agent: Account, **campaign: Any) -> tuple[int, int]:
    """A started Agent campaign with one contact, and the agent's profile serving it."""
    campaign_id = setup_campaign(client, admin, strategy=STRATEGY, phones=[PHONE])
    patch = {"agent_form": FORM, "agent_script": "Hello {name}", **campaign}
    changed = client.patch(f"{API}/campaigns/{campaign_id}", json=patch, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    users = {
        u["username"]: u["id"] for u in client.get(f"{API}/users", headers=admin.headers).json()
    }
    body = {"user_id": users[agent.username], "sip_address": "1001", "campaign_ids": [campaign_id]}
    created = client.post(f"{API}/agents", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return campaign_id, int(created.json()["id"])


def _ask(db: Database, agent_id: int, state: str, *, now: datetime) -> None:
    with db.transaction() as session:
        agent = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, agent.user_id)
        assert user is not None
        agents.request_state(
            session, agent, StateRequest(state=AgentState(state)), user=user, now=now
        )


def _answered_call(db: Database, campaign_id: int, clock: VirtualClock) -> int:
    """Run the engine until the campaign's call is answered; its attempt id."""
    engine = _engine(db, clock)
    for _ in range(60):
        engine.step()
        with db.transaction() as session:
            answered = session.scalar(
                select(Attempt.id).where(
                    Attempt.campaign_id == campaign_id, Attempt.answered_at.is_not(None)
                )
            )
        if answered is not None:
            return int(answered)
        clock.advance(timedelta(seconds=1))
    raise AssertionError("the simulated call was never answered")


def _hand_over(db: Database, agent_id: int, attempt_id: int, *, now: datetime) -> None:
    """What the dialer does when the customer answers: reserved, then talking, the attempt
    stamped with the agent."""
    with db.transaction() as session:
        agent = agents.get_agent(session, agent_id, for_update=True)
        agents.change_state(
            session, agent, AgentState.RESERVED, reason=None, by=None, by_agent=False, now=now
        )
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.agent_id = agent_id
        agents.change_state(
            session, agent, AgentState.TALKING, reason=None, by=None, by_agent=False, now=now
        )


def _on_a_call(
    client: TestClient, db: Database, admin: Account, agent: Account, **campaign: Any
) -> tuple[int, int, int, VirtualClock]:
    campaign_id, agent_id = _setup(client, admin, agent, **campaign)
    clock = VirtualClock(next_monday_9())
    _ask(db, agent_id, "not_ready", now=clock.now())
    _ask(db, agent_id, "ready", now=clock.now())
    attempt_id = _answered_call(db, campaign_id, clock)
    _hand_over(db, agent_id, attempt_id, now=clock.now())
    return campaign_id, agent_id, attempt_id, clock


def _contact(db: Database, attempt_id: int) -> Contact:
    with db.transaction() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        contact = session.get(Contact, attempt.contact_id)
        assert contact is not None
        session.expunge(contact)
        return contact


def _attempt(db: Database, attempt_id: int) -> Attempt:
    with db.transaction() as session:
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        session.expunge(attempt)
        return attempt


def test_screen_pop_then_wrong_person_follows_the_strategy(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    hook = {"url": "http://127.0.0.1:9/hook", "name": "crm"}
    assert client.post(f"{API}/webhooks", json=hook, headers=admin.headers).status_code == 201
    campaign_id, _agent_id, attempt_id, _clock = _on_a_call(client, db, admin, agent)
    assert _contact(db, attempt_id).state is ContactState.CONNECTED  # as the answer left it

    call = client.get(f"{API}/agents/me/call", headers=agent.headers)
    assert call.status_code == 200, call.text
    pop = call.json()
    assert pop["agent_state"] == "talking" and pop["wrap_up_ends_at"] is None
    assert pop["screen_pop"]["attempt"]["id"] == attempt_id
    assert pop["screen_pop"]["contact"]["phones"][0]["e164"] == PHONE
    assert pop["screen_pop"]["campaign"]["agent_script"] == "Hello {name}"
    assert [f["name"] for f in pop["screen_pop"]["campaign"]["agent_form"]] == [
        "interest",
        "notes",
        "age",
    ]
    assert "wrong_person" in {d["code"] for d in pop["dispositions"]}

    # The form is checked against the campaign's agent form, field by field.
    def refused(body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post(f"{API}/agents/me/call/disposition", json=body, headers=agent.headers)
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        return dict(error)

    assert refused({"disposition": "wrong_person", "form_values": {}})["loc"] == [
        "body",
        "form_values",
        "notes",
    ]
    bad_select = {"notes": "x", "interest": "medium"}
    assert (
        "one of: low, high"
        in refused({"disposition": "wrong_person", "form_values": bad_select})["msg"]
    )
    assert refused({"disposition": "sold", "form_values": {"notes": "x"}})["loc"] == [
        "body",
        "disposition",
    ]
    assert refused({"disposition": "wrong_person", "form_values": {"notes": "x", "shoe": 1}})[
        "loc"
    ] == ["body", "form_values", "shoe"]
    # Leaving the call undisposed is refused: the agent is talking.
    assert (
        client.post(
            f"{API}/agents/me/state", json={"state": "ready"}, headers=agent.headers
        ).status_code
        == 409
    )

    before = datetime.now(UTC)
    values = {"notes": "asked for his daughter", "interest": "low", "age": 41}
    done = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "wrong_person", "form_values": values},
        headers=agent.headers,
    )
    after = datetime.now(UTC)
    assert done.status_code == 200, done.text
    assert done.json()["disposition"] == "wrong_person"
    assert done.json()["agent_state"] == "wrap_up"  # disposing ends the talk
    stored = _attempt(db, attempt_id)
    assert stored.outcome is Outcome.WRONG_PERSON
    assert stored.disposition == "wrong_person"
    assert stored.form_values == {"notes": "asked for his daughter", "interest": "low", "age": 41}
    # The strategy's rule for a wrong person (an oracle written above, not the product's):
    # the second attempt, 90 minutes after the disposition.
    contact = _contact(db, attempt_id)
    assert contact.state is ContactState.PENDING
    assert contact.next_position == 2
    assert contact.next_attempt_at is not None
    assert before + timedelta(minutes=90) - timedelta(seconds=1) <= contact.next_attempt_at
    assert contact.next_attempt_at <= after + timedelta(minutes=90) + timedelta(seconds=1)
    assert contact.last_outcome == "wrong_person"

    # Once only.
    again = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "completed", "form_values": values},
        headers=agent.headers,
    )
    assert again.status_code == 409 and "already disposed" in again.json()["detail"]

    # The attempt.result webhook carries the disposition and the form.
    with db.transaction() as session:
        events = session.scalars(
            select(WebhookEvent)
            .where(
                WebhookEvent.attempt_id == attempt_id, WebhookEvent.event_type == "attempt.result"
            )
            .order_by(WebhookEvent.id)
        ).all()
        last = payload(events[-1])
    assert last["outcome"] == "wrong_person"
    assert last["attempt"]["disposition"] == "wrong_person"
    assert last["attempt"]["form_values"]["notes"] == "asked for his daughter"
    assert last["campaign_id"] == campaign_id

    # Done wrapping up: the agent may go ready now.
    ready = client.post(f"{API}/agents/me/state", json={"state": "ready"}, headers=agent.headers)
    assert ready.status_code == 200, ready.text
    assert client.get(f"{API}/agents/me/call", headers=agent.headers).status_code == 404


def test_do_not_call_lists_the_number(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    _campaign, _agent_id, attempt_id, _clock = _on_a_call(client, db, admin, agent)
    ended = client.post(f"{API}/agents/me/call/end", headers=agent.headers)
    assert ended.status_code == 200 and ended.json()["state"] == "wrap_up"
    assert client.post(f"{API}/agents/me/call/end", headers=agent.headers).status_code == 409
    # Still in wrap-up without a disposition: going ready is refused, and says why.
    refused = client.post(f"{API}/agents/me/state", json={"state": "ready"}, headers=agent.headers)
    assert refused.status_code == 409 and "dispose" in refused.json()["detail"]
    done = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "do_not_call", "form_values": {"notes": "never again"}},
        headers=agent.headers,
    )
    assert done.status_code == 200, done.text
    listed = client.get(f"{API}/dnc", params={"q": PHONE}, headers=admin.headers)
    assert listed.status_code == 200, listed.text
    assert PHONE in listed.text
    contact = _contact(db, attempt_id)
    assert contact.state is ContactState.DNC_LISTED and contact.next_attempt_at is None
    assert _attempt(db, attempt_id).outcome is Outcome.CONNECTED  # a person did answer


@pytest.mark.parametrize("after", ["not_ready", "ready"])
def test_wrap_up_ends_at_the_campaign_limit(
    client: TestClient, db: Database, admin: Account, agent: Account, after: str
) -> None:
    _campaign, agent_id, _attempt_id, clock = _on_a_call(
        client, db, admin, agent, wrap_up_seconds=30, after_wrap_up=after
    )
    engine = _engine(db, clock)
    with db.transaction() as session:
        me = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, me.user_id)
        assert user is not None
        body = DispositionRequest(disposition="completed", form_values={"notes": "fine"})
        desk.dispose(session, me, body, user=user, now=clock.now())
    wrapped_at = clock.now()

    def state() -> tuple[AgentState, str | None]:
        with db.transaction() as session:
            me = session.get(Agent, agent_id)
            assert me is not None
            agents.heartbeat(me, now=clock.now())  # the desktop is there throughout
            return me.state, me.reason.name if me.reason else None

    clock.sleep_until(wrapped_at + timedelta(seconds=29))
    state()
    engine.step()
    assert state() == (AgentState.WRAP_UP, None)
    clock.sleep_until(wrapped_at + timedelta(seconds=30))
    engine.step()
    expected = (
        (AgentState.READY, None) if after == "ready" else (AgentState.NOT_READY, "Wrap-up over")
    )
    assert state() == expected


def test_dispositions_are_kept_per_campaign(
    client: TestClient, db: Database, admin: Account
) -> None:
    body = {"name": "disp-test", "type": "agent"}
    strategy = client.post(f"{API}/strategies", json=STRATEGY, headers=admin.headers).json()["id"]
    created = client.post(
        f"{API}/campaigns", json={**body, "strategy_id": strategy}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    codes = {d["code"]: d["outcome"] for d in created.json()["dispositions"]}
    assert codes["do_not_call"] == "do_not_call" and codes["wrong_person"] == "wrong_person"
    cid = created.json()["id"]
    mine = [
        {"code": "sale", "label": "Sale", "outcome": "connected"},
        {"code": "fax_tone", "label": "Fax tone", "outcome": "fax"},
    ]
    patched = client.patch(
        f"{API}/campaigns/{cid}", json={"dispositions": mine}, headers=admin.headers
    )
    assert patched.status_code == 200 and patched.json()["dispositions"] == mine
    twice = client.patch(
        f"{API}/campaigns/{cid}", json={"dispositions": mine + mine[:1]}, headers=admin.headers
    )
    assert twice.status_code == 422 and "at most once" in twice.text
    unknown = [{"code": "x", "label": "X", "outcome": "sms_reply"}]
    bad = client.patch(
        f"{API}/campaigns/{cid}", json={"dispositions": unknown}, headers=admin.headers
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:3] == [
        "body",
        "dispositions",
        "0",
    ]
    empty = client.patch(f"{API}/campaigns/{cid}", json={"dispositions": []}, headers=admin.headers)
    assert empty.status_code == 422


def test_agent_chooses_among_assigned_campaigns(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    campaign_id, agent_id = _setup(client, admin, agent)
    me = client.get(f"{API}/agents/me", headers=agent.headers).json()
    assert me["active_campaign_ids"] == [campaign_id]  # every assigned one, to begin with
    other = make_campaign(db, "not-mine")  # not assigned
    foreign = client.put(
        f"{API}/agents/me/campaigns", json={"campaign_ids": [other]}, headers=agent.headers
    )
    assert foreign.status_code == 409 and foreign.json()["detail"].startswith(f"campaign {other}")
    _ask(db, agent_id, "not_ready", now=datetime.now(UTC))
    _ask(db, agent_id, "ready", now=datetime.now(UTC))
    with db.transaction() as session:
        assert repository.ready_by_campaign(session, [campaign_id]) == {campaign_id: 1}
    none = client.put(
        f"{API}/agents/me/campaigns", json={"campaign_ids": []}, headers=agent.headers
    )
    assert none.status_code == 200 and none.json()["active_campaign_ids"] == []
    with db.transaction() as session:  # ready, but working none of them: dials nothing for it
        assert repository.ready_by_campaign(session, [campaign_id]) == {campaign_id: 0}
    back = client.put(
        f"{API}/agents/me/campaigns", json={"campaign_ids": [campaign_id]}, headers=agent.headers
    )
    assert back.json()["active_campaign_ids"] == [campaign_id]


def test_event_stream_sends_state_and_call(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    _campaign, _agent_id, attempt_id, _clock = _on_a_call(client, db, admin, agent)
    frames: list[tuple[str, Any]] = []
    with client.stream(
        "GET", f"{API}/agents/me/events", params={"max_seconds": 1}, headers=agent.headers
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                frames.append((str(event), json.loads(line.removeprefix("data: "))))
    kinds = dict(frames)
    assert kinds["state"]["state"] == "talking"
    assert kinds["call"]["screen_pop"]["attempt"]["id"] == attempt_id
    with db.transaction() as session:  # an open stream is a heartbeat
        me = session.scalar(
            select(Agent)
            .join(User, User.id == Agent.user_id)
            .where(User.username == agent.username)
        )
        assert me is not None and me.last_heartbeat_at is not None


def test_no_call_and_no_profile(
    client: TestClient, db: Database, admin: Account, agent: Account, viewer: Account
) -> None:
    _setup(client, admin, agent)
    assert client.get(f"{API}/agents/me/call", headers=agent.headers).status_code == 404
    body = {"disposition": "completed", "form_values": {}}
    assert (
        client.post(
            f"{API}/agents/me/call/disposition", json=body, headers=agent.headers
        ).status_code
        == 404
    )
    assert client.post(f"{API}/agents/me/call/end", headers=agent.headers).status_code == 409
    assert client.get(f"{API}/agents/me/call", headers=viewer.headers).status_code == 403
    assert client.get(f"{API}/agents/me/events", headers=admin.headers).status_code == 404


def test_an_integral_json_number_is_an_id(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    """JSON's 5.0 is the integer 5 (JSON Schema agrees; the fuzzer sends such numbers)."""
    _setup(client, admin, agent)
    reasons = client.get(f"{API}/agent-reasons", headers=agent.headers).json()
    lunch = next(r["id"] for r in reasons if r["name"] == "Lunch")
    client.post(f"{API}/agents/me/state", json={"state": "not_ready"}, headers=agent.headers)
    body = {"state": "not_ready", "reason_id": float(lunch)}
    moved = client.post(f"{API}/agents/me/state", json=body, headers=agent.headers)
    assert moved.status_code == 200 and moved.json()["reason"] == "Lunch", moved.text
    half = client.post(
        f"{API}/agents/me/state",
        json={"state": "not_ready", "reason_id": 1.5},
        headers=agent.headers,
    )
    assert half.status_code == 422
    text = client.post(
        f"{API}/agents/me/state",
        json={"state": "not_ready", "reason_id": "1"},
        headers=agent.headers,
    )
    assert text.status_code == 422


def test_a_callback_is_dialled_at_the_time_asked_in_the_contact_s_zone(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    _campaign, agent_id, attempt_id, clock = _on_a_call(client, db, admin, agent)
    # The oracle: 10:00 tomorrow on the customer's own clock. +1 415 is San Francisco.
    zone = ZoneInfo("America/Los_Angeles")
    tomorrow = clock.now().astimezone(zone).date() + timedelta(days=1)
    asked = datetime.combine(tomorrow, time(10, 0), tzinfo=zone)
    engine = _engine(db, clock)
    with db.transaction() as session:
        me = agents.get_agent(session, agent_id, for_update=True)
        user = session.get(User, me.user_id)
        assert user is not None
        view = desk.my_call(session, me)
        assert view.contact_zones == ["America/Los_Angeles"]
        body = DispositionRequest(
            disposition="callback", form_values={"notes": "after ten"}, callback_at=asked
        )
        done = desk.dispose(session, me, body, user=user, now=clock.now())
        assert done.callback_at == asked
    contact = _contact(db, attempt_id)
    assert contact.state is ContactState.PENDING and contact.next_attempt_at == asked
    assert contact.next_position == 1  # the callback rule: this attempt again

    def attempts() -> list[datetime]:
        with db.transaction() as session:
            return list(
                session.scalars(
                    select(Attempt.sent_at)
                    .where(Attempt.contact_id == contact.id)
                    .order_by(Attempt.id)
                )
            )

    clock.sleep_until(asked - timedelta(seconds=1))
    for _ in range(3):
        engine.step()
    assert len(attempts()) == 1  # not a second before
    clock.sleep_until(asked)
    for _ in range(3):
        engine.step()
    made = attempts()
    assert len(made) == 2 and made[1] == asked  # dialled at that moment


def test_a_callback_time_needs_a_callback_and_a_future(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    _on_a_call(client, db, admin, agent)
    form = {"notes": "x"}
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    wrong = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "completed", "form_values": form, "callback_at": soon},
        headers=agent.headers,
    )
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "callback_at"]
    past = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    late = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "callback", "form_values": form, "callback_at": past},
        headers=agent.headers,
    )
    assert late.status_code == 422 and "passed" in late.text
    naive = client.post(
        f"{API}/agents/me/call/disposition",
        json={"disposition": "callback", "form_values": form, "callback_at": "2030-01-01T10:00"},
        headers=agent.headers,
    )
    assert naive.status_code == 422  # a time without its offset is ambiguous
