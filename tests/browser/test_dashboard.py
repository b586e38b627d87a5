"""In a real browser: log in, create a campaign, start it, watch it progress without reload.

The server is shared by the session, so each test makes its own data under names of its own
and runs alone (``pytest tests/browser/test_dashboard.py::<name>``) as well as with the others.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, login, shoot

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The simulator connects numbers ending in 200.
NUMBERS = ("+12125551200", "+12125552200", "+12125553200")


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _fixtures(server: Server) -> tuple[str, str]:
    """A schedule open around the clock and a one-call voice strategy, through the API;
    returns their names."""
    schedule, strategy = _unique("always"), _unique("call-once")
    windows = [{"day": d, "start": "00:00", "end": "24:00"} for d in DAYS]
    made = server.api(
        "POST", "/schedules", json={"name": schedule, "time_zone": "UTC", "windows": windows}
    )
    assert made.status_code == 201, made.text
    made = server.api(
        "POST", "/strategies", json={"name": strategy, "attempts": [{"channel": "voice"}]}
    )
    assert made.status_code == 201, made.text
    return schedule, strategy


def _viewer(server: Server) -> tuple[str, str]:
    """A user with the viewer role, through the API; returns its name and password."""
    username, password = _unique("watcher"), "watcher-password"
    made = server.api(
        "POST", "/users", json={"username": username, "password": password, "role": "viewer"}
    )
    assert made.status_code == 201, made.text
    return username, password


def _campaign(server: Server) -> str:
    """A stopped SMS campaign, through the API; returns its name."""
    name = _unique("watched")
    made = server.api(
        "POST", "/campaigns", json={"name": name, "type": "sms", "sms_template": "hi"}
    )
    assert made.status_code == 201, made.text
    return name


def test_campaign_runs_and_dashboard_follows_live(server: Server, page: Page) -> None:
    schedule, strategy = _fixtures(server)
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login$"))
    shoot(page, "login")
    login(page, server, "admin", server.admin_password)

    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill("x")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.locator('[data-field="name"] .field-error')).to_contain_text("at least 4")
    shoot(page, "campaign-form-errors")

    page.get_by_label("Name", exact=True).fill("spring-calls")
    page.get_by_label("Strategy").select_option(label=strategy)
    page.get_by_label("Schedule").select_option(label=schedule)
    page.get_by_label("Dialer target").fill("sales-queue")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name=re.compile("spring-calls"))).to_be_visible()
    campaign_url = page.url
    campaign_id = int(campaign_url.rsplit("/", 1)[1])

    batch = server.api(
        "POST",
        f"/campaigns/{campaign_id}/imports/batch",
        json={"contacts": [{"phone1": n} for n in NUMBERS]},
    )
    assert batch.status_code == 201, batch.text

    page.get_by_role("link", name="Campaigns").first.click()
    progress = page.get_by_test_id("progress-spring-calls")
    expect(progress).to_have_text("0 / 3 closed (0%)")  # the import lands; polling shows it
    expect(page.get_by_test_id("counts-spring-calls")).to_contain_text("Pending 3")
    expect(page.locator('tr[data-campaign="spring-calls"] .status-text')).to_contain_text("stopped")
    shoot(page, "dashboard-stopped")

    page.evaluate("window.notReloaded = true")
    page.get_by_test_id("toggle-spring-calls").click()
    expect(page.get_by_test_id("toggle-spring-calls")).to_have_attribute("aria-checked", "true")
    expect(progress).to_have_text("3 / 3 closed (100%)", timeout=60_000)
    expect(page.get_by_test_id("counts-spring-calls")).to_contain_text("Connected 3")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the rows in place
    shoot(page, "dashboard-done")

    page.goto(campaign_url)
    expect(page.get_by_test_id("closed")).to_contain_text("3")
    expect(page.locator("#f-strategy_id")).to_be_disabled()  # locked while running
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-states') !== undefined")
    shoot(page, "campaign")

    page.goto(f"{server.url}/users")
    shoot(page, "users")
    page.goto(f"{server.url}/tokens")
    page.get_by_label("Name").fill("crm-sync")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("ob_")
    shoot(page, "tokens")


def test_viewer_sees_no_toggle(server: Server, page: Page) -> None:
    name = _campaign(server)
    username, password = _viewer(server)
    login(page, server, "admin", server.admin_password)
    row = page.locator(f'tr[data-campaign="{name}"]')
    expect(row.get_by_role("switch")).to_have_count(1)  # what the viewer must not get
    page.get_by_role("button", name="Log out").click()

    login(page, server, username, password)
    expect(row).to_be_visible()
    expect(row.get_by_role("switch")).to_have_count(0)
    expect(row.locator("form")).to_have_count(0)
    expect(page.get_by_role("link", name="New campaign")).to_have_count(0)
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    shoot(page, "dashboard-viewer")
    page.get_by_role("link", name=name).click()
    expect(page.locator("form:not(.logout)")).to_have_count(0)
