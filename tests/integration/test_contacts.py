"""Contacts through the API: adding one, the life-cycle rules, DNC at entry, listing, reading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Channel, Outcome
from tests.conftest import Account
from tests.factories import make_campaign


def phone(i: int) -> str:
    return f"+1 650 253 {i:04d}"


def e164(i: int) -> str:
    return f"+1650253{i:04d}"


def add(client: TestClient, who: Account, campaign: int | str, **body: Any) -> Any:
    return client.post(f"/api/v1/campaigns/{campaign}/contacts", json=body, headers=who.headers)


def close(db: Database, contact_id: int, state: ContactState = ContactState.CONNECTED) -> None:
    with db.transaction() as session:
        contact = session.get(Contact, contact_id)
        assert contact is not None
        contact.state = state
        contact.closed_at = datetime.now(UTC)


@pytest.fixture
def campaign(db: Database) -> int:
    return make_campaign(db, "Contacts_A", crm="CRM-A")


def test_add_contact_is_pending_and_due_now(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    r = add(
        client,
        supervisor,
        campaign,
        phone1="(650) 253-0001",
        phone2="+44 20 7946 0018",
        phone3="",
        param1="gold",
        param12="x" * 255,
        crm_contact_id="C-1",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["state"] == "pending"
    assert body["state_label"] == "Pending"
    assert body["phone1"] == "(650) 253-0001"
    assert body["phone1_e164"] == e164(1)
    assert body["phone2_e164"] == "+442079460018"
    assert body["phone3"] is None and body["phone3_e164"] is None
    assert body["param1"] == "gold" and body["crm_contact_id"] == "C-1"
    assert body["closed_at"] is None and body["dnc_numbers"] == []
    assert body["import_seq"] == 1 and body["next_position"] == 1
    assert datetime.fromisoformat(body["next_attempt_at"]) >= before

    second = add(client, supervisor, campaign, phone1=phone(2)).json()
    assert second["import_seq"] == 2

    detail = client.get(f"/api/v1/contacts/{body['id']}", headers=viewer.headers)
    assert detail.status_code == 200
    got = detail.json()
    assert got["campaign_id"] == campaign
    assert got["dialer_target"] == "sales-queue"
    assert got["state_label"] == "Pending"
    assert got["attempts"] == []
    assert got["attempt_count"] == 0 and got["request_time"] is None
    assert got["number_to_call"] is None
    assert got["param12"] == "x" * 255


def test_campaign_addressed_by_crm_id_or_not_found(
    client: TestClient, supervisor: Account, campaign: int
) -> None:
    r = add(client, supervisor, "crm:CRM-A", phone1=phone(1))
    assert r.status_code == 201 and r.json()["campaign_id"] == campaign
    assert add(client, supervisor, "crm:nope", phone1=phone(2)).status_code == 404
    assert add(client, supervisor, 999_999, phone1=phone(2)).status_code == 404
    assert add(client, supervisor, "abc", phone1=phone(2)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"phone1": phone(1), "phone3": "12#"}, "phone3", "phone3: not a phone number"),
        ({"phone1": phone(1), "phone5": "+1 123 456 7890"}, "phone5", "not a valid number"),
        ({"phone1": "1-800-FLOWERS"}, "phone1", "contains letters"),
        ({"phone1": "   "}, "phone1", "phone1: empty"),
        ({"phone1": phone(1), "phone2": "+1 650 253 0000" + " " * 14}, "phone2", "28"),
        ({}, "phone1", ""),
        ({"phone1": phone(1), "param7": "p" * 256}, "param7", "255"),
        ({"phone1": phone(1), "phone6": phone(2)}, "phone6", ""),
        ({"phone1": 6502530001}, "phone1", ""),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    client: TestClient,
    supervisor: Account,
    campaign: int,
    body: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    r = add(client, supervisor, campaign, **body)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", field]
    assert reason in error["msg"]
    listing = client.get(f"/api/v1/campaigns/{campaign}/contacts", headers=supervisor.headers)
    assert listing.json()["items"] == []


def test_national_numbers_follow_the_default_region_setting(
    client: TestClient, admin: Account, supervisor: Account, campaign: int
) -> None:
    assert add(client, supervisor, campaign, phone1="020 7946 0018").status_code == 422
    r = client.patch("/api/v1/settings", json={"default_region": "GB"}, headers=admin.headers)
    assert r.status_code == 200
    r = add(client, supervisor, campaign, phone1="020 7946 0018")
    assert r.status_code == 201 and r.json()["phone1_e164"] == "+442079460018"


def test_phone1_with_an_open_life_cycle_is_a_duplicate(
    client: TestClient, db: Database, supervisor: Account, campaign: int
) -> None:
    first = add(client, supervisor, campaign, phone1=phone(1)).json()
    r = add(client, supervisor, campaign, phone1="650-253-0001", phone2=phone(9))
    assert r.status_code == 409
    assert r.json()["detail"] == f"duplicate: contact {first['id']} already has an open life cycle"
    # Another campaign, or the number in another slot, is no duplicate.
    other = make_campaign(db, "Contacts_B")
    assert add(client, supervisor, other, phone1=phone(1)).status_code == 201
    assert add(client, supervisor, campaign, phone1=phone(2), phone2=phone(1)).status_code == 201


def test_a_closed_life_cycle_lets_the_contact_start_a_new_one(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    first = add(client, supervisor, campaign, phone1=phone(1)).json()
    close(db, first["id"])
    r = add(client, supervisor, campaign, phone1=phone(1), param1="again")
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["id"] != first["id"]
    assert second["state"] == "pending" and second["import_seq"] == first["import_seq"] + 1
    items = client.get(f"/api/v1/campaigns/{campaign}/contacts", headers=viewer.headers).json()[
        "items"
    ]
    assert [(c["id"], c["state"]) for c in items] == [
        (first["id"], "connected"),
        (second["id"], "pending"),
    ]
    assert add(client, supervisor, campaign, phone1=phone(1)).status_code == 409


def test_contact_with_a_dnc_number_is_created_closed_as_dnc_listed(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    other = make_campaign(db, "Contacts_B")
    for number, scope in ((phone(1), None), (phone(2), str(campaign)), (phone(3), str(other))):
        r = client.post(
            "/api/v1/dnc", json={"number": number, "campaign": scope}, headers=supervisor.headers
        )
        assert r.status_code == 201, r.text

    globally = add(client, supervisor, campaign, phone1=phone(1)).json()
    assert globally["state"] == "dnc_listed" and globally["state_label"] == "DNC Listed"
    assert globally["closed_at"] is not None and globally["next_attempt_at"] is None
    assert globally["dnc_numbers"] == [e164(1)]

    by_phone4 = add(client, supervisor, campaign, phone1=phone(10), phone4=phone(2)).json()
    assert by_phone4["state"] == "dnc_listed" and by_phone4["dnc_numbers"] == [e164(2)]

    # Another campaign's list does not apply here.
    free = add(client, supervisor, campaign, phone1=phone(3)).json()
    assert free["state"] == "pending" and free["dnc_numbers"] == []

    got = client.get(f"/api/v1/contacts/{globally['id']}", headers=viewer.headers).json()
    assert got["state"] == "dnc_listed" and got["closed_at"] is not None


def test_listing_a_number_later_leaves_existing_contacts_alone(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    contact = add(client, supervisor, campaign, phone1=phone(1)).json()
    r = client.post("/api/v1/dnc", json={"number": phone(1)}, headers=supervisor.headers)
    assert r.status_code == 201
    got = client.get(f"/api/v1/contacts/{contact['id']}", headers=viewer.headers).json()
    assert got["state"] == "pending" and got["closed_at"] is None


def _pages(client: TestClient, who: Account, url: str, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    after = None
    while True:
        query = dict(params) | ({"after": after} if after is not None else {})
        r = client.get(url, params=query, headers=who.headers)
        assert r.status_code == 200, r.text
        body = r.json()
        pages.append([c["id"] for c in body["items"]])
        after = body["next_after"]
        if after is None:
            return pages
        assert after == pages[-1][-1]


def test_keyset_paging_with_a_state_filter(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    ids = [add(client, supervisor, campaign, phone1=phone(i)).json()["id"] for i in range(1, 10)]
    other = make_campaign(db, "Contacts_B")
    add(client, supervisor, other, phone1=phone(1))
    for contact_id in ids[1::3]:
        close(db, contact_id, ContactState.CONNECTED)
    close(db, ids[2], ContactState.RETRIES_COMPLETED)
    pending = [i for i in ids if i not in ids[1::3] and i != ids[2]]
    url = f"/api/v1/campaigns/{campaign}/contacts"

    pages = _pages(client, viewer, url, state="pending", limit=2)
    assert pages == [pending[0:2], pending[2:4], pending[4:]]
    assert len(pending) == 5

    both = _pages(client, viewer, url, state=["pending", "connected"], limit=4)
    assert [i for page in both for i in page] == [i for i in ids if i != ids[2]]
    comma = _pages(client, viewer, url, state="connected,retries_completed", limit=100)
    assert comma == [sorted([*ids[1::3], ids[2]])]
    everything = _pages(client, viewer, url, limit=3)
    assert everything == [ids[0:3], ids[3:6], ids[6:9]]

    r = client.get(url, params={"state": "pending,lost"}, headers=viewer.headers)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "state"]
    assert "lost" in r.json()["detail"][0]["msg"]
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": 2**64}, {"colour": 1}):
        assert client.get(url, params=bad, headers=viewer.headers).status_code == 422


def test_search_by_the_start_of_phone1(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    uk = add(client, supervisor, campaign, phone1="+44 20 7946 0018").json()["id"]
    us = add(client, supervisor, campaign, phone1="650 253 0001").json()["id"]
    url = f"/api/v1/campaigns/{campaign}/contacts"

    def search(q: str) -> list[int]:
        r = client.get(url, params={"q": q}, headers=viewer.headers)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    assert search("+44") == [uk]
    assert search("4420") == [uk]
    assert search("650 253") == [us]
    assert search("1650") == [us]
    assert search("+33") == []
    assert search("%") == []


def test_contact_detail_lists_its_attempts_in_order(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    contact_id = add(client, supervisor, campaign, phone1=phone(1)).json()["id"]
    sent = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    with db.transaction() as session:
        for number, outcome in ((2, Outcome.CONNECTED), (1, Outcome.BUSY)):
            session.add(
                Attempt(
                    contact_id=contact_id,
                    campaign_id=campaign,
                    number=number,
                    strategy_position=number,
                    channel=Channel.VOICE,
                    phone_slot=1,
                    phone_number=e164(1),
                    sent_at=sent + timedelta(hours=number),
                    outcome=outcome,
                )
            )
        contact = session.scalars(select(Contact).where(Contact.id == contact_id)).one()
        contact.attempt_count = 2
        contact.request_time = sent + timedelta(hours=2)
        contact.number_to_call = e164(1)
    got = client.get(f"/api/v1/contacts/{contact_id}", headers=viewer.headers).json()
    assert [(a["number"], a["outcome"]) for a in got["attempts"]] == [
        (1, "busy"),
        (2, "connected"),
    ]
    assert got["attempts"][0]["channel"] == "voice"
    assert got["attempt_count"] == 2 and got["number_to_call"] == e164(1)
    assert datetime.fromisoformat(got["request_time"]) == sent + timedelta(hours=2)


def test_unknown_contact_is_404(client: TestClient, viewer: Account) -> None:
    assert client.get("/api/v1/contacts/424242", headers=viewer.headers).status_code == 404
    assert client.get("/api/v1/contacts/0", headers=viewer.headers).status_code == 422
    assert client.get(f"/api/v1/contacts/{2**63}", headers=viewer.headers).status_code == 422


def test_viewer_reads_but_cannot_add(client: TestClient, viewer: Account, campaign: int) -> None:
    r = add(client, viewer, campaign, phone1=phone(1))
    assert r.status_code == 403
    url = f"/api/v1/campaigns/{campaign}/contacts"
    assert client.get(url, headers=viewer.headers).status_code == 200
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/contacts/1").status_code == 401
