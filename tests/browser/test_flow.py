"""Issue 6's whole flow in a real browser, through the UI only, by an admin and then a viewer.

The simulator decides by a number's last three digits (``channels/simulator/plan.py``):
…200 is connected, …486 busy, …404 an invalid number. The strategy sends a busy contact to
an SMS attempt that sends and closes, and the ``server`` fixture makes an SMS outside the plan
certain to be accepted; so the three contacts must end Connected, SMS sent and Closed, and
Not Connected (an invalid number closes by default).
"""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Server, login, shoot

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
STRATEGY = "busy-then-sms"
SCHEDULE = "around-the-clock"
CAMPAIGN = "flow-voice"
SMS_TEXT = "Sorry we missed you: reply to book a call."
VIEWER, VIEWER_PASSWORD = "auditor", "auditor-password"
# Line 1 is the header; line 4 is the bad row. Parameters that a CSV must quote or defuse.
UPLOAD = (
    b"Phone 1,Business Parameter 1\r\n"
    b'+1 212 555 0200,"Smith, Jr."\r\n'
    b'+1 212 555 0486,"say ""hi"""\r\n'
    b"call me maybe,lost\r\n"
    b'+1 212 555 0404,=HYPERLINK("x")\r\n'
)
# As written in the file, which the pages and the export keep.
CONNECTED, BUSY, INVALID = "+1 212 555 0200", "+1 212 555 0486", "+1 212 555 0404"
DNC_NUMBER, DNC_E164 = "(212) 555-0999", "+12125550999"
FINAL = {"connected": "1", "sms_sent_closed": "1", "not_connected": "1"}
# Buttons that would change something; a viewer must see none of them.
WRITE_WORDS = re.compile(
    r"add|edit|save|delete|remove|upload|create|start|stop|set|reset|disable|enable|move|"
    r"revoke",
    re.IGNORECASE,
)


def _build_strategy(page: Page) -> None:
    page.get_by_role("link", name="Strategies").click()
    page.get_by_label("Name").fill(STRATEGY)
    page.get_by_label("Max attempts per contact").fill("3")
    page.get_by_role("button", name="Create strategy").click()
    expect(page.get_by_role("heading", name=STRATEGY)).to_be_visible()

    add = page.locator("#add-attempt")
    add.get_by_text("Add an attempt").click()  # the add form opens on demand
    add.get_by_role("button", name="Add attempt").click()  # 1: voice, phone 1
    expect(page.get_by_role("heading", name=re.compile("Attempt 1"))).to_be_visible()
    add.get_by_label("Channel").select_option("sms")
    add.get_by_label("SMS template").fill(SMS_TEXT)
    add.get_by_label("After sending").select_option(label="Send and close")
    add.get_by_role("button", name="Add attempt").click()  # 2: SMS, phone 1
    expect(page.get_by_role("heading", name=re.compile("Attempt 2"))).to_be_visible()

    voice = page.locator('li.attempt[data-position="1"]')
    voice.get_by_text("Edit rules").click()  # the per-outcome table opens on demand
    voice.get_by_label("Busy: then").select_option("goto")
    voice.get_by_label("Busy: go to attempt").fill("2")
    voice.get_by_label("Busy: delay in minutes").fill("0")
    voice.get_by_role("button", name="Save attempt 1").click()
    expect(page.locator("#attempts").get_by_role("status")).to_have_text("Attempt saved.")
    voice = page.locator('li.attempt[data-position="1"]')
    expect(voice.get_by_label("Busy: go to attempt")).to_have_value("2")
    expect(voice.get_by_label("Busy: delay in minutes")).to_have_value("0")
    sms = page.locator('li.attempt[data-position="2"]')
    expect(sms.get_by_label("After sending")).to_have_value("send_and_close")
    shoot(page, "flow-strategy-editor")
    page.get_by_role("link", name="Strategies").first.click()
    expect(page.locator(f'tr[data-strategy="{STRATEGY}"]')).to_contain_text(
        "Voice (phone 1) → SMS (phone 1)"
    )
    shoot(page, "flow-strategies")


