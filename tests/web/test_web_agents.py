"""The agent desk, the agents page and the campaign form's dispositions over HTTP: who may
open what, the desk's actions and its poll, an admin's agent form, the dispositions box."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from outbound.users.roles import Role
from tests.conftest import Account, _account
from tests.factories import make_campaign
from tests.web.conftest import csrf_of, field_error, login_nonce
from tests.web.test_web_campaign_dialing import _form

Login = Callable[[Account], str]
API = "/api/v1"


def _agent_login(client: TestClient, account: Account) -> str:
    answer = client.post(
        "/login",
        data={
            "csrf_token": login_nonce(client),
            "username": account.username,
            "password": account.password,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/agent"  # an agent's home is the desk
    return csrf_of(client, "/agent")


def _profile(client: TestClient, admin: Account, user: Account, campaign: int) -> int:
    users = {
        u["username"]: u["id"] for u in client.get(f"{API}/users", headers=admin.headers).json()
    }
    body = {"user_id": users[user.username], "sip_address": "1001", "campaign_ids": [campaign]}
    created = client.post(f"{API}/agents", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_the_desk_logs_in_goes_ready_and_polls(
    client: TestClient, db: Database, admin: Account
) -> None:
    agent = _account(db, Role.AGENT)
    campaign = make_campaign(db, "desk-web")
    token = _agent_login(client, agent)
    assert "no agent profile yet" in client.get("/agent").text
    assert client.get("/").status_code == 403  # the back office is not an agent's
    _profile(client, admin, agent, campaign)

    page = client.get("/agent").text
    assert 'id="my-state">Logged out<' in page
    key = re.search(r'hx-get="/agent/desk\?key=([0-9a-f]+)"', page)
    assert key is not None
    # Nothing changed: the poll answers 204 (and counts as the heartbeat).
    assert client.get(f"/agent/desk?key={key.group(1)}").status_code == 204
    desk = client.post(
        "/agent/state",
        data={"csrf_token": token, "state": "not_ready"},
        headers={"HX-Request": "true"},
    )
    assert desk.status_code == 200 and 'id="my-state">Not ready<' in desk.text
    assert client.get(f"/agent/desk?key={key.group(1)}").status_code == 200  # changed
    ready = client.post(
        "/agent/state", data={"csrf_token": token, "state": "ready"}, follow_redirects=False
    )
    assert ready.status_code == 303 and ready.headers["location"] == "/agent"
    me = client.get(f"{API}/agents/me", headers=agent.headers).json()
    assert me["state"] == "ready" and me["last_heartbeat_at"] is not None
    # Without the CSRF token nothing moves.
    assert client.post("/agent/state", data={"state": "logged_out"}).status_code == 403
    # No call: disposing says so on the desk.
    none = client.post(
        "/agent/dispose",
        data={"csrf_token": token, "disposition": "completed"},
        headers={"HX-Request": "true"},
    )
    assert none.status_code == 422 and "no call to dispose" in none.text
    # Choosing none of the campaigns is kept.
    chosen = client.post("/agent/campaigns", data={"csrf_token": token}, follow_redirects=False)
    assert chosen.status_code == 303
    assert client.get(f"{API}/agents/me", headers=agent.headers).json()["active_campaign_ids"] == []


def test_viewers_have_no_desk_and_agents_no_agents_page(
    client: TestClient, db: Database, login: Login, viewer: Account
) -> None:
    login(viewer)
    assert client.get("/agent").status_code == 403
    assert 'href="/agent"' not in client.get("/").text  # not in a viewer's menu
    assert client.get("/agents").status_code == 403
    agent = _account(db, Role.AGENT)
    client.cookies.clear()
    _agent_login(client, agent)
    assert client.get("/agents").status_code == 403
    assert client.get("/agents/live").status_code == 403


def test_admin_creates_and_edits_an_agent(
    client: TestClient, db: Database, login: Login, admin: Account
) -> None:
    agent = _account(db, Role.AGENT)
    campaign = make_campaign(db, "desk-admin")
    token = login(admin)
    form = client.get("/agents/new").text
    user_id = re.search(rf'<option value="(\d+)">{agent.username} \(agent\)</option>', form)
    assert user_id is not None
    bad = client.post(
        "/agents/new",
        data={"csrf_token": token, "user_id": user_id.group(1), "sip_address": "alice@pbx"},
    )
    assert bad.status_code == 422
    assert "sip:user@host" in (field_error(bad.text, "f-sip_address") or "")
    made = client.post(
        "/agents/new",
        data={
            "csrf_token": token,
            "user_id": user_id.group(1),
            "sip_address": "sip:alice@pbx.example.com",
            "campaign_ids": str(campaign),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    live = client.get("/agents/live").text
    assert f'data-agent="{agent.username}"' in live and "desk-admin" in live
    agent_id = client.get(f"{API}/agents", headers=admin.headers).json()[0]["id"]
    saved = client.post(
        f"/agents/{agent_id}/edit",
        data={"csrf_token": token, "sip_address": "2002"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    shown = client.get(f"{API}/agents/{agent_id}", headers=admin.headers).json()
    assert shown["sip_address"] == "2002" and shown["campaign_ids"] == []
    reason = client.post(
        "/agents/reasons", data={"csrf_token": token, "name": "Coaching"}, follow_redirects=False
    )
    assert reason.status_code == 303 and "Coaching" in client.get("/agents").text


def test_campaign_form_edits_dispositions(
    client: TestClient, db: Database, login: Login, admin: Account
) -> None:
    campaign = make_campaign(db, "sales")
    token = login(admin)
    page = client.get(f"/campaigns/{campaign}").text
    assert "do_not_call | Do not call | do_not_call" in page
    text = "sale | Sale | connected\nwrong | Wrong person | wrong_person\n"
    saved = client.post(
        f"/campaigns/{campaign}", data=_form(token, dispositions=text), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    stored = client.get(f"{API}/campaigns/{campaign}", headers=admin.headers).json()
    assert [d["code"] for d in stored["dispositions"]] == ["sale", "wrong"]
    bad = client.post(
        f"/campaigns/{campaign}",
        data=_form(token, dispositions="sale | Sale | connected\nx | X | sold"),
    )
    assert bad.status_code == 422
    assert (field_error(bad.text, "f-dispositions") or "").startswith("line 2:")
