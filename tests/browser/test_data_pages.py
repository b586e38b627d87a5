"""In a real browser: upload a file and watch its job, browse contacts, DNC, settings."""

from __future__ import annotations

import csv
import io
import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, login, shoot

UPLOAD = (
    b"Phone 1,Business Parameter 1\r\n"
    b"+1 415 555 0100,gold\r\n"
    b"not-a-number,silver\r\n"
    b"+1 415 555 0101,=SUM(A1)\r\n"
)


def _campaign(server: Server, prefix: str) -> tuple[int, str]:
    """A stopped SMS campaign of its own (each test makes its own data)."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    made = server.api(
        "POST", "/campaigns", json={"name": name, "type": "sms", "sms_template": "hi"}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"]), name


def test_upload_with_a_bad_row_and_watch_the_summary(server: Server, page: Page) -> None:
    _, name = _campaign(server, "upload")
    login(page, server, "admin", server.admin_password)
    page.get_by_role("link", name="Imports").click()
    page.get_by_role("button", name="Upload").click()
    expect(page.locator('[data-field="campaign_id"] .field-error')).to_contain_text("choose")
    page.get_by_label("Campaign").select_option(label=name)
    page.get_by_label("File").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": UPLOAD}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_test_id("job-status")).to_have_text("completed")
    expect(page.get_by_test_id("rows-read")).to_have_text("3")
    expect(page.get_by_test_id("rows-imported")).to_have_text("2")
    expect(page.get_by_test_id("rows-rejected")).to_have_text("1")
    expect(page.get_by_test_id("rejects")).to_contain_text("not a phone number")
    shoot(page, "import-job")
    with page.expect_download() as download:
        page.get_by_test_id("rejects-csv").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(), newline="")))
    assert rows[1][:2] == ["3", "phone1"]
    page.get_by_role("link", name="Imports").first.click()
    expect(page.get_by_test_id("jobs")).to_contain_text(name)
    shoot(page, "imports")


def test_contacts_filter_columns_and_export(server: Server, page: Page) -> None:
    campaign_id, _name = _campaign(server, "contacts")
    contacts = [
        {"phone1": f"+1202555{n:04d}", "param1": "gold" if n % 2 else "silver", "param2": f"#{n}"}
        for n in range(60)
    ]
    batch = server.api(
        "POST", f"/campaigns/{campaign_id}/imports/batch", json={"contacts": contacts}
    )
    assert batch.status_code == 201, batch.text
    login(page, server, "admin", server.admin_password)
    page.goto(f"{server.url}/campaigns/{campaign_id}")
    page.get_by_role("link", name="Contacts", exact=True).click()
    rows = page.get_by_test_id("contacts").locator("tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("link", name="Next →").click()
    expect(rows).to_have_count(10)

    page.get_by_label("Search", exact=True).fill("(202) 555-0007")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+12025550007")

    page.get_by_label("Search", exact=True).fill("gold")
    page.get_by_label("Search in").select_option(label="Param 1")
    page.get_by_role("checkbox", name="Pending").check()
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(30)

    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="Param 2").check()
    page.get_by_role("checkbox", name="Last outcome").uncheck()
    page.get_by_role("button", name="Show these columns").click()
    headers = page.get_by_test_id("contacts").locator("thead th")
    expect(headers).to_contain_text(["#", "Phone 1", "Param 2", "State"])
    page.reload()
    expect(headers).to_contain_text(["#", "Phone 1", "Param 2", "State"])
    expect(page.get_by_test_id("contacts").locator('th[data-col="last_outcome"]')).to_have_count(0)
    expect(rows).to_have_count(30)  # the filter survived the column change
    shoot(page, "contacts")

    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = list(csv.DictReader(io.StringIO(download.value.path().read_text(), newline="")))
    assert len(exported) == 30 and {r["param1"] for r in exported} == {"gold"}
    # A number in E.164 is no formula: written as it is, so the export imports back.
    assert exported[0]["phone1"] == "+12025550001"

    rows.first.get_by_role("link").click()
    expect(page.get_by_test_id("state")).to_have_text("Pending")
    expect(page.get_by_test_id("attempts")).to_contain_text("No attempt yet")
    shoot(page, "contact-detail")
    assert re.search(r"/contacts/\d+$", page.url)


def test_dnc_add_with_a_field_error(server: Server, page: Page) -> None:
    number = f"+1415555{uuid.uuid4().int % 10_000:04d}"
    login(page, server, "admin", server.admin_password)
    page.get_by_role("link", name="Do not call").click()
    page.get_by_label("Number", exact=True).fill("12ab")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.locator('[data-field="number"] .field-error')).to_contain_text("contains letters")
    shoot(page, "dnc-error")
    page.get_by_label("Number", exact=True).fill(number)
    page.get_by_label("Note", exact=True).first.fill("asked by phone")
    page.get_by_role("button", name="Add to the list").click()
    expect(page.get_by_role("status")).to_have_text("Number added.")
    expect(page.locator(f'tr[data-number="{number}"]')).to_contain_text("asked by phone")
    shoot(page, "dnc")


def test_settings_form_shows_errors_by_field(server: Server, page: Page) -> None:
    login(page, server, "admin", server.admin_password)
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Feed batch size").fill("0")
    page.locator("#f-dialer-options").fill('{"capacity": "many"}')
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator('[data-field="feed_batch_size"] .field-error')).to_contain_text(
        "greater than or equal to 1"
    )
    page.get_by_label("Feed batch size").fill("500")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator('#f-dialer-options-error [data-path="capacity"]')).to_contain_text(
        "integer"
    )
    shoot(page, "settings-errors")
