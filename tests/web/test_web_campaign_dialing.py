"""The campaign form's dialing fields and the agent heartbeat setting: shown, saved, and
refused by their field."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error
from tests.web.test_web_settings import form

Login = Callable[[Account], str]


def _form(token: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf_token": token,
        "name": "sales",
        "schedule_id": "1",
        "strategy_id": "1",
        "contact_order": "fifo",
        "max_concurrent_calls": "10",
        "max_calls_per_second": "5",
        "priority": "1",
        "dialing_mode": "fixed",
        "lines_per_agent": "1.0",
        "wrap_up_seconds": "60",
        "after_wrap_up": "ready",
    }
    return base | fields


def _selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select id="f-{name}".*?</select>', html, re.S)
    assert select is not None, name
    found = re.search(r'<option value="([^"]*)" selected', select.group(0))
    return found.group(1) if found else None


def test_dialing_fields_are_shown_and_saved(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "sales")
    token = login(admin)
    page = client.get(f"/campaigns/{campaign}").text
    assert _selected(page, "dialing_mode") == "fixed"
    assert _selected(page, "after_wrap_up") == "ready"
    assert 'name="lines_per_agent"' in page and 'name="wrap_up_seconds"' in page
    saved = client.post(
        f"/campaigns/{campaign}",
        data=_form(
            token,
            dialing_mode="progressive",
            lines_per_agent="2.5",
            wrap_up_seconds="45",
            after_wrap_up="not_ready",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    api = client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()
    assert (api["dialing_mode"], api["lines_per_agent"], api["wrap_up_seconds"]) == (
        "progressive",
        2.5,
        45,
    )
    assert api["after_wrap_up"] == "not_ready"
    page = client.get(f"/campaigns/{campaign}").text
    assert _selected(page, "dialing_mode") == "progressive"
    assert _selected(page, "after_wrap_up") == "not_ready"
    assert 'value="2.5"' in page


def test_dialing_errors_land_by_their_field(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "sales")
    ivr = make_campaign(db, "ivr-poll", campaign_type=CampaignType.IVR)
    token = login(admin)
    bad = client.post(
        f"/campaigns/{campaign}", data=_form(token, lines_per_agent="4", wrap_up_seconds="x")
    )
    assert bad.status_code == 422
    assert "less than or equal to 3" in (field_error(bad.text, "f-lines_per_agent") or "")
    assert field_error(bad.text, "f-wrap_up_seconds") == "'x' is not a whole number"
    assert 'value="4"' in bad.text  # what was typed stays
    predictive = client.post(f"/campaigns/{campaign}", data=_form(token, dialing_mode="predictive"))
    assert predictive.status_code == 422
    assert "not available yet" in (field_error(predictive.text, "f-dialing_mode") or "")
    not_agent = client.post(
        f"/campaigns/{ivr}", data=_form(token, name="ivr-poll", dialing_mode="preview")
    )
    assert not_agent.status_code == 422
    assert "only an Agent campaign" in (field_error(not_agent.text, "f-dialing_mode") or "")
    api = client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()
    assert api["dialing_mode"] == "fixed" and api["lines_per_agent"] == 1.0


def test_settings_page_sets_the_agent_heartbeat(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    page = client.get("/settings").text
    assert 'name="agent_heartbeat_seconds"' in page and 'value="30"' in page
    bad = client.post("/settings", data=form(token, agent_heartbeat_seconds="2"))
    assert bad.status_code == 422
    assert "greater than or equal to 5" in (
        field_error(bad.text, "f-agent_heartbeat_seconds") or ""
    )
    saved = client.post(
        "/settings", data=form(token, agent_heartbeat_seconds="45"), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    stored = client.get("/api/v1/settings", headers=admin.headers).json()
    assert stored["agent_heartbeat_seconds"] == 45


def test_abandon_and_callback_fields_are_shown_and_saved(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    campaign = make_campaign(db, "sales")
    token = login(admin)
    page = client.get(f"/campaigns/{campaign}").text
    for name in ("abandon_message", "opt_out_digit", "callback_grace_minutes"):
        assert f'name="{name}"' in page, name
    assert _selected(page, "callback_after_grace") == "any_agent"
    fields = {
        "abandon_message": "/srv/audio/sales-abandon.wav",
        "opt_out_digit": "#",
        "callback_grace_minutes": "30",
        "callback_after_grace": "wait",
    }
    saved = client.post(
        f"/campaigns/{campaign}", data=_form(token, **fields), follow_redirects=False
    )
    assert saved.status_code == 303, saved.text
    api = client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()
    assert {k: api[k] for k in fields} == {**fields, "callback_grace_minutes": 30}
    bad = client.post(f"/campaigns/{campaign}", data=_form(token, opt_out_digit="x"))
    assert bad.status_code == 422 and field_error(bad.text, "f-opt_out_digit")
    # Left empty: no opt-out key.
    none = client.post(
        f"/campaigns/{campaign}", data=_form(token, opt_out_digit=""), follow_redirects=False
    )
    assert none.status_code == 303
    assert (
        client.get(f"/api/v1/campaigns/{campaign}", headers=admin.headers).json()["opt_out_digit"]
        == ""
    )
