"""The do-not-call page: add with field errors, remove, search, bulk upload with bad lines."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]


def listed(page: str) -> list[str]:
    return re.findall(r'<tr data-number="([^"]+)">', page)


def test_add_search_and_remove(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "dnc-page")
    token = login(supervisor)
    bad = client.post("/dnc", data={"csrf_token": token, "number": "12 34", "campaign": ""})
    assert bad.status_code == 422
    assert field_error(bad.text, "add-number") == "number: not a valid number for its region"
    assert 'value="12 34"' in bad.text

    added = client.post(
        "/dnc",
        data={"csrf_token": token, "number": "(415) 555-0100", "campaign": "", "note": "asked"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    client.post(
        "/dnc",
        data={"csrf_token": token, "number": "+44 20 7946 0958", "campaign": str(campaign)},
    )
    again = client.post("/dnc", data={"csrf_token": token, "number": "+14155550100"})
    assert again.status_code == 422 and "already on the global do-not-call list" in again.text

    page = client.get("/dnc").text
    assert listed(page) == ["+14155550100", "+442079460958"]
    assert listed(client.get("/dnc?q=4420").text) == ["+442079460958"]
    assert listed(client.get("/dnc?scope=global").text) == ["+14155550100"]
    assert "dnc-page" in page  # the campaign list is named

    entry = client.get("/api/v1/dnc", headers=supervisor.headers).json()["items"][0]
    removed = client.post(
        f"/dnc/{entry['id']}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert listed(client.get("/dnc").text) == ["+442079460958"]
    assert client.post("/dnc/999999/delete", data={"csrf_token": token}).status_code == 404


def test_bulk_upload_reports_added_and_invalid_by_line(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    token = login(supervisor)
    client.post("/dnc", data={"csrf_token": token, "number": "+14155550100"})
    text = (
        "number,name\n"  # a header: skipped
        "+1 415 555 0100,already\n"
        "\n"
        "(415) 555-0101,fine\n"
        "call me,letters\n"
        "+1 415 555 0102\n"
        "12\n"
        "+1 415 555 0101\n"  # repeated in the file
    )
    answer = client.post(
        "/dnc/bulk",
        data={"csrf_token": token, "campaign": "", "note": "file"},
        files={"file": ("numbers.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200
    report = re.search(r'data-testid="bulk-report">(.*?)</div>', answer.text, re.S)
    assert report is not None
    assert "<b>2</b> added, <b>2</b> already listed, <b>2</b> invalid" in report.group(1)
    lines = re.findall(r'<li data-line="(\d+)">.*?— (.*?)</li>', report.group(1))
    assert lines == [
        ("5", "not a phone number: it contains letters"),
        ("7", "not a valid number for its region"),
    ]
    assert listed(client.get("/dnc").text) == ["+14155550100", "+14155550101", "+14155550102"]

    missing = client.post("/dnc/bulk", data={"csrf_token": token})
    assert missing.status_code == 422
    assert field_error(missing.text, "bulk-file") == (
        "choose a text or CSV file with one number per line"
    )
    binary = client.post(
        "/dnc/bulk",
        data={"csrf_token": token},
        files={"file": ("n.txt", b"\xff\xfe\x00bad", "text/plain")},
    )
    assert field_error(binary.text, "bulk-file") == "the file is not UTF-8 text"


def test_viewer_reads_without_write_controls_and_is_refused(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    token = login(viewer)
    page = client.get("/dnc")
    assert page.status_code == 200
    assert "Add a number" not in page.text and "Remove" not in page.text
    assert (
        client.post("/dnc", data={"csrf_token": token, "number": "+14155550100"}).status_code == 403
    )
    assert client.post("/dnc", data={"number": "+14155550100"}).status_code == 403