def _build_schedule(page: Page) -> None:
    page.get_by_role("link", name="Schedules").click()
    page.get_by_label("Name").fill(SCHEDULE)
    page.get_by_label("Time zone").fill("America/New_York")
    page.get_by_role("button", name="Create schedule").click()
    expect(page.get_by_role("heading", name=SCHEDULE)).to_be_visible()
    for day in DAYS:  # a new schedule opens 09:00-20:00; make every day whole
        page.get_by_label(f"{day} window 1 start").fill("00:00")
        page.get_by_label(f"{day} window 1 end").fill("24:00")
    page.get_by_role("button", name="Save windows").click()
    expect(page.get_by_role("status")).to_have_text("Windows saved.")
    expect(page.get_by_label("Sunday window 1 end")).to_have_value("24:00")
    shoot(page, "flow-schedule-editor")
    page.get_by_role("link", name="Schedules").first.click()
    expect(page.locator(f'tr[data-schedule="{SCHEDULE}"]')).to_contain_text("America/New_York")
    shoot(page, "flow-schedules")


def _create_campaign(page: Page) -> str:
    page.get_by_role("link", name="Campaigns").first.click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name", exact=True).fill(CAMPAIGN)
    page.get_by_label("Type").select_option(label="Agent")
    page.get_by_label("Strategy").select_option(label=STRATEGY)
    page.get_by_label("Schedule").select_option(label=SCHEDULE)
    page.get_by_label("Dialer target").fill("sales-queue")
    shoot(page, "flow-campaign-new")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name=re.compile(CAMPAIGN))).to_be_visible()
    return page.url


def _upload(page: Page) -> str:
    page.get_by_role("link", name="Imports").click()
    page.get_by_label("Campaign").select_option(label=CAMPAIGN)
    page.get_by_label("File").set_input_files(
        {"name": "flow.csv", "mimeType": "text/csv", "buffer": UPLOAD}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.get_by_test_id("rows-read")).to_have_text("4")
    expect(page.get_by_test_id("rows-imported")).to_have_text("3")
    expect(page.get_by_test_id("rows-rejected")).to_have_text("1")
    rejects = page.get_by_test_id("rejects").locator("tbody tr")
    expect(rejects).to_have_count(1)
    expect(rejects.first).to_contain_text("call me maybe")
    expect(rejects.first.locator("th")).to_have_text("4")
    shoot(page, "flow-import-job")
    with page.expect_download() as download:
        page.get_by_test_id("rejects-csv").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(), newline="")))
    assert rows[0] == ["line", "column", "reason", "raw"], rows
    assert len(rows) == 2, rows
    line, column, reason, raw = rows[1]
    assert (line, column) == ("4", "phone1")
    assert "not a phone number" in reason
    assert raw.startswith("call me maybe")
    return page.url


# Every time htmx swaps the dashboard rows in, note the campaign's counts as they read.
RECORD_SWAPS = f"""() => {{
  window.countsSeen = [];
  document.body.addEventListener("htmx:afterSettle", () => {{
    const items = document.querySelectorAll('[data-testid="counts-{CAMPAIGN}"] li[data-state]');
    window.countsSeen.push([...items].map(li => li.textContent.trim()).join("|"));
  }});
}}"""


def _count(page: Page, state: str) -> Locator:
    return page.get_by_test_id(f"counts-{CAMPAIGN}").locator(f'li[data-state="{state}"] b')


def _run_on_dashboard(page: Page) -> None:
    page.get_by_role("link", name="Campaigns").first.click()
    progress = page.get_by_test_id(f"progress-{CAMPAIGN}")
    expect(progress).to_have_text("0 / 3 closed (0%)")
    expect(_count(page, "pending")).to_have_text("3")
    shoot(page, "flow-dashboard-ready")

    page.evaluate("window.notReloaded = true")
    page.evaluate(RECORD_SWAPS)
    page.get_by_test_id(f"toggle-{CAMPAIGN}").click()
    expect(page.get_by_test_id(f"toggle-{CAMPAIGN}")).to_have_attribute("aria-checked", "true")
    expect(progress).to_have_text("3 / 3 closed (100%)", timeout=45_000)
    for state, count in FINAL.items():
        expect(_count(page, state)).to_have_text(count)
    states = page.get_by_test_id(f"counts-{CAMPAIGN}").locator("li[data-state]")
    expect(states).to_have_count(len(FINAL))  # nothing else: no Pending, no SMS sent left
    assert page.evaluate("window.notReloaded") is True  # htmx polled the rows in place
    seen = page.evaluate("window.countsSeen")
    assert seen[-1] == "Connected 1|Not Connected 1|SMS sent and Closed 1", seen
    assert len(set(seen)) >= 2, seen  # the counts moved on screen while the test watched
    shoot(page, "flow-dashboard-done")


