"""The per-agent report against figures worked out by hand from a history built in the test
(known durations), on both databases; and its page with the chart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from outbound.agents.states import AgentState
from outbound.db.engine import Database
from outbound.models import AgentStateChange
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
    refused = client.get(f"{API}/reports/agents", params=backwards, headers=admin.headers)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "since"]
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
