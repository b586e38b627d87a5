"""Agents through the API on both databases: profiles, reason codes, states with history,
and who may do what (an admin manages, a supervisor watches, an agent acts on itself)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from outbound.users.roles import Role
from tests.conftest import Account, _account
from tests.factories import make_campaign

API = "/api/v1"


@pytest.fixture
def agent(db: Database) -> Account:
    return _account(db, Role.AGENT)


def _field_error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    return dict(error)


def _conflict(response: Any) -> str:
    """A request of the right shape that clashes with what is stored: 409 and why."""
    assert response.status_code == 409, response.text
    return str(response.json()["detail"])


def _profile(client: TestClient, admin: Account, user: Account, **extra: Any) -> dict[str, Any]:
    users = client.get(f"{API}/users", headers=admin.headers).json()
    user_id = next(u["id"] for u in users if u["username"] == user.username)
    body = {"user_id": user_id, "sip_address": "sip:alice@pbx.example.com:5060", **extra}
    created = client.post(f"{API}/agents", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


def _reason_id(client: TestClient, account: Account, name: str) -> int:
    reasons = client.get(f"{API}/agent-reasons", headers=account.headers).json()
    return int(next(r["id"] for r in reasons if r["name"] == name))


def test_reason_codes(client: TestClient, admin: Account, viewer: Account, agent: Account) -> None:
    listed = client.get(f"{API}/agent-reasons", headers=agent.headers).json()
    names = {r["name"]: r["system"] for r in listed}
    assert names == {
        "Break": False,
        "Lunch": False,
        "Training": False,
        "Meeting": False,
        "Disconnected": True,
        "Wrap-up over": True,
    }
    made = client.post(f"{API}/agent-reasons", json={"name": "Coaching"}, headers=admin.headers)
    assert made.status_code == 201, made.text
    again = client.post(f"{API}/agent-reasons", json={"name": "coaching"}, headers=admin.headers)
    assert again.status_code == 409 and "already exists" in again.json()["detail"]
    assert (
        _field_error(client.post(f"{API}/agent-reasons", json={"name": ""}, headers=admin.headers))[
            "field"
        ]
        == "name"
    )
    rid = made.json()["id"]
    renamed = client.patch(
        f"{API}/agent-reasons/{rid}", json={"name": "1:1 coaching"}, headers=admin.headers
    )
    assert renamed.json()["name"] == "1:1 coaching"
    system = _reason_id(client, admin, "Disconnected")
    gone = client.delete(f"{API}/agent-reasons/{system}", headers=admin.headers)
    assert gone.status_code == 409 and "system reason" in gone.json()["detail"]
    renamed_system = client.patch(
        f"{API}/agent-reasons/{system}", json={"name": "Away"}, headers=admin.headers
    )
    assert renamed_system.status_code == 409
    for account in (viewer, agent):
        denied = client.post(f"{API}/agent-reasons", json={"name": "X"}, headers=account.headers)
        assert denied.status_code == 403
    assert client.delete(f"{API}/agent-reasons/{rid}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/agent-reasons/{rid}", headers=admin.headers).status_code == 404


def test_admin_manages_agent_profiles(
    client: TestClient, db: Database, admin: Account, viewer: Account, agent: Account
) -> None:
    sales = make_campaign(db, "sales")
    ivr = make_campaign(db, "ivr-poll", campaign_type=CampaignType.IVR)
    users = {
        u["username"]: u["id"] for u in client.get(f"{API}/users", headers=admin.headers).json()
    }
    body = {"user_id": users[agent.username], "sip_address": "sip:bob@10.0.0.5:5060"}
    for bad, why in (
        ("bob@pbx", "sip:user@host"),
        ("sip:bob@", "not a SIP URI"),
        ("sip:bob smith@pbx", "not a SIP URI"),
        ("sip:bob@pbx:70000", "port 70000"),
        ("12a4", "sip:user@host"),
    ):
        error = _field_error(
            client.post(f"{API}/agents", json={**body, "sip_address": bad}, headers=admin.headers)
        )
        assert error["field"] == "sip_address" and why in error["msg"], (bad, error)
    why = _conflict(
        client.post(
            f"{API}/agents", json={**body, "campaign_ids": [sales, ivr]}, headers=admin.headers
        )
    )
    assert "'ivr-poll' is an ivr campaign" in why and "Agent campaigns only" in why
    why = _conflict(
        client.post(f"{API}/agents", json={**body, "campaign_ids": [999]}, headers=admin.headers)
    )
    assert "campaign 999 does not exist" in why
    as_viewer = {**body, "user_id": users[viewer.username]}
    why = _conflict(client.post(f"{API}/agents", json=as_viewer, headers=admin.headers))
    assert "is a viewer" in why

    created = client.post(
        f"{API}/agents", json={**body, "campaign_ids": [sales]}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["state"], out["campaign_ids"], out["username"]) == (
        "logged_out",
        [sales],
        agent.username,
    )
    twice = client.post(f"{API}/agents", json=body, headers=admin.headers)
    assert twice.status_code == 409
    # An admin may also take calls; an extension is an address too.
    mine = client.post(
        f"{API}/agents",
        json={"user_id": users[admin.username], "sip_address": "2001"},
        headers=admin.headers,
    )
    assert mine.status_code == 201, mine.text

    aid = out["id"]
    other = make_campaign(db, "renewals")
    patched = client.patch(
        f"{API}/agents/{aid}",
        json={"campaign_ids": [other, sales], "sip_address": "sip:bob@pbx.example.com"},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["campaign_ids"] == sorted([other, sales])
    assert patched.json()["sip_address"] == "sip:bob@pbx.example.com"
    assert (
        _field_error(
            client.patch(f"{API}/agents/{aid}", json={"sip_address": None}, headers=admin.headers)
        )["field"]
        == "sip_address"
    )
    # The viewer and the agent cannot manage agents; the viewer cannot even see them.
    for account in (viewer, agent):
        assert client.get(f"{API}/agents", headers=account.headers).status_code == 403
        assert client.post(f"{API}/agents", json=body, headers=account.headers).status_code == 403
        denied = client.patch(
            f"{API}/agents/{aid}", json={"campaign_ids": []}, headers=account.headers
        )
        assert denied.status_code == 403
        assert client.delete(f"{API}/agents/{aid}", headers=account.headers).status_code == 403
    assert client.delete(f"{API}/agents/{aid}", headers=admin.headers).status_code == 204
    assert client.get(f"{API}/agents/{aid}", headers=admin.headers).status_code == 404


def test_agent_states_and_history(
    client: TestClient,
    db: Database,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    agent: Account,
) -> None:
    sales = make_campaign(db, "sales")
    assert client.get(f"{API}/agents/me", headers=agent.headers).status_code == 404
    profile = _profile(client, admin, agent, campaign_ids=[sales])
    me = client.get(f"{API}/agents/me", headers=agent.headers).json()
    assert me["id"] == profile["id"] and me["state"] == "logged_out"

    def ask(body: dict[str, Any], account: Account = agent) -> Any:
        return client.post(f"{API}/agents/me/state", json=body, headers=account.headers)

    skipped = ask({"state": "ready"})
    assert skipped.status_code == 409
    assert "from logged_out to ready" in skipped.json()["detail"]
    assert ask({"state": "not_ready"}).json()["state"] == "not_ready"  # logging in
    assert ask({"state": "ready"}).json()["state"] == "ready"
    assert "needs a reason_id" in _conflict(ask({"state": "not_ready"}))  # logged in now
    disconnected = _reason_id(client, agent, "Disconnected")
    assert "set by the system" in _conflict(ask({"state": "not_ready", "reason_id": disconnected}))
    assert _field_error(ask({"state": "ready", "reason_id": 1}))["field"] == "reason_id"
    lunch = _reason_id(client, agent, "Lunch")
    out = ask({"state": "not_ready", "reason_id": lunch}).json()
    assert (out["state"], out["reason"]) == ("not_ready", "Lunch")
    # While an agent is not ready with it, the reason stays.
    assert client.delete(f"{API}/agent-reasons/{lunch}", headers=admin.headers).status_code == 409
    for engine_state in ("reserved", "talking", "wrap_up"):
        refused = ask({"state": engine_state})
        assert refused.status_code == 409, refused.text
        assert f"from not_ready to {engine_state}" in refused.json()["detail"]
        assert "set by the engine" in refused.json()["detail"]
    assert _field_error(ask({"state": "sleeping"}))["field"] == "state"
    beat = client.post(f"{API}/agents/me/heartbeat", headers=agent.headers)
    assert beat.status_code == 200 and beat.json()["last_heartbeat_at"] is not None
    assert ask({"state": "logged_out"}).json()["state"] == "logged_out"

    # A viewer cannot act as an agent; a supervisor without a profile has none to act on.
    assert ask({"state": "not_ready"}, viewer).status_code == 403
    assert ask({"state": "not_ready"}, supervisor).status_code == 404
    # Supervisors see live states and the history; the agent does not see the others'.
    listed = client.get(f"{API}/agents", headers=supervisor.headers).json()
    assert [(a["username"], a["state"]) for a in listed] == [(agent.username, "logged_out")]
    assert listed[0]["state_since"] is not None
    history_url = f"{API}/agents/{profile['id']}/history"
    assert client.get(history_url, headers=agent.headers).status_code == 403
    rows = client.get(history_url, headers=supervisor.headers).json()
    moves = [(r["from_state"], r["to_state"], r["reason"], r["by"]) for r in reversed(rows)]
    assert moves == [
        ("logged_out", "not_ready", None, agent.username),
        ("not_ready", "ready", None, agent.username),
        ("ready", "not_ready", "Lunch", agent.username),
        ("not_ready", "logged_out", None, agent.username),
    ]
    page = client.get(
        history_url, params={"limit": 2, "before": rows[1]["id"]}, headers=supervisor.headers
    )
    assert [r["id"] for r in page.json()] == [r["id"] for r in rows[2:4]]


def test_supervisor_and_admin_may_also_take_calls(
    client: TestClient, db: Database, admin: Account, supervisor: Account, agent: Account
) -> None:
    mine = _profile(client, admin, supervisor)
    theirs = _profile(client, admin, agent)
    moved = client.post(
        f"{API}/agents/me/state", json={"state": "not_ready"}, headers=supervisor.headers
    )
    assert moved.status_code == 200 and moved.json()["id"] == mine["id"]
    # Only the caller's own agent moved.
    others = client.get(f"{API}/agents/{theirs['id']}", headers=supervisor.headers).json()
    assert others["state"] == "logged_out"


def test_campaign_dialing_modes(client: TestClient, db: Database, admin: Account) -> None:
    sales = make_campaign(db, "sales")
    ivr = make_campaign(db, "ivr-poll", campaign_type=CampaignType.IVR)
    shown = client.get(f"{API}/campaigns/{sales}", headers=admin.headers).json()
    assert (
        shown["dialing_mode"],
        shown["lines_per_agent"],
        shown["wrap_up_seconds"],
        shown["after_wrap_up"],
    ) == (
        "fixed",
        1.0,
        60,
        "ready",
    )

    def patch(campaign: int, body: dict[str, Any]) -> Any:
        return client.patch(f"{API}/campaigns/{campaign}", json=body, headers=admin.headers)

    error = _field_error(patch(sales, {"dialing_mode": "predictive"}))
    assert error["field"] == "dialing_mode" and "not available yet" in error["msg"]
    error = _field_error(patch(ivr, {"dialing_mode": "progressive"}))
    assert error["field"] == "dialing_mode" and "only an Agent campaign" in error["msg"]
    for bad in (0.5, 3.5, "2"):
        assert _field_error(patch(sales, {"lines_per_agent": bad}))["field"] == "lines_per_agent"
    assert _field_error(patch(sales, {"wrap_up_seconds": -1}))["field"] == "wrap_up_seconds"
    assert _field_error(patch(sales, {"after_wrap_up": "lunch"}))["field"] == "after_wrap_up"
    ok = patch(
        sales,
        {
            "dialing_mode": "progressive",
            "lines_per_agent": 1.5,
            "wrap_up_seconds": 30,
            "after_wrap_up": "not_ready",
        },
    )
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert (
        body["dialing_mode"],
        body["lines_per_agent"],
        body["wrap_up_seconds"],
        body["after_wrap_up"],
    ) == (
        "progressive",
        1.5,
        30,
        "not_ready",
    )
    assert patch(ivr, {"dialing_mode": "fixed"}).status_code == 200
    strategy = client.post(
        f"{API}/strategies",
        json={"name": "s1", "attempts": [{"channel": "voice"}]},
        headers=admin.headers,
    ).json()["id"]
    create = {"name": "ivr-new", "type": "ivr", "strategy_id": strategy, "dialing_mode": "preview"}
    error = _field_error(client.post(f"{API}/campaigns", json=create, headers=admin.headers))
    assert error["field"] == "dialing_mode"
    create |= {"type": "agent", "name": "agent-new"}
    made = client.post(f"{API}/campaigns", json=create, headers=admin.headers)
    assert made.status_code == 201 and made.json()["dialing_mode"] == "preview"


def test_heartbeat_setting_is_validated(client: TestClient, admin: Account) -> None:
    assert (
        client.get(f"{API}/settings", headers=admin.headers).json()["agent_heartbeat_seconds"] == 30
    )
    for bad in (0, 4, 3601, "30", 30.5):
        response = client.patch(
            f"{API}/settings", json={"agent_heartbeat_seconds": bad}, headers=admin.headers
        )
        assert _field_error(response)["field"] == "agent_heartbeat_seconds", bad
    ok = client.patch(
        f"{API}/settings", json={"agent_heartbeat_seconds": 10}, headers=admin.headers
    )
    assert ok.status_code == 200 and ok.json()["agent_heartbeat_seconds"] == 10


def test_an_agent_on_a_call_is_not_deleted(
    client: TestClient, db: Database, admin: Account, agent: Account
) -> None:
    from outbound.agents import service
    from outbound.agents.states import AgentState

    profile = _profile(client, admin, agent)
    client.post(f"{API}/agents/me/state", json={"state": "not_ready"}, headers=agent.headers)
    client.post(f"{API}/agents/me/state", json={"state": "ready"}, headers=agent.headers)
    with db.transaction() as session:  # what the engine will do when it reserves the agent
        row = service.get_agent(session, profile["id"], for_update=True)
        service.change_state(
            session,
            row,
            AgentState.RESERVED,
            reason=None,
            by=None,
            by_agent=False,
            now=row.state_since,
        )
    refused = client.delete(f"{API}/agents/{profile['id']}", headers=admin.headers)
    assert refused.status_code == 409 and "reserved" in refused.json()["detail"]
    # The agent cannot leave a reservation by itself for ready either: it is the engine's.
    own = client.post(f"{API}/agents/me/state", json={"state": "logged_out"}, headers=agent.headers)
    assert own.status_code == 409 and "from reserved to logged_out" in own.json()["detail"]
    assert (
        client.get(f"{API}/agents/{profile['id']}", headers=admin.headers).json()["state"]
        == "reserved"
    )
    assert client.get(f"{API}/agents/999/history", headers=admin.headers).status_code == 404


def test_deleting_the_user_deletes_its_agent_profile(
    client: TestClient, db: Database, admin: Account
) -> None:
    made = client.post(
        f"{API}/users",
        json={"username": "carol", "password": "carol-password-1", "role": "agent"},
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    body = {"user_id": made.json()["id"], "sip_address": "sip:carol@pbx"}
    profile = client.post(f"{API}/agents", json=body, headers=admin.headers).json()
    gone = client.delete(f"{API}/users/{made.json()['id']}", headers=admin.headers)
    assert gone.status_code == 204, gone.text
    assert client.get(f"{API}/agents/{profile['id']}", headers=admin.headers).status_code == 404
    assert client.get(f"{API}/agents", headers=admin.headers).json() == []
