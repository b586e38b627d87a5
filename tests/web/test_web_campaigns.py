"""Campaign pages over HTTP: form errors by their field, the rules of the service, live rows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Contact
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def _form(token: str, **fields: str) -> dict[str, str]:
    base = {
        "csrf_token": token,
        "name": "spring-sale",
        "type": "sms",
        "schedule_id": "1",
        "contact_order": "fifo",
        "max_concurrent_calls": "10",
        "max_calls_per_second": "5",
        "priority": "1",
    }
    return base | fields


def test_create_form_shows_each_error_next_to_its_field(
    client: TestClient, admin: Account, login: Login
) -> None:
    token = login(admin)
    answer = client.post(
        "/campaigns/new",
        data=_form(token, max_concurrent_calls="ten", priority="0", max_calls_per_second=""),
    )
    assert answer.status_code == 422
    html = answer.text
    assert field_error(html, "f-max_concurrent_calls") == "'ten' is not a whole number"
    assert "greater than or equal to 1" in (field_error(html, "f-priority") or "")
    assert field_error(html, "f-max_calls_per_second") == "enter a number"
    assert field_error(html, "f-name") is None
    # what was typed stays in the form
    assert 'value="ten"' in html and 'value="spring-sale"' in html


def test_service_rules_land_by_their_field(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    make_campaign(db, "taken-name")
    token = login(admin)
    bad_name = client.post("/campaigns/new", data=_form(token, name="a b c"))
    assert bad_name.status_code == 422
    assert "may contain only letters" in (field_error(bad_name.text, "f-name") or "")
    taken = client.post("/campaigns/new", data=_form(token, name="TAKEN-NAME"))
    assert "already exists" in (field_error(taken.text, "f-name") or "")
    voice = client.post("/campaigns/new", data=_form(token, type="agent"))
    assert "must name its strategy_id" in (field_error(voice.text, "f-strategy_id") or "")
    missing = client.post("/campaigns/new", data=_form(token, schedule_id="999"))
    assert "does not exist" in (field_error(missing.text, "f-schedule_id") or "")
    listed = client.get("/api/v1/campaigns", headers=admin.headers).json()
    assert [c["name"] for c in listed] == ["taken-name"]


def test_create_then_edit_type_fixed_strategy_locked_while_running(
    client: TestClient, db: Database, admin: Account, login: Login
) -> None:
    token = login(admin)
    created = client.post("/campaigns/new", data=_form(token), follow_redirects=False)
    assert created.status_code == 303
    path = created.headers["location"]
    campaign_id = int(path.rsplit("/", 1)[1])
    page = client.get(path).text
    assert 'name="type"' not in page  # the type is shown, not editable
    assert "fixed once created" in page

    other = client.post(
        "/api/v1/strategies",
        json={"name": "sms-two", "attempts": [{"channel": "sms", "sms_template": "hi"}]},
        headers=admin.headers,
    ).json()
    client.post(f"/campaigns/{campaign_id}/start", data={"csrf_token": token})
    running_page = client.get(path).text
    select = re.search(r'<select id="f-strategy_id"[^>]*>', running_page)
    assert select is not None and "disabled" in select.group(0)
    # a stale form that still posts another strategy is refused by the service, by the field
    edit = _form(token, strategy_id=str(other["id"]), description="changed")
    refused = client.post(path, data=edit)
    assert refused.status_code == 422
    assert "only be changed while it is stopped" in (
        field_error(refused.text, "f-strategy_id") or ""
    )
    # posting a type is not possible through the form; the API's rule still stands behind it
    saved = client.post(path, data=_form(token, description="changed"), follow_redirects=False)
    assert saved.status_code == 303
    stored = client.get(f"/api/v1/campaigns/{campaign_id}", headers=admin.headers).json()
    assert stored["description"] == "changed" and stored["type"] == "sms"
    assert stored["strategy_id"] != other["id"]


def _contacts(db: Database, campaign_id: int, states: list[ContactState]) -> None:
    now = datetime.now(UTC)
    with db.transaction() as session:
        for n, state in enumerate(states):
            session.add(
                Contact(
                    campaign_id=campaign_id,
                    phone1=f"+1202555{n:04d}",
                    phone1_e164=f"+1202555{n:04d}",
                    state=state,
                    import_seq=n + 1,
                    next_attempt_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )


def test_dashboard_rows_show_counts_progress_and_why_idle(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "counted")
    _contacts(db, campaign, [ContactState.PENDING] * 3 + [ContactState.CONNECTED])
    login(viewer)
    rows = client.get("/campaigns/rows", headers={"HX-Request": "true"})
    assert rows.status_code == 200
    html = rows.text
    assert html.startswith('<tbody id="campaign-rows" hx-get="/campaigns/rows"')
    assert 'hx-trigger="every 3s"' in html
    assert "1 / 4 closed (25%)" in html
    assert 'aria-valuenow="25"' in html
    counts = re.search(r'data-testid="counts-counted">(.*?)</ul>', html, re.S)
    assert counts is not None
    assert re.search(r"Pending <b>3</b>", counts.group(1))
    assert re.search(r"Connected <b>1</b>", counts.group(1))
    assert 'data-reason="stopped"' in html and "start it to dial" in html


def test_campaign_page_has_figures_and_chart_data(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "charted")
    _contacts(db, campaign, [ContactState.PENDING, ContactState.NOT_CONNECTED])
    login(viewer)
    page = client.get(f"/campaigns/{campaign}").text
    island = re.search(
        r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S
    )
    assert island is not None
    data = json.loads(island.group(1))
    states = dict(zip(data["states"]["labels"], data["states"]["values"], strict=True))
    assert states["Pending"] == 1 and states["Not Connected"] == 1
    assert len(data["timeline"]["labels"]) >= 24
    assert 'data-testid="attempt-rate"' in page
    assert "/static/vendor/chart.umd.min.js" in page
