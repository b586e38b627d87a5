"""The agent desktop and the supervisors' agents page in Chromium.

An admin creates the agent on the Agents page; the agent logs in (the desk is its home), logs
in to the desk and goes ready; a real call of the simulator is answered and handed to the
agent (the hand-over is the dialer's, on another branch: here the test does what it does,
through the agents service on the server's own database); the desk pops the contact, the
agent fills the form, chooses a disposition, wraps up and goes ready again. A supervisor
watches the agents page change all along.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from outbound.agents import service as agents
from outbound.agents.states import AgentState
from outbound.config import Config
from outbound.db.engine import Database
from outbound.models import Agent, Attempt, User
from tests.browser.conftest import Server, login, shoot

PASSWORD = "desk-agent-pw-1"
SCRIPT = "Good morning, this is Ada from Example Energy.\nAsk for the account holder."
FORM = [
    {"name": "interest", "label": "Interest", "type": "select", "options": ["low", "high"]},
    {"name": "notes", "label": "Notes", "type": "textarea", "required": True},
]
ALWAYS = [
    {"day": d, "start": "00:00", "end": "24:00"}
    for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
]


def _campaign(server: Server) -> int:
    strategy = server.api(
        "POST",
        "/strategies",
        json={"name": "desk-one-call", "max_attempts": 2, "attempts": [{"channel": "voice"}]},
    )
    schedule = server.api(
        "POST", "/schedules", json={"name": "desk-always", "time_zone": "UTC", "windows": ALWAYS}
    )
    body = {
        "name": "desk-sales",
        "type": "agent",
        "strategy_id": strategy.json()["id"],
        "schedule_id": schedule.json()["id"],
        "agent_script": SCRIPT,
        "agent_form": FORM,
        "wrap_up_seconds": 600,
    }
    created = server.api("POST", "/campaigns", json=body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _start_with_a_customer(server: Server, campaign: int) -> None:
    contact = {"phone1": "+14155550200", "crm_contact_id": "CRM-4711", "param1": "Ada Lovelace"}
    batch = server.api("POST", f"/campaigns/{campaign}/imports/batch", json={"contacts": [contact]})
    assert batch.json()["rows_imported"] == 1, batch.text
    assert server.api("POST", f"/campaigns/{campaign}/start").status_code == 200


def _hand_over_when_answered(db: Database, username: str, campaign: int, page: Page) -> None:
    """Wait (on the desk's own page, no sleeping) for the simulator's answer, then do what
    the dialer does: reserve the ready agent, stamp the attempt, move the agent to talking."""

    def answered() -> int | None:
        with db.transaction() as session:
            found = session.scalar(
                select(Attempt.id).where(
                    Attempt.campaign_id == campaign, Attempt.answered_at.is_not(None)
                )
            )
            return int(found) if found is not None else None

    for _ in range(300):
        attempt_id = answered()
        if attempt_id is not None:
            break
        page.wait_for_timeout(100)  # polling the database, not asserting on time
    else:
        pytest.fail("the simulated call was never answered")
    now = datetime.now(UTC)
    with db.transaction() as session:
        agent = session.scalar(
            select(Agent).join(User, User.id == Agent.user_id).where(User.username == username)
        )
        assert agent is not None
        agents.change_state(
            session, agent, AgentState.RESERVED, reason=None, by=None, by_agent=False, now=now
        )
        attempt = session.get(Attempt, attempt_id)
        assert attempt is not None
        attempt.agent_id = agent.id
        agents.change_state(
            session, agent, AgentState.TALKING, reason=None, by=None, by_agent=False, now=now
        )


def test_agent_takes_a_call_while_a_supervisor_watches(
    server: Server, browser: Browser, page: Page
) -> None:
    username = "desk-ada"
    user = server.api(
        "POST", "/users", json={"username": username, "password": PASSWORD, "role": "agent"}
    )
    assert user.status_code == 201, user.text
    campaign = _campaign(server)

    # The admin creates the agent on the Agents page.
    login(page, server, "admin", server.admin_password)
    page.goto(f"{server.url}/agents")
    page.get_by_role("link", name="New agent").click()
    page.get_by_label("User").select_option(label=f"{username} (agent)")
    page.get_by_label("SIP address").fill("sip:ada@127.0.0.1:5070")
    page.get_by_label("desk-sales").check()
    shoot(page, "agents-new")
    page.get_by_role("button", name="Create agent").click()
    expect(page.locator(f'tr[data-agent="{username}"]')).to_contain_text("Logged out")
    shoot(page, "agents-admin")

    # The supervisor's view (the admin's session here) stays open in its own window.
    watch = page
    row = watch.locator(f'tr[data-agent="{username}"]')

    desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
    desk_context.set_default_timeout(20_000)
    desk = desk_context.new_page()
    try:
        desk.goto(f"{server.url}/login")
        desk.get_by_label("User name").fill(username)
        desk.get_by_label("Password").fill(PASSWORD)
        desk.get_by_role("button", name="Log in").click()
        desk.wait_for_url(f"{server.url}/agent")  # an agent's home is the desk
        expect(desk.locator("#my-state")).to_have_text("Logged out")
        desk.get_by_role("button", name="Log in").click()
        expect(desk.locator("#my-state")).to_have_text("Not ready")
        expect(row).to_contain_text("Not ready")
        desk.locator("#go-ready").click()
        expect(desk.locator("#my-state")).to_have_text("Ready")
        expect(row).to_have_attribute("data-state", "ready")
        shoot(desk, "desk-ready")

        _start_with_a_customer(server, campaign)
        db = Database(Config(data_dir=server.data_dir).effective_database_url)
        try:
            _hand_over_when_answered(db, username, campaign, desk)
        finally:
            db.dispose()

        # The screen-pop arrives by the desk's own poll.
        expect(desk.locator("#my-state")).to_have_text("Talking")
        pop = desk.locator("#screen-pop")
        expect(pop).to_contain_text("+14155550200")
        expect(pop).to_contain_text("CRM-4711")
        expect(pop).to_contain_text("Ada Lovelace")
        expect(pop).to_contain_text("Ask for the account holder.")
        expect(row).to_have_attribute("data-state", "talking")
        expect(row).to_contain_text("+14155550200")
        shoot(desk, "desk-call")
        shoot(watch, "agents-live")

        # The form is checked: Notes is required, and a callback needs its time.
        desk.get_by_label("Interest", exact=True).select_option("high")
        desk.get_by_label("Callback requested", exact=True).check()
        desk.get_by_role("button", name="Save and end call").click()
        expect(desk.locator('[data-field="form_values.notes"] .field-error')).to_contain_text(
            "Notes is required"
        )
        expect(desk.locator('[data-field="callback_at"] .field-error')).to_contain_text(
            "give the date and time"
        )
        expect(desk.get_by_label("Interest", exact=True)).to_have_value("high")  # kept
        desk.get_by_label("Notes *", exact=True).fill("Call back tomorrow morning.")
        # 10:00 tomorrow on the customer's clock (+1 415: San Francisco), typed as such.
        zone = ZoneInfo("America/Los_Angeles")
        tomorrow = datetime.now(zone).date() + timedelta(days=1)
        expect(desk.get_by_label("Customer's time zone")).to_have_value("America/Los_Angeles")
        desk.get_by_label("Callback at").fill(f"{tomorrow.isoformat()}T10:00")
        shoot(desk, "desk-form")
        desk.get_by_role("button", name="Save and end call").click()
        expect(desk.locator("#disposed")).to_have_text("Callback requested")
        expect(desk.locator("#callback-booked")).to_contain_text(f"{tomorrow.isoformat()} 10:00")
        expect(desk.locator("#my-state")).to_have_text("Wrapping up")
        expect(desk.locator("#wrap-timer")).to_contain_text("Wrap-up ends in")
        expect(row).to_have_attribute("data-state", "wrap_up")
        shoot(desk, "desk-wrap-up")

        contacts = server.api("GET", f"/campaigns/{campaign}/contacts").json()["items"]
        due = datetime.fromisoformat(contacts[0]["next_attempt_at"])
        assert due == datetime.combine(tomorrow, time(10, 0), tzinfo=zone)
        assert contacts[0]["state"] == "pending"

        desk.locator("#go-ready").click()
        expect(desk.locator("#my-state")).to_have_text("Ready")
        expect(desk.locator("#screen-pop")).to_have_count(0)
        expect(row).to_have_attribute("data-state", "ready")

    finally:
        desk_context.close()