def _contacts(page: Page, campaign_url: str) -> None:
    page.goto(campaign_url)
    expect(page.get_by_test_id("closed")).to_contain_text("3")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-states') !== undefined")
    shoot(page, "flow-campaign")
    page.get_by_role("link", name="Contacts", exact=True).click()
    rows = page.get_by_test_id("contacts").locator("tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_role("checkbox", name="SMS sent and Closed").check()
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(BUSY)
    shoot(page, "flow-contacts-filtered")

    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("state")).to_have_text("SMS sent and Closed")
    attempts = page.get_by_test_id("attempts").locator("tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("voice")
    expect(attempts.nth(0).locator('td[data-label="Outcome"]')).to_have_text("Busy")
    expect(attempts.nth(0)).to_contain_text("486 Busy Here")
    expect(attempts.nth(1)).to_contain_text("sms")
    expect(attempts.nth(1).locator('td[data-label="Number"]')).to_contain_text("+12125550486")
    # Send and close: accepted, or delivered once its receipt came (labels, as everywhere).
    outcome = attempts.nth(1).locator('td[data-label="Outcome"]')
    expect(outcome).to_have_text(re.compile(r"^SMS (accepted|delivered)$"))
    shoot(page, "flow-contact-detail")

    page.go_back()
    page.get_by_role("link", name="Clear").click()
    expect(rows).to_have_count(3)
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(), newline="")))
    by_phone = {r["phone1"]: r for r in exported}
    # a leading + or = would start a formula in a spreadsheet: the export defuses it
    assert set(by_phone) == {f"'{CONNECTED}", f"'{BUSY}", f"'{INVALID}"}, by_phone
    assert by_phone[f"'{CONNECTED}"]["param1"] == "Smith, Jr."
    assert by_phone[f"'{CONNECTED}"]["state"] == "Connected"
    assert by_phone[f"'{BUSY}"]["param1"] == 'say "hi"'
    assert by_phone[f"'{BUSY}"]["state"] == "SMS sent and Closed"
    assert by_phone[f"'{BUSY}"]["attempt_count"] == "2"
    assert by_phone[f"'{INVALID}"]["param1"] == '\'=HYPERLINK("x")'
    assert by_phone[f"'{INVALID}"]["state"] == "Not Connected"
    shoot(page, "flow-contacts")


def _create_viewer(page: Page) -> None:
    page.get_by_role("link", name="Users").click()
    page.get_by_label("User name", exact=True).fill(VIEWER)
    page.get_by_label("Password", exact=True).fill(VIEWER_PASSWORD)
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Create user").click()
    expect(page.locator(f'tr[data-user="{VIEWER}"]')).to_contain_text("Active")
    shoot(page, "flow-users")
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("flow-crm")
    page.get_by_role("button", name="Create token").click()
    expect(page.get_by_test_id("new-token")).to_contain_text("ob_")
    shoot(page, "flow-tokens")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    shoot(page, "flow-login")


