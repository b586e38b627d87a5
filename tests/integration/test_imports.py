"""Contact imports through the REST API: uploads, JSON batches, jobs, rejected rows."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from fastapi.testclient import TestClient

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Contact
from tests.conftest import Account
from tests.factories import make_campaign

API = "/api/v1"


def upload(
    client: TestClient, account: Account, campaign: int | str, data: bytes, name: str = "c.csv"
) -> Any:
    return client.post(
        f"{API}/campaigns/{campaign}/imports",
        files={"file": (name, data, "text/csv")},
        headers=account.headers,
    )


def finished(client: TestClient, account: Account, job_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"{API}/imports/{job_id}", headers=account.headers).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish: {job}")


def rejects(client: TestClient, account: Account, job_id: int) -> list[tuple[int, str, str]]:
    page = client.get(f"{API}/imports/{job_id}/rejects", headers=account.headers).json()
    return [(r["line"], r["column"], r["reason"]) for r in page["items"]]


def test_upload_imports_good_rows_and_reports_each_bad_one(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-a")
    client.post(f"{API}/dnc", json={"number": "+14155550199"}, headers=supervisor.headers)
    data = (
        "\ufeffPhone 1,Phone 2,Business Parameter 1\r\n"
        "+1 415 555 0100,,gold\r\n"
        '(650) 253-0000,+44 20 7946 0958,"Smith, John"\r\n'
        "+1 415 555 0101,not-a-number,x\r\n"
        '+1 415 555 0102,,"two\r\nlines"\r\n'
        "+1 415 555 0100,,again\r\n"
        f"{'9' * 29},,too long\r\n"
        "+1 415 555 0199,,on the DNC list\r\n"
        "+1 415 555 0103,,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\r\n"
        "12,,short\r\n"
    ).encode()
    response = upload(client, supervisor, campaign, data)
    assert response.status_code == 202
    job = finished(client, supervisor, response.json()["id"])
    assert job["status"] == "completed"
    assert (job["rows_imported"], job["rows_rejected"], job["rows_duplicate"], job["rows_dnc"]) == (
        3,
        4,
        1,
        1,
    )
    assert job["progress"] == 1.0
    assert rejects(client, supervisor, job["id"]) == [
        (4, "phone2", "phone2: not a phone number: it contains letters"),
        (7, "phone1", "duplicate: an open life cycle exists for this Phone 1 in the campaign"),
        (8, "phone1", "longer than 28 characters"),
        (10, None, "19 columns, at most 3 expected"),
        (11, "phone1", "phone1: not a valid number for its region"),
    ]
    listed = client.get(f"{API}/campaigns/{campaign}/contacts", headers=supervisor.headers).json()[
        "items"
    ]
    by_phone = {c["phone1_e164"]: c for c in listed}
    assert by_phone["+16502530000"]["phone1"] == "(650) 253-0000"
    assert by_phone["+16502530000"]["phone2_e164"] == "+442079460958"
    assert by_phone["+16502530000"]["param1"] == "Smith, John"
    assert by_phone["+14155550102"]["param1"] == "two\r\nlines"
    assert by_phone["+14155550199"]["state"] == ContactState.DNC_LISTED.value
    assert by_phone["+14155550100"]["param1"] == "gold"


def test_rejected_rows_download_as_safe_csv(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-b")
    data = b"phone1,param1\n+14155550100,ok\n=cmd(),evil\n"
    job = finished(client, supervisor, upload(client, supervisor, campaign, data).json()["id"])
    response = client.get(f"{API}/imports/{job['id']}/rejects.csv", headers=supervisor.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["line", "column", "reason", "raw"]
    assert rows[1][0] == "3" and rows[1][1] == "phone1"
    assert rows[1][3].startswith("'=")  # a spreadsheet must not run it


def test_unusable_uploads_are_refused_with_the_reason(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-c")
    for data, name, reason in [
        (b"", "c.csv", "empty"),
        (b"\x00\x01\x02PK\x03\x04", "c.csv", "not text"),
        (b"+14155550100\n", "c.xlsx", ".csv or .txt"),
    ]:
        response = upload(client, supervisor, campaign, data, name)
        assert response.status_code == 422, name
        detail = response.json()["detail"][0]
        assert detail["field"] == "file" and reason in detail["msg"]


def test_files_without_a_usable_row_fail_whole(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-d")
    header_only = finished(
        client, supervisor, upload(client, supervisor, campaign, b"phone1,param1\r\n").json()["id"]
    )
    assert header_only["status"] == "failed"
    assert header_only["error"] == "the file has no usable row"
    all_bad = finished(
        client,
        supervisor,
        upload(client, supervisor, campaign, b"abc\nxyz\n").json()["id"],
    )
    assert all_bad["status"] == "failed"
    assert "all 2 rows were rejected" in all_bad["error"]
    semicolons = b"Phone 1;Param 1\n+14155550100;gold\n+14155550101;silver\n"
    wrong_delimiter = finished(
        client, supervisor, upload(client, supervisor, campaign, semicolons).json()["id"]
    )
    # Once for the file (on main: each row was refused as "contains letters").
    assert wrong_delimiter["status"] == "failed"
    assert wrong_delimiter["error"].startswith("wrong delimiter: ';'")
    assert wrong_delimiter["rows_rejected"] == 0
    assert rejects(client, supervisor, wrong_delimiter["id"]) == []


def test_a_crm_export_with_extra_columns_imports_the_known_ones_and_warns_once(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    """On main the whole file was refused: unknown column(s) in the header."""
    campaign = make_campaign(db, "imports-extra")
    data = (
        b"First name,Phone 1,Email,CRM contact id,Business Parameter 1,Owner\n"
        b"Ann,+14155550100,ann@example.com,c-1,gold,Zed\n"
        b"Bob,+14155550101,bob@example.com,c-2,silver,Zed\n"
    )
    job = finished(client, supervisor, upload(client, supervisor, campaign, data).json()["id"])
    assert job["status"] == "completed"
    assert (job["rows_imported"], job["rows_rejected"]) == (2, 0)
    assert job["warnings"] == [
        "ignored column(s), not contact columns: 'First name', 'Email', 'Owner'"
    ]
    again = client.get(f"{API}/imports/{job['id']}", headers=supervisor.headers).json()
    assert again["warnings"] == job["warnings"]
    items = client.get(f"{API}/campaigns/{campaign}/contacts", headers=supervisor.headers).json()
    assert {(c["phone1_e164"], c["crm_contact_id"], c["param1"]) for c in items["items"]} == {
        ("+14155550100", "c-1", "gold"),
        ("+14155550101", "c-2", "silver"),
    }


def test_blank_lines_before_the_first_row_are_not_an_empty_file(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    """On main only the first 64 KiB were looked at, and the upload was called empty."""
    campaign = make_campaign(db, "imports-blank")
    data = b"\n" * 70_000 + b"+14155550100,+14155550101\n"
    response = upload(client, supervisor, campaign, data)
    assert response.status_code == 202, response.text
    job = finished(client, supervisor, response.json()["id"])
    assert (job["status"], job["rows_imported"]) == ("completed", 1)
    blank = upload(client, supervisor, campaign, b"\n \r\n" * 30_000)
    assert blank.status_code == 422 and "empty" in blank.json()["detail"][0]["msg"]


def test_a_repeated_crm_contact_id_is_a_duplicate(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    """On main both rows with one CRM id imported, in one file and across files."""
    campaign = make_campaign(db, "imports-crm")
    data = (
        b"phone1,crm_contact_id\n+14155550100,c-1\n+14155550101,c-1\n+14155550102,c-2\n"
        b"+14155550103,\n+14155550104,\n"
    )
    job = finished(client, supervisor, upload(client, supervisor, campaign, data).json()["id"])
    assert (job["rows_imported"], job["rows_duplicate"], job["rows_rejected"]) == (4, 1, 0)
    crm_duplicate = "duplicate: an open life cycle exists for this CRM contact id in the campaign"
    assert rejects(client, supervisor, job["id"]) == [(3, "crm_contact_id", crm_duplicate)]
    later = b"phone1,crm_contact_id\n+14155550109,c-2\n+14155550108,c-3\n"
    second = finished(client, supervisor, upload(client, supervisor, campaign, later).json()["id"])
    assert (second["rows_imported"], second["rows_duplicate"]) == (1, 1)
    assert rejects(client, supervisor, second["id"]) == [(2, "crm_contact_id", crm_duplicate)]


def test_national_numbers_follow_the_default_region(
    client: TestClient, admin: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-e")
    # In lower case too (on main "gb" was refused: not a region code)
    changed = client.patch(f"{API}/settings", json={"default_region": "gb"}, headers=admin.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["default_region"] == "GB"
    job = finished(
        client,
        admin,
        upload(client, admin, campaign, b"020 7946 0958\n07911 123456\n").json()["id"],
    )
    assert job["rows_imported"] == 2
    items = client.get(f"{API}/campaigns/{campaign}/contacts", headers=admin.headers).json()
    assert {c["phone1_e164"] for c in items["items"]} == {"+442079460958", "+447911123456"}


def test_a_closed_life_cycle_is_reopened_by_a_new_upload(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-f")
    data = b"+14155550100\n"
    finished(client, supervisor, upload(client, supervisor, campaign, data).json()["id"])
    with db.transaction() as session:
        contact = session.query(Contact).filter_by(campaign_id=campaign).one()
        contact.state = ContactState.CONNECTED
        contact.closed_at = contact.created_at
    again = finished(client, supervisor, upload(client, supervisor, campaign, data).json()["id"])
    assert again["rows_imported"] == 1 and again["rows_duplicate"] == 0
    with db.transaction() as session:
        cycles = session.query(Contact).filter_by(campaign_id=campaign).order_by(Contact.id).all()
        assert [c.state for c in cycles] == [ContactState.CONNECTED, ContactState.PENDING]
        assert cycles[1].import_seq > cycles[0].import_seq


def test_json_batch_imports_at_once_and_reports_by_index(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    make_campaign(db, "imports-g", crm="CRM-G")
    response = client.post(
        f"{API}/campaigns/crm:CRM-G/imports/batch",
        json={
            "contacts": [
                {"phone1": "+14155550100", "param1": "a", "crm_contact_id": "c-1"},
                {"phone1": "nope"},
                {"phone2": "+14155550101"},
                {"phone1": "+14155550100"},
                {"phone1": "+14155550104", "param3": "x" * 256},
            ]
        },
        headers=supervisor.headers,
    )
    assert response.status_code == 201
    job = response.json()
    assert job["status"] == "completed" and job["source"] == "json"
    assert (job["rows_imported"], job["rows_rejected"], job["rows_duplicate"]) == (1, 3, 1)
    assert [(line, column) for line, column, _ in rejects(client, supervisor, job["id"])] == [
        (1, "phone1"),
        (2, "phone1"),
        (3, "phone1"),
        (4, "param3"),
    ]


def test_json_batch_shape_errors_are_422(
    client: TestClient, supervisor: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-h")
    unknown = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": "+14155550100", "colour": "red"}]},
        headers=supervisor.headers,
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["field"] == "contacts.0.colour"
    empty = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": []},
        headers=supervisor.headers,
    )
    assert empty.status_code == 422


def test_jobs_are_listed_per_campaign_and_viewers_may_read(
    client: TestClient, supervisor: Account, viewer: Account, db: Database
) -> None:
    campaign = make_campaign(db, "imports-i")
    job = finished(
        client, supervisor, upload(client, supervisor, campaign, b"+14155550100\n").json()["id"]
    )
    listed = client.get(f"{API}/campaigns/{campaign}/imports", headers=viewer.headers).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert listed[0]["created_by"] == supervisor.username
    assert upload(client, viewer, campaign, b"+14155550101\n").status_code == 403
