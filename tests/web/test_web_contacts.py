"""A campaign's contacts in the web UI: filters, search, keyset paging, columns, export, detail."""

from __future__ import annotations

import csv
import html
import io
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Attempt, Campaign, Contact, SmsReply
from outbound.strategies.outcomes import Channel, Outcome
from tests.conftest import Account
from tests.factories import make_campaign
from tests.web.conftest import field_error

Login = Callable[[Account], str]
STATES = (ContactState.PENDING, ContactState.CONNECTED, ContactState.NOT_CONNECTED)


def add_contacts(db: Database, campaign_id: int, rows: list[dict[str, object]]) -> list[int]:
    """Contacts written directly (the subject here is the listing); returns their ids."""
    now = datetime.now(UTC)
    made = []
    with db.transaction() as session:
        for n, fields in enumerate(rows):
            number = str(fields.pop("phone1", f"+1202555{n:04d}"))
            contact = Contact(
                campaign_id=campaign_id,
                phone1=number,
                phone1_e164=number,
                import_seq=n + 1,
                created_at=now,
                updated_at=now,
                **({"state": ContactState.PENDING} | fields),
            )
            session.add(contact)
            made.append(contact)
        session.flush()
        return [c.id for c in made]


def ids_on(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr data-contact="(\d+)">', page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def walk(client: TestClient, base: str, query: str) -> tuple[list[list[int]], str]:
    """Follow "Next" from the first page to the last; the pages' ids, and the last page."""
    pages = []
    answer = client.get(f"{base}?{query}")
    while True:
        assert answer.status_code == 200, answer.text
        pages.append(ids_on(answer.text))
        following = link(answer.text, "next")
        if following is None:
            return pages, answer.text
        answer = client.get(base + following)


def test_keyset_paging_has_no_duplicates_or_gaps_both_ways(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "paging")
    other = make_campaign(db, "paging-other")
    ids = add_contacts(db, campaign, [{"state": STATES[n % 3]} for n in range(23)])
    add_contacts(db, other, [{} for _ in range(5)])  # another campaign's never show
    login(viewer)
    base = f"/campaigns/{campaign}/contacts"

    pages, last = walk(client, base, "size=4")
    assert [len(p) for p in pages] == [4, 4, 4, 4, 4, 3]
    assert [i for p in pages for i in p] == ids
    # and back with "Previous": the same pages, in reverse
    back = [pages[-1]]
    answer_text = last
    while (previous := link(answer_text, "prev")) is not None:
        answer = client.get(base + previous)
        back.append(ids_on(answer.text))
        answer_text = answer.text
    assert back[::-1] == pages

    wanted = [i for n, i in enumerate(ids) if STATES[n % 3] in STATES[1:]]
    pages, _ = walk(client, base, "size=5&state=connected&state=not_connected")
    assert [i for p in pages for i in p] == wanted
    assert all(len(p) == 5 for p in pages[:-1])


def test_search_by_number_as_typed_or_e164_and_by_parameter(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "search")
    ids = add_contacts(
        db,
        campaign,
        [
            {"phone1": "+12025550100", "param2": "gold", "crm_contact_id": "C-1"},
            {"phone1": "+12025550101", "param2": "silver"},
            {"phone1": "+12025550102", "param2": "gold", "state": ContactState.CONNECTED},
            {"phone1": "+442079460958", "param2": "Gold"},
        ],
    )
    login(viewer)
    base = f"/campaigns/{campaign}/contacts"

    def found(query: str) -> list[int]:
        answer = client.get(f"{base}?{query}")
        assert answer.status_code == 200, answer.text
        return ids_on(answer.text)

    # a whole number, typed nationally (default region US) or in E.164: that contact only
    assert found("q=(202)+555-0101") == [ids[1]]
    assert found("q=%2B1+202+555+0101") == [ids[1]]
    # the start of a number: every Phone 1 that begins so
    assert found("q=%2B1202555") == ids[:3]
    assert found("q=44+20") == [ids[3]]
    # a business parameter, exactly (case matters), combined with a state
    assert found("q=gold&in=param2") == [ids[0], ids[2]]
    assert found("q=gold&in=param2&state=pending") == [ids[0]]
    assert found("q=C-1&in=crm_contact_id") == [ids[0]]
    assert found("q=nobody&in=param2") == []
    # an unknown column or state names no listing: an error page, never a 500
    assert client.get(f"{base}?q=x&in=password").status_code == 422
    assert client.get(f"{base}?state=bogus").status_code == 422


def test_columns_are_remembered_per_user(
    client: TestClient, db: Database, viewer: Account, supervisor: Account, login: Login
) -> None:
    campaign = make_campaign(db, "columns")
    add_contacts(db, campaign, [{"param3": "blue", "crm_contact_id": "crm-9"}])
    base = f"/campaigns/{campaign}/contacts"
    token = login(viewer)
    default = client.get(base).text
    assert re.findall(r'data-col="([^"]+)"', default) == [
        "phone1",
        "state",
        "last_outcome",
        "attempt_count",
        "request_time",
    ]
    # no CSRF token: refused, nothing remembered
    refused = client.post(f"{base}/columns", data={"column": ["param3"]})
    assert refused.status_code == 403
    chosen = client.post(
        f"{base}/columns",
        data={
            "csrf_token": token,
            "column": ["crm_contact_id", "param3", "nonsense"],
            "back": f"{base}?size=7",
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == f"{base}?size=7"
    page = client.get(base).text
    assert re.findall(r'data-col="([^"]+)"', page) == ["param3", "crm_contact_id"]
    assert ">blue</td>" in page and ">crm-9</td>" in page
    # a redirect elsewhere is not followed
    elsewhere = client.post(
        f"{base}/columns",
        data={"csrf_token": token, "column": ["param3"], "back": "https://evil.example/"},
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == base

    client.cookies.clear()
    login(supervisor)  # another user keeps the defaults
    assert 'data-col="param3"' not in client.get(base).text
    client.cookies.clear()
    login(viewer)  # a new session of the same user: remembered
    assert re.findall(r'data-col="([^"]+)"', client.get(base).text) == ["param3"]


def test_the_contacts_table_and_its_export_show_outcome_labels(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    """Issue 13: the table showed ``no_answer`` where every other page shows a label. The
    export carries what the table shows (the API keeps the keys for machines)."""
    campaign = make_campaign(db, "outcomes")
    keyed = ["no_answer", "sms_delivered", "callback_requested", None]
    ids = add_contacts(db, campaign, [{"last_outcome": k} for k in keyed])
    token = login(viewer)
    base = f"/campaigns/{campaign}/contacts"
    # The user's own columns (the database is shared with the other tests of this file).
    client.post(f"{base}/columns", data={"csrf_token": token, "column": ["last_outcome"]})
    page = client.get(base).text
    cells = re.findall(r"<td data-label=\"Last outcome\">([^<]*)</td>", page)
    assert cells == ["No answer", "SMS delivered", "Callback requested", ""]
    exported = client.get(f"/campaigns/{campaign}/contacts.csv").text
    table = list(csv.DictReader(io.StringIO(exported, newline="")))
    assert [r["last_outcome"] for r in table] == cells
    api = client.get(f"/api/v1/contacts/{ids[0]}", headers=viewer.headers)
    assert api.status_code == 200 and api.json()["last_outcome"] == "no_answer"


def test_export_streams_every_page_of_the_filter_with_formulas_escaped(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "export")
    dangerous = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "plain"]
    rows: list[dict[str, object]] = [{"param1": v} for v in dangerous]
    rows += [{"param1": "bulk", "state": ContactState.CONNECTED} for _ in range(1200)]
    ids = add_contacts(db, campaign, rows)
    login(viewer)
    answer = client.get(f"/campaigns/{campaign}/contacts.csv?state=pending")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    assert [int(r["id"]) for r in table] == ids[:7]
    assert [r["param1"] for r in table] == [
        '\'=HYPERLINK("http://x")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
        "'\tTAB",
        "'\rCR",
        "plain",
    ]
    # a number in E.164 starts with "+" but is no formula: written as it is, so that the
    # export imports back (on main it came out as '+1…)
    assert table[0]["phone1"] == "+12025550000"
    assert table[0]["state"] == "Pending"
    # all pages: 1200 rows is more than any page of the listing
    everything = client.get(f"/campaigns/{campaign}/contacts.csv?state=connected").text
    assert len(list(csv.DictReader(io.StringIO(everything, newline="")))) == 1200


def test_the_export_imports_back_and_shows_number_to_call_and_dialer_target(
    client: TestClient, db: Database, supervisor: Account, login: Login
) -> None:
    """On main the export's header was refused whole (unknown columns) and its phones came
    out as '+1…; nor did it show the Number To Call or the dialer campaign."""
    source = make_campaign(db, "export-source")
    with db.transaction() as session:
        campaign = session.get(Campaign, source)
        assert campaign is not None
        campaign.dialer_target = "queue-7"
    add_contacts(
        db,
        source,
        [
            {
                "phone1": "+14155550100",
                "phone2": "+1 415 555 0101",  # raw, as typed: escaped in the export
                "param1": "=not a formula",
                "param2": "Smith, John",
                "crm_contact_id": "c-1",
                "number_to_call": "+14155550100",
            },
            {"phone1": "+14155550102", "param12": "last"},
        ],
    )
    login(supervisor)
    export = client.get(f"/campaigns/{source}/contacts.csv")
    table = list(csv.DictReader(io.StringIO(export.text, newline="")))
    assert [(r["number_to_call"], r["dialer_target"]) for r in table] == [
        ("+14155550100", "queue-7"),
        ("", "queue-7"),
    ]
    page = client.get(f"/campaigns/{source}/contacts")
    assert "Number to call" in page.text and "Dialer target" in page.text

    target = make_campaign(db, "export-target")
    response = client.post(
        f"/api/v1/campaigns/{target}/imports",
        files={"file": ("export.csv", export.content, "text/csv")},
        headers=supervisor.headers,
    )
    assert response.status_code == 202, response.text
    job = wait_for_job(client, supervisor, response.json()["id"])
    assert (job["status"], job["rows_imported"], job["rows_rejected"]) == ("completed", 2, 0)
    assert len(job["warnings"]) == 1 and "'number_to_call'" in job["warnings"][0]
    with db.transaction() as session:
        back = session.execute(
            select(
                Contact.phone1_e164,
                Contact.phone2,
                Contact.phone2_e164,
                Contact.param1,
                Contact.param2,
                Contact.param12,
                Contact.crm_contact_id,
            )
            .where(Contact.campaign_id == target)
            .order_by(Contact.import_seq)
        ).all()
    assert [tuple(r) for r in back] == [
        (
            "+14155550100",
            "+1 415 555 0101",
            "+14155550101",
            "'=not a formula",
            "Smith, John",
            None,
            "c-1",
        ),
        ("+14155550102", None, None, None, None, "last", None),
    ]


def wait_for_job(client: TestClient, account: Account, job_id: int) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(
            f"/api/v1/imports/{job_id}", headers=account.headers
        ).json()
        if job["status"] in ("completed", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"import {job_id} did not finish")


def test_contact_detail_shows_its_attempts(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "detail")
    (contact_id,) = add_contacts(
        db,
        campaign,
        [
            {
                "state": ContactState.NOT_CONNECTED,
                "attempt_count": 2,
                "param1": "vip",
                "last_outcome": "no_answer",
            }
        ],
    )
    now = datetime.now(UTC)
    with db.transaction() as session:
        for number, outcome in ((1, Outcome.BUSY), (2, Outcome.NO_ANSWER)):
            session.add(
                Attempt(
                    contact_id=contact_id,
                    campaign_id=campaign,
                    number=number,
                    strategy_position=number,
                    channel=Channel.VOICE,
                    phone_slot=1,
                    phone_number="+12025550000",
                    sent_at=now,
                    ended_at=now,
                    outcome=outcome,
                    raw_result=f"SIP {480 + number}",
                )
            )
    login(viewer)
    page = client.get(f"/contacts/{contact_id}")
    assert page.status_code == 200
    assert "Not Connected" in page.text and "vip" in page.text
    attempts = re.findall(
        r"<tr><th scope=\"row\"[^>]*>(\d)</th>.*?Outcome\">([^<]+)</td>", page.text, re.S
    )
    # Issue 13: outcomes read as labels, as on every other page, not as keys.
    assert attempts == [("1", "Busy"), ("2", "No answer")]
    assert "<dt>Last outcome</dt><dd>No answer</dd>" in page.text
    assert "SIP 482" in page.text
    assert client.get("/contacts/999999").status_code == 404
    listing = client.get(f"/campaigns/{campaign}")
    assert f'href="/campaigns/{campaign}/contacts"' in listing.text


def test_supervisor_adds_a_contact_errors_by_field_viewer_cannot(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "adding")
    base = f"/campaigns/{campaign}/contacts"
    token = login(supervisor)
    assert f'action="/campaigns/{campaign}/contacts/new"' in client.get(base).text
    bad = client.post(
        f"{base}/new", data={"csrf_token": token, "phone1": "12ab", "param1": "x" * 256}
    )
    assert bad.status_code == 422
    assert "255" in (field_error(bad.text, "add-param1") or "")
    bad = client.post(f"{base}/new", data={"csrf_token": token, "phone1": "12ab"})
    assert field_error(bad.text, "add-phone1") == "phone1: not a phone number: it contains letters"
    assert 'value="12ab"' in bad.text

    made = client.post(
        f"{base}/new",
        data={"csrf_token": token, "phone1": "(202) 555-0177", "param4": "hello"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    detail = client.get(made.headers["location"]).text
    assert "+12025550177" in detail and "hello" in detail and "Contact added" in detail
    again = client.post(f"{base}/new", data={"csrf_token": token, "phone1": "+12025550177"})
    assert again.status_code == 422 and "open life cycle" in again.text

    client.cookies.clear()
    token = login(viewer)
    page = client.get(base).text
    assert "/contacts/new" not in page and "Add a contact" not in page
    refused = client.post(f"{base}/new", data={"csrf_token": token, "phone1": "+12025550178"})
    assert refused.status_code == 403


def test_contact_detail_shows_its_sms_replies_late_ones_marked(
    client: TestClient, db: Database, viewer: Account, login: Login
) -> None:
    campaign = make_campaign(db, "replies")
    (contact_id,) = add_contacts(db, campaign, [{"state": ContactState.SMS_SENT_CLOSED}])
    now = datetime.now(UTC)
    with db.transaction() as session:
        attempt = Attempt(
            contact_id=contact_id,
            campaign_id=campaign,
            number=1,
            strategy_position=1,
            channel=Channel.SMS,
            phone_slot=1,
            phone_number="+12025550000",
            sent_at=now,
            ended_at=now,
            outcome=Outcome.SMS_EXPIRED,
            raw_result="DLR DELIVRD",
        )
        session.add(attempt)
        session.flush()
        for text, opt_out in (("who <is> this?", False), ("please stop", True)):
            session.add(
                SmsReply(
                    contact_id=contact_id,
                    attempt_id=attempt.id,
                    phone_number="+12025550000",
                    text=text,
                    received_at=now,
                    opt_out=opt_out,
                    late=True,
                )
            )
    login(viewer)
    page = client.get(f"/contacts/{contact_id}").text
    table = re.search(r'data-testid="sms-replies">(.*?)</table>', page, re.S)
    assert table is not None, "no SMS replies on the contact's page"
    rows = re.findall(
        r'Text">(.*?)</td>\s*<td data-label="Opt-out">(.*?)</td><td data-label="Note">(.*?)</td>',
        table.group(1),
    )
    assert [(html.unescape(t), o.startswith("yes"), n.startswith("late")) for t, o, n in rows] == [
        ("who <is> this?", False, True),
        ("please stop", True, True),
    ]
    assert "who <is>" not in page  # the customer's text is escaped
    assert 'Outcome">SMS expired (no reply)</td>' in page
