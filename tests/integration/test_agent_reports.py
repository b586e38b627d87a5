"""The per-agent report against figures worked out by hand from a history built in the test
(known durations), on both databases; and its page with the chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from outbound.agents.states import AgentState
from outbound.db.engine import Database
from outbound.models import AgentStateChange, Attempt
from outbound.strategies.outcomes import Channel, Outcome
from outbound.users.roles import Role
from tests.conftest import Account, _account
from tests.factories import make_campaign
from tests.integration.test_agents_dialing import _profile
from tests.web.conftest import login_nonce

API = "/api/v1"
S = AgentState
# (minutes after the period's start, from, to): one agent's hour, two calls.
HISTORY = [
    (-60, S.LOGGED_OUT, S.NOT_READY),  # before the period: not ready at its start
    (10, S.NOT_READY, S.READY),
    (15, S.READY, S.RESERVED),
    (16, S.RESERVED, S.TALKING),
    (21, S.TALKING, S.WRAP_UP),
    (22, S.WRAP_UP, S.READY),
    (30, S.READY, S.RESERVED),
    (30.5, S.RESERVED, S.TALKING),
    (40, S.TALKING, S.WRAP_UP),
    (42, S.WRAP_UP, S.NOT_READY),
    (50, S.NOT_READY, S.LOGGED_OUT),
    (70, S.LOGGED_OUT, S.NOT_READY),  # after the period: not counted
]
# Worked out by hand from HISTORY over [0, 60) minutes.
EXPECTED = {
    "calls_handled": 2,
    "not_ready_seconds": (10 + 8) * 60,
    "ready_seconds": (5 + 8) * 60,
    "reserved_seconds": 60 + 30,
    "talk_seconds": (5 + 9.5) * 60,
    "wrap_up_seconds": (1 + 2) * 60,
    "logged_in_seconds": 50 * 60,
    "occupancy": 0.35,  # (870 + 180) / 3000
}


def test_agent_report_matches_a_hand_built_history(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = make_campaign(db, "report-agents")
    busy = _profile(client, admin, _account(db, Role.AGENT), campaign)
    idle = _profile(client, admin, _account(db, Role.SUPERVISOR), campaign)
    start = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)
    with db.transaction() as session:
        for minutes, before, after in HISTORY:
            session.add(
                AgentStateChange(
                    agent_id=busy,
                    from_state=before,
                    to_state=after,
                    at=start + timedelta(minutes=minutes),
                    by="test",
                )
            )
    end = start + timedelta(hours=1)
    params = {"since": start.isoformat(), "until": end.isoformat()}
    answer = client.get(f"{API}/reports/agents", params=params, headers=admin.headers)
    assert answer.status_code == 200, answer.text
    rows = {r["agent_id"]: r for r in answer.json()["agents"]}
    got = {k: rows[busy][k] for k in EXPECTED}
    assert got == EXPECTED
    assert rows[idle]["logged_in_seconds"] == 0 and rows[idle]["occupancy"] is None
    # A period cut in the middle of the first call: 2 minutes of its 5 of talk.
    half = {"since": start.isoformat(), "until": (start + timedelta(minutes=18)).isoformat()}
    cut = client.get(f"{API}/reports/agents", params=half, headers=admin.headers).json()
    first = next(r for r in cut["agents"] if r["agent_id"] == busy)
    assert (first["talk_seconds"], first["calls_handled"]) == (120, 1)
    backwards = {"since": end.isoformat(), "until": start.isoformat()}
    empty = client.get(f"{API}/reports/agents", params=backwards, headers=admin.headers)
    assert empty.status_code == 200
    assert all(r["logged_in_seconds"] == 0 for r in empty.json()["agents"])
    number = client.get(f"{API}/reports/agents", params={"until": "0.5"}, headers=admin.headers)
    assert number.status_code == 422 and number.json()["detail"][0]["loc"] == ["query", "until"]
    viewer = _account(db, Role.VIEWER)
    assert client.get(f"{API}/reports/agents", headers=viewer.headers).status_code == 403


def test_the_agents_page_shows_the_report_with_its_chart(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = make_campaign(db, "report-page")
    _profile(client, admin, _account(db, Role.AGENT), campaign)
    data = {"csrf_token": login_nonce(client), "username": admin.username}
    client.post("/login", data=data | {"password": admin.password}, follow_redirects=False)
    page = client.get("/agents").text
    section = page.split('id="agent-report"')[1]
    assert "test-agent" in section and 'data-chart="agents"' in section
    island = section.split('id="chart-data">')[1].split("</script>")[0]
    chart = json.loads(island)["agents"]
    assert chart["labels"] == ["test-agent"]
    assert [d["label"] for d in chart["datasets"]][:2] == ["Talk", "Wrap-up"]


def test_speed_of_connection_after_the_answer(
    client: TestClient, db: Database, admin: Account
) -> None:
    campaign = make_campaign(db, "report-speed")
    contact = client.post(
        f"{API}/campaigns/{campaign}/contacts",
        json={"phone1": "+14155550200"},
        headers=admin.headers,
    )
    assert contact.status_code == 201, contact.text
    contact_id = contact.json()["id"]
    answered = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    # Handed over 0.2 s, 0.4 s and 0.9 s after their answers (average 0.5 s); one never.
    gaps = [0.2, 0.4, 0.9, None]
    with db.transaction() as session:
        for n, gap in enumerate(gaps, start=1):
            session.add(
                Attempt(
                    contact_id=contact_id,
                    campaign_id=campaign,
                    number=n,
                    strategy_position=1,
                    channel=Channel.VOICE,
                    phone_slot=1,
                    phone_number="+14155550200",
                    sent_at=answered - timedelta(seconds=20),
                    answered_at=answered,
                    outcome=Outcome.CONNECTED,
                    handed_at=None if gap is None else answered + timedelta(seconds=gap),
                )
            )
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    assert report["handed_to_agents"] == 3
    assert report["average_speed_of_connection"] == 0.5
    later = {"since": (answered + timedelta(minutes=1)).isoformat()}
    none = client.get(f"{API}/campaigns/{campaign}/report", params=later, headers=admin.headers)
    assert none.json()["handed_to_agents"] == 0
    assert none.json()["average_speed_of_connection"] is None
    data = {"csrf_token": login_nonce(client), "username": admin.username}
    client.post("/login", data=data | {"password": admin.password}, follow_redirects=False)
    page = client.get(f"/campaigns/{campaign}").text
    assert 'data-testid="speed-of-connection">0.5 s' in page
    assert 'data-testid="abandon-30d">0.0% <small>(0 of 4)<' in page
