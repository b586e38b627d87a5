"""Uploading a contact file through the web UI and following its job."""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]
FILE = (
    b"Phone 1,Business Parameter 1\r\n"
    b"+1 415 555 0100,gold\r\n"
    b"not-a-number,=cmd\r\n"
    b"+1 415 555 0101,silver\r\n"
    b"+1 415 555 0100,again\r\n"
)


def finished_page(client: TestClient, job_id: int) -> str:
    """The job's live fragment once the background runner has finished the job."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        fragment = client.get(f"/imports/{job_id}/progress")
        assert fragment.status_code == 200
        if re.search(r'data-status="(completed|failed)"', fragment.text):
            return fragment.text
        assert 'hx-trigger="every 1s"' in fragment.text  # still polling while it runs
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish")


def figure(page: str, name: str) -> int:
    found = re.search(rf'data-testid="{name}">(\d+)<', page)
    assert found is not None, name
    return int(found.group(1))


def test_upload_with_a_bad_row_shows_summary_and_rejects_download(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "uploads")
    token = login(supervisor)
    answer = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": str(campaign)},
        files={"file": ("people.csv", FILE, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    page = client.get(answer.headers["location"])
    assert page.status_code == 200 and "people.csv" in page.text

    done = finished_page(client, job_id)
    assert 'data-status="completed"' in done and "hx-get" not in done  # polling stops
    assert figure(done, "rows-read") == 4
    assert figure(done, "rows-imported") == 2
    assert figure(done, "rows-rejected") == 1
    assert figure(done, "rows-duplicate") == 1
    assert figure(done, "rows-dnc") == 0
    assert f'href="/imports/{job_id}/rejects.csv"' in done

    report = client.get(f"/imports/{job_id}/rejects.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(report.text, newline="")))
    assert rows[0] == ["line", "column", "reason", "raw"]
    assert [(r[0], r[1]) for r in rows[1:]] == [("3", "phone1"), ("5", "phone1")]
    assert rows[1][3] == "not-a-number,=cmd"  # raw row: starts with a letter, kept as is
    assert "duplicate" in rows[2][2]

    listing = client.get("/imports").text
    assert f'<tr data-job="{job_id}">' in listing and "uploads" in listing
    api = client.get(f"/api/v1/campaigns/{campaign}/contacts", headers=supervisor.headers)
    assert len(api.json()["items"]) == 2


def test_upload_errors_land_by_their_field(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "upload-errors")
    token = login(supervisor)
    nothing = client.post("/imports", data={"csrf_token": token, "campaign_id": ""})
    assert nothing.status_code == 422
    assert field_error(nothing.text, "f-campaign_id") == "choose the campaign the contacts go to"
    assert field_error(nothing.text, "f-file") == "choose a .csv or .txt file"
    wrong = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": str(campaign)},
        files={"file": ("people.xlsx", b"PK\x03\x04", "application/octet-stream")},
    )
    assert field_error(wrong.text, "f-file") == "the file must be a .csv or .txt file"
    assert f'<option value="{campaign}" selected>' in wrong.text
    empty = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": str(campaign)},
        files={"file": ("people.csv", b"   ", "text/csv")},
    )
    assert field_error(empty.text, "f-file") == "the file is empty"
    gone = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": "424242"},
        files={"file": ("people.csv", FILE, "text/csv")},
    )
    assert field_error(gone.text, "f-campaign_id") == "that campaign no longer exists"
    assert (
        client.get(f"/api/v1/campaigns/{campaign}/imports", headers=supervisor.headers).json() == []
    )


def test_viewer_sees_jobs_but_no_upload_and_is_refused(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "upload-viewer")
    token = login(viewer)
    page = client.get("/imports")
    assert page.status_code == 200 and 'type="file"' not in page.text
    refused = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": str(campaign)},
        files={"file": ("people.csv", FILE, "text/csv")},
    )
    assert refused.status_code == 403
    no_token = client.post(
        "/imports",
        data={"campaign_id": str(campaign)},
        files={"file": ("people.csv", FILE, "text/csv")},
    )
    assert no_token.status_code == 403
    assert client.get("/imports/9999").status_code == 404


def test_ignored_columns_show_once_as_a_warning_on_the_job_page(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    """On main the file was refused whole for its First name column."""
    campaign = make_campaign(db, "uploads-extra")
    token = login(supervisor)
    data = b"First name,Phone 1,Email\r\nAnn,+1 415 555 0100,a@x.org\r\nBob,+1 415 555 0101,\r\n"
    answer = client.post(
        "/imports",
        data={"csrf_token": token, "campaign_id": str(campaign)},
        files={"file": ("crm.csv", data, "text/csv")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    job_id = int(answer.headers["location"].rsplit("/", 1)[1])
    page = finished_page(client, job_id)
    assert 'data-status="completed"' in page
    assert figure(page, "rows-imported") == 2
    warnings = re.search(r'data-testid="job-warnings">(.*?)</ul>', page, re.S)
    assert warnings is not None
    items = re.findall(r"<li>(.*?)</li>", warnings.group(1))
    assert items == [
        "ignored column(s), not contact columns: &#39;First name&#39;, &#39;Email&#39;"
    ]
