"""In a real browser: build a strategy with a busy -> SMS fallback, and a schedule's week.

Each test makes its own uniquely named objects: none relies on another test's data.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, login, shoot


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_strategy_with_busy_sms_fallback_and_a_move(server: Server, page: Page) -> None:
    login(page, server, "admin", server.admin_password)
    page.get_by_role("link", name="Strategies").click()
    name = _unique("fallback")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Max attempts per contact").fill("4")
    page.get_by_role("button", name="Create strategy").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    strategy_id = int(re.sub(r"\?.*", "", page.url).rsplit("/", 1)[1])

    add = page.locator("#add-attempt")
    expect(add.get_by_label("Channel")).to_be_hidden()  # the add form opens on demand
    add.get_by_text("Add an attempt").click()
    expect(add.get_by_label("SMS template")).to_be_hidden()  # voice is chosen
    add.get_by_role("button", name="Add attempt").click()  # 1: voice, phone 1
    expect(page.get_by_role("heading", name=re.compile("Attempt 1"))).to_be_visible()
    add.get_by_label("Channel").select_option("sms")
    add.get_by_label("SMS template").fill("Sorry we missed you: reply to book a call.")
    add.get_by_label("Reply expiry (minutes)").fill("240")
    add.get_by_role("button", name="Add attempt").click()  # 2: SMS
    expect(page.get_by_role("heading", name=re.compile("Attempt 2"))).to_be_visible()

    first = page.locator('li.attempt[data-position="1"]')
    first.get_by_text("Edit rules").click()
    first.get_by_label("Busy: then").select_option("goto")
    first.get_by_label("Busy: go to attempt").fill("")  # forgotten target: refused by its cell
    first.get_by_role("button", name="Save attempt 1").click()
    first = page.locator('li.attempt[data-position="1"]')
    busy_error = first.locator('tr[data-outcome="busy"] .field-error')
    expect(busy_error).to_contain_text("goto needs 'attempt'")
    expect(busy_error).to_be_visible()  # the table with an error is open
    shoot(page, "strategy-rule-error")
    first.get_by_label("Busy: go to attempt").fill("2")
    first.get_by_label("Busy: delay in minutes").fill("10")
    first.get_by_role("button", name="Save attempt 1").click()
    expect(page.locator("#attempts").get_by_role("status")).to_have_text("Attempt saved.")

    add.get_by_text("Add an attempt").click()  # closed again after another action
    add.get_by_label("Phone", exact=True).select_option("2")
    add.get_by_role("button", name="Add attempt").click()  # 3: voice, phone 2
    expect(page.get_by_role("heading", name=re.compile("Attempt 3"))).to_be_visible()
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Move attempt 3 up").click()
    expect(page.locator("#attempts").get_by_role("status")).to_have_text("Attempt moved.")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the attempts in place
    positions = page.locator("li.attempt")
    expect(positions.nth(1)).to_contain_text("Phone 2")
    expect(positions.nth(2)).to_contain_text("SMS")
    # the busy rule still goes to the SMS attempt, now third
    voice = page.locator('li.attempt[data-position="1"]')
    expect(voice.get_by_label("Busy: go to attempt")).to_have_value("3")
    shoot(page, "strategy-editor")

    page.get_by_role("link", name="Strategies").first.click()
    row = page.locator(f'tr[data-strategy="{name}"]')
    expect(row).to_contain_text("Voice (phone 1) → Voice (phone 2) → SMS (phone 1)")
    shoot(page, "strategies-list")

    stored = server.api("GET", f"/strategies/{strategy_id}").json()
    assert [(a["channel"], a["phone_slot"]) for a in stored["attempts"]] == [
        ("voice", 1),
        ("voice", 2),
        ("sms", 1),
    ]
    assert stored["attempts"][0]["rules"]["busy"] == {
        "action": "goto",
        "delay_minutes": 10,
        "attempt": 3,
    }
    assert stored["attempts"][2]["sms_expiry_minutes"] == 240
    assert stored["max_attempts"] == 4


def test_schedule_with_two_weekday_windows_and_a_blackout(server: Server, page: Page) -> None:
    login(page, server, "admin", server.admin_password)
    page.get_by_role("link", name="Schedules").click()
    name = _unique("mornings")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    schedule_id = int(re.sub(r"\?.*", "", page.url).rsplit("/", 1)[1])

    # Wednesday: 09:00-12:00 and 14:00-18:00; first an overlapping try, refused on its row
    page.get_by_label("Wednesday window 1 end").fill("12:00")
    page.get_by_label("Wednesday new window start").fill("11:00")
    page.get_by_label("Wednesday new window end").fill("18:00")
    page.get_by_role("button", name="Save windows").click()
    wednesday_new = page.locator('[data-row="add.wed"]')
    expect(wednesday_new.locator(".field-error")).to_contain_text("overlaps")
    shoot(page, "schedule-overlap")
    page.get_by_label("Wednesday new window start").fill("14:00")
    page.get_by_role("button", name="Save windows").click()
    expect(page.get_by_role("status")).to_have_text("Windows saved.")
    page.get_by_role("button", name="Remove Sunday window 1").click()
    expect(page.get_by_role("status")).to_have_text("Windows saved.")
    expect(page.locator('.day[data-day="sun"]')).to_have_class(re.compile("closed"))

    page.get_by_label("Date").fill("2026-12-25")
    page.get_by_label("Note").fill("Christmas Day")
    page.get_by_role("button", name="Add blackout date").click()
    expect(page.locator('ul.blackouts li[data-date="2026-12-25"]')).to_contain_text("Christmas")
    shoot(page, "schedule-editor")

    stored = server.api("GET", f"/schedules/{schedule_id}").json()
    wednesday = [(w["start"], w["end"]) for w in stored["windows"] if w["day"] == "wed"]
    assert wednesday == [("09:00", "12:00"), ("14:00", "18:00")]
    assert "sun" not in {w["day"] for w in stored["windows"]}
    assert stored["time_zone"] == "Europe/Paris"
    assert stored["blackouts"] == [{"date": "2026-12-25", "note": "Christmas Day"}]


def test_strategy_of_a_running_campaign_has_its_controls_off_with_the_reason(
    server: Server, page: Page
) -> None:
    strategy_name, campaign_name = _unique("frozen"), _unique("texting")
    made = server.api(
        "POST", "/strategies", json={"name": strategy_name, "attempts": [{"channel": "sms"}]}
    )
    assert made.status_code == 201, made.text
    strategy_id = made.json()["id"]
    made = server.api(
        "POST",
        "/campaigns",
        json={
            "name": campaign_name,
            "type": "sms",
            "sms_template": "hi",
            "strategy_id": strategy_id,
        },
    )
    assert made.status_code == 201, made.text
    campaign_id = made.json()["id"]
    assert server.api("POST", f"/campaigns/{campaign_id}/start").status_code == 200
    login(page, server, "admin", server.admin_password)
    page.goto(f"{server.url}/strategies/{strategy_id}")
    expect(page.locator("#locked-note")).to_have_text(
        f"Used by running campaign(s) {campaign_name}: stop them to edit."
    )
    page.get_by_text("Add an attempt").click()  # a disclosure, not a control: it opens
    for button in ("Save settings", "Save attempt 1", "Add attempt", "Delete strategy"):
        expect(page.get_by_role("button", name=button)).to_be_disabled()
    expect(page.get_by_role("button", name="Delete attempt 1")).to_be_disabled()
    expect(page.get_by_label("Max attempts per contact")).to_be_disabled()
    shoot(page, "strategy-locked")
    assert server.api("POST", f"/campaigns/{campaign_id}/stop").status_code == 200
    page.reload()
    expect(page.locator("#locked-note")).to_have_count(0)
    page.get_by_label("Max attempts per contact").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").first).to_have_text("Saved.")


def test_a_three_attempt_strategy_reads_at_a_glance(server: Server, page: Page) -> None:
    """Issue 13: every attempt repeated its twelve outcome rows, the add form was always
    open (a 3,000 px page), and nothing said what an SMS reply or STOP does. Each attempt now
    says what differs from the defaults; its full table opens on demand."""
    name = _unique("glance")
    made = server.api(
        "POST",
        "/strategies",
        json={
            "name": name,
            "max_attempts": 5,
            "attempts": [
                {
                    "channel": "voice",
                    "rules": {"busy": {"action": "goto", "attempt": 3, "delay_minutes": 10}},
                },
                {"channel": "sms", "sms_template": "We missed you", "sms_expiry_minutes": 240},
                {"channel": "voice", "phone_slot": 2},
            ],
        },
    )
    assert made.status_code == 201, made.text
    login(page, server, "admin", server.admin_password)
    page.goto(f"{server.url}/strategies/{made.json()['id']}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    # A 3,931 px page before (1280 wide); 1,452 px after.
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 1600, height
    first = page.locator('li.attempt[data-position="1"]')
    expect(first.get_by_test_id("rules-said")).to_contain_text("Busy → attempt 3 after 10 min")
    expect(first.get_by_label("Busy: then")).to_be_hidden()
    said = page.locator('li.attempt[data-position="2"]').get_by_test_id("rules-said")
    expect(said).to_contain_text("A reply closes the contact as SMS responded.")
    expect(said).to_contain_text(
        "puts the number on the DNC list and closes the contact as DNC Listed."
    )
    expect(said).to_contain_text("No reply within 240 min → attempt 3 at once.")
    last = page.locator('li.attempt[data-position="3"]').get_by_test_id("rules-said")
    expect(last).to_have_text("Every outcome follows the default rules.")
    add = page.locator("#add-attempt")
    expect(add.get_by_label("Channel")).to_be_hidden()
    shoot(page, "strategy-at-a-glance")

    # The full table on demand; one with an error stays open to show it.
    first.get_by_text("Edit rules").click()
    first.get_by_label("No answer: then").select_option("goto")
    first.get_by_label("No answer: go to attempt").fill("9")
    first.get_by_role("button", name="Save attempt 1").click()
    error = page.locator('li.attempt[data-position="1"] tr[data-outcome="no_answer"] .field-error')
    expect(error).to_contain_text("does not exist")
    expect(error).to_be_visible()
    first.get_by_label("No answer: go to attempt").fill("2")
    first.get_by_label("No answer: delay in minutes").fill("30")
    first.get_by_role("button", name="Save attempt 1").click()
    expect(page.locator("#attempts").get_by_role("status")).to_have_text("Attempt saved.")
    expect(first.get_by_test_id("rules-said")).to_contain_text("No answer → attempt 2 after 30 min")
    expect(first.get_by_label("Busy: then")).to_be_hidden()
    add.get_by_text("Add an attempt").click()
    expect(add.get_by_label("Channel")).to_be_visible()