def _read_only(page: Page, *, personal_forms: int = 0) -> None:
    """No control that writes: no POST form but log-out (and, on the contacts page, the
    viewer's own choice of columns), no switch, no file input, no write button or link."""
    posts = page.locator('form[method="post"]:not(.logout)')
    expect(posts).to_have_count(personal_forms)
    for n in range(personal_forms):
        expect(posts.nth(n)).to_have_attribute("action", re.compile(r"/contacts/columns$"))
    expect(page.get_by_role("switch")).to_have_count(0)
    expect(page.locator('input[type="file"]')).to_have_count(0)
    expect(page.locator("[hx-post]")).to_have_count(0)
    main = page.locator("main")
    expect(main.get_by_role("button", name=WRITE_WORDS)).to_have_count(0)
    expect(
        main.get_by_role("link", name=re.compile(r"^(new|create|add|edit)", re.I))
    ).to_have_count(0)


def _viewer_sees_no_write_controls(
    page: Page, server: Server, campaign_url: str, job_url: str
) -> None:
    login(page, server, VIEWER, VIEWER_PASSWORD)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="API tokens")).to_have_count(0)
    expect(_count(page, "connected")).to_have_text("1")
    _read_only(page)
    shoot(page, "flow-viewer-dashboard")

    page.goto(campaign_url)
    expect(page.get_by_role("heading", name=re.compile(CAMPAIGN))).to_be_visible()
    expect(page.locator("dl.settings")).to_contain_text(STRATEGY)
    _read_only(page)
    shoot(page, "flow-viewer-campaign")

    page.get_by_role("link", name="Contacts", exact=True).click()
    expect(page.get_by_test_id("contacts").locator("tbody tr")).to_have_count(3)
    _read_only(page, personal_forms=1)
    expect(page.locator("#add-contact")).to_have_count(0)
    page.get_by_test_id("contacts").locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_test_id("attempts")).to_be_visible()
    _read_only(page)

    page.get_by_role("link", name="Strategies").click()
    _read_only(page)
    page.get_by_role("link", name=STRATEGY).click()
    expect(page.locator('li.attempt[data-position="2"]')).to_contain_text("Send and close")
    expect(
        page.locator("main").locator("select, input:not([type=hidden]), textarea")
    ).to_have_count(0)
    _read_only(page)
    shoot(page, "flow-viewer-strategy")

    page.get_by_role("link", name="Schedules").click()
    _read_only(page)
    page.get_by_role("link", name=SCHEDULE).click()
    expect(page.locator('.day[data-day="sun"]')).to_contain_text("00:00\N{EN DASH}24:00")
    expect(
        page.locator("main").locator("select, input:not([type=hidden]), textarea")
    ).to_have_count(0)
    _read_only(page)
    shoot(page, "flow-viewer-schedule")

    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_test_id("jobs")).to_contain_text(CAMPAIGN)
    _read_only(page)
    shoot(page, "flow-viewer-imports")
    page.goto(job_url)
    expect(page.get_by_test_id("rows-rejected")).to_have_text("1")
    _read_only(page)

    page.get_by_role("link", name="Do not call").click()
    expect(page.locator(f'tr[data-number="{DNC_E164}"]')).to_contain_text("asked by phone")
    _read_only(page)
    shoot(page, "flow-viewer-dnc")

    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_test_id("settings-read")).to_contain_text("simulator")
    _read_only(page)
    shoot(page, "flow-viewer-settings")


def test_admin_builds_and_runs_a_campaign_and_a_viewer_only_reads(
    server: Server, page: Page
) -> None:
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/login"))
    login(page, server, "admin", server.admin_password)
    _build_strategy(page)
    _build_schedule(page)
    campaign_url = _create_campaign(page)
    job_url = _upload(page)
    page.goto(f"{server.url}/imports")
    expect(page.get_by_test_id("jobs")).to_contain_text(CAMPAIGN)
    shoot(page, "flow-imports")
    _run_on_dashboard(page)
    _contacts(page, campaign_url)
    page.get_by_role("link", name="Do not call").click()
    page.get_by_label("Number", exact=True).fill(DNC_NUMBER)
    page.get_by_label("Note", exact=True).first.fill("asked by phone")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.locator(f'tr[data-number="{DNC_E164}"]')).to_contain_text("asked by phone")
    shoot(page, "flow-dnc")
    page.get_by_role("link", name="Settings").click()
    shoot(page, "flow-settings")
    _create_viewer(page)
    _viewer_sees_no_write_controls(page, server, campaign_url, job_url)
