"""Agent screen-pop: for a call the engine placed on the simulator, the agent desktop (a
viewer) gets the contact, its business parameters and CRM id, and the campaign's script."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.models import Attempt
from tests.conftest import Account
from tests.integration.test_engine_flow import make_engine, run
from tests.integration.test_webhooks import ALWAYS, START, TWO_CALLS, _post, make_campaign

API = "/api/v1/screen-pop"
FORM = [
    {"name": "interested", "label": "Interested?", "type": "checkbox"},
    {
        "name": "plan",
        "label": "Plan chosen",
        "type": "select",
        "options": ["basic", "gold"],
        "required": True,
    },
    {"name": "notes", "label": "Notes", "type": "textarea"},
]


def test_a_call_pops_its_contact_and_script(
    client: TestClient, admin: Account, viewer: Account, db: Database
) -> None:
    strategy = _post(client, admin, "/strategies", TWO_CALLS)["id"]
    schedule = _post(client, admin, "/schedules", ALWAYS)["id"]
    campaign = make_campaign(client, admin, "pop-camp", "CAMP-POP", strategy, schedule)
    formed = client.patch(
        f"/api/v1/campaigns/{campaign}", json={"agent_form": FORM}, headers=admin.headers
    )
    assert formed.status_code == 200, formed.text
    contact = {
        "phone1": "+14155550200",
        "phone2": "(415) 555-0300",
        "crm_contact_id": "CRM-42",
        "param1": "gold",
        "param3": "ann@example.com",
    }
    _post(client, admin, f"/campaigns/{campaign}/contacts", contact)
    _post(client, admin, f"/campaigns/{campaign}/contacts", {"phone1": "+14155550486"})
    _post(client, admin, f"/campaigns/{campaign}/start", {})
    clock = VirtualClock(START)
    engine = make_engine(db, clock)
    engine.register()
    engine.step()  # dialled; no result read yet: the calls are up or ringing

    ringing = client.get(API, params={"number": "+14155550200"}, headers=viewer.headers)
    assert ringing.status_code == 200, ringing.text
    pop = ringing.json()
    assert pop["attempt"]["in_progress"] is True and pop["attempt"]["outcome"] is None
    assert pop["attempt"]["phone_number"] == "+14155550200" and pop["attempt"]["number"] == 1
    assert pop["contact"]["crm_contact_id"] == "CRM-42"
    assert pop["contact"]["state"] == "sent_to_dialer"
    assert pop["contact"]["params"] == [
        {"slot": 1, "value": "gold"},
        {"slot": 3, "value": "ann@example.com"},
    ]
    assert pop["contact"]["phones"] == [
        {"slot": 1, "number": "+14155550200", "e164": "+14155550200"},
        {"slot": 2, "number": "(415) 555-0300", "e164": "+14155550300"},
    ]
    assert pop["campaign"] == {
        "id": campaign,
        "name": "pop-camp",
        "crm_campaign_id": "CAMP-POP",
        "type": "agent",
        "dialer_target": "sales",
        "agent_script": "Hello, this is pop-camp.",
        "agent_form": [{"required": False, "options": [], **f} for f in FORM],
    }
    assert pop["campaign"]["agent_form"][1]["options"] == ["basic", "gold"]
    by_id = client.get(f"{API}/attempts/{pop['attempt']['id']}", headers=viewer.headers)
    assert by_id.status_code == 200 and by_id.json() == pop

    run(engine, clock, until=START + timedelta(hours=4))
    # Connected: still there, now with its outcome; written as the agent's desktop would.
    answered = client.get(API, params={"number": "(415) 555-0200"}, headers=viewer.headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["attempt"]["outcome"] == "connected"
    assert answered.json()["attempt"]["in_progress"] is False
    assert answered.json()["contact"]["state"] == "connected"
    # Busy twice: no call to pop.
    busy = client.get(API, params={"number": "+14155550486"}, headers=viewer.headers)
    assert busy.status_code == 404
    assert busy.json()["detail"] == "no connected or in-progress call to +14155550486"
    with db.transaction() as session:
        busy_attempt = session.scalar(
            select(Attempt.id).where(Attempt.phone_number == "+14155550486").limit(1)
        )
    # By attempt id the call is shown whatever its outcome (the dialer names it).
    shown = client.get(f"{API}/attempts/{busy_attempt}", headers=viewer.headers)
    assert shown.status_code == 200 and shown.json()["attempt"]["outcome"] == "busy"


def test_no_such_call(client: TestClient, viewer: Account) -> None:
    missing = client.get(f"{API}/attempts/987654", headers=viewer.headers)
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no call with attempt id 987654"
    nobody = client.get(API, params={"number": "+14155550999"}, headers=viewer.headers)
    assert nobody.status_code == 404
    bad = client.get(API, params={"number": "call me"}, headers=viewer.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "number"
    assert client.get(API, headers=viewer.headers).status_code == 422
    assert client.get(API, params={"number": "+14155550200"}).status_code == 401


@pytest.mark.parametrize(
    ("form", "why"),
    [
        ([{"name": "plan", "label": "Plan", "type": "select"}], "needs at least one option"),
        ([{"name": "n", "label": "N", "options": ["a"]}], "only a select field has options"),
        ([{"name": "n", "label": "N"}, {"name": "n", "label": "M"}], "at most once"),
        ([{"name": "Bad Name", "label": "N"}], "pattern"),
        ([{"name": "n", "label": ""}], "at least 1 character"),
        ([{"name": "n", "label": "N", "type": "colour"}], "Input should be"),
        ([{"name": "n", "label": "N", "hint": "x"}], "Extra inputs"),
    ],
)
def test_a_bad_agent_form_is_refused(
    client: TestClient, admin: Account, db: Database, form: list[dict[str, Any]], why: str
) -> None:
    body = {"name": "form-camp", "type": "sms", "agent_form": form}
    response = client.post("/api/v1/campaigns", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["field"].startswith("agent_form"), detail
    assert why in detail[0]["msg"], detail
