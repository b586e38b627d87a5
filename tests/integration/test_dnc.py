"""Do-not-call lists through the API: global and per-campaign scope, bulk, check, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from outbound.dnc import service
from tests import factories
from tests.conftest import Account

URL = "/api/v1/dnc"


def make_campaign(db: Database, name: str, *, crm: str | None = None) -> int:
    return factories.make_campaign(db, name, crm=crm, campaign_type=CampaignType.SMS)


def e164(i: int) -> str:
    return f"+1650253{i:04d}"


def post(client: TestClient, who: Account, **body: Any) -> Any:
    return client.post(URL, json=body, headers=who.headers)


@pytest.fixture
def campaign(db: Database) -> int:
    return make_campaign(db, "Dnc_A", crm="CRM-A")


def test_add_global_entry_then_duplicate_is_409(
    client: TestClient, supervisor: Account, viewer: Account
) -> None:
    r = post(client, supervisor, number="(650) 253-0001", note="asked by phone")
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["number"] == e164(1) and entry["raw"] == "(650) 253-0001"
    assert entry["scope"] == "global" and entry["campaign_id"] is None
    assert entry["note"] == "asked by phone" and entry["source"] == "manual"
    assert entry["created_by"] == supervisor.username

    again = post(client, supervisor, number="+1 650-253-0001")
    assert again.status_code == 409
    assert "global" in again.json()["detail"] and e164(1) in again.json()["detail"]
    got = client.get(f"{URL}/{entry['id']}", headers=viewer.headers)
    assert got.status_code == 200 and got.json() == entry


def test_campaign_scope_is_separate_from_global(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    assert post(client, supervisor, number=e164(1)).status_code == 201
    r = post(client, supervisor, number=e164(1), campaign="crm:CRM-A")
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == "campaign" and r.json()["campaign_id"] == campaign
    assert post(client, supervisor, number=e164(1), campaign=str(campaign)).status_code == 409
    other = make_campaign(db, "Dnc_B")
    assert post(client, supervisor, number=e164(1), campaign=str(other)).status_code == 201
    assert post(client, supervisor, number=e164(2), campaign="crm:nope").status_code == 404
    assert post(client, supervisor, number=e164(2), campaign="12x").status_code == 404


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("12#", "not a phone number"),
        ("+1 123 456 7890", "not a valid number for its region"),
        ("", "empty"),
        ("+1 650 253 0000" + " " * 14, "longer than 28 characters"),
        ("CALL-ME", "letters"),
    ],
)
def test_invalid_number_is_422_naming_number(
    client: TestClient, supervisor: Account, number: str, reason: str
) -> None:
    r = post(client, supervisor, number=number)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "number"]
    assert reason in error["msg"]


def test_bad_bodies_are_422(client: TestClient, supervisor: Account) -> None:
    assert post(client, supervisor).status_code == 422
    assert post(client, supervisor, number=e164(1), colour="red").status_code == 422
    assert post(client, supervisor, number=e164(1), note="n" * 256).status_code == 422
    assert post(client, supervisor, number="1" * 257).status_code == 422


def test_check_global_and_campaign_entries(
    client: TestClient, db: Database, supervisor: Account, viewer: Account, campaign: int
) -> None:
    other = make_campaign(db, "Dnc_B")
    post(client, supervisor, number=e164(1))
    post(client, supervisor, number=e164(2), campaign=str(campaign))

    def check(number: str, campaign_ref: str | None = None) -> Any:
        params = {"number": number} | ({"campaign": campaign_ref} if campaign_ref else {})
        return client.get(f"{URL}/check", params=params, headers=viewer.headers)

    globally = check("650 253 0001", str(other)).json()
    assert globally["listed"] is True and globally["number"] == e164(1)
    assert [e["scope"] for e in globally["entries"]] == ["global"]
    assert check(e164(2), str(campaign)).json()["listed"] is True
    assert check(e164(2), "crm:CRM-A").json()["entries"][0]["campaign_id"] == campaign
    assert check(e164(2), str(other)).json()["listed"] is False
    assert check(e164(2)).json() == {"number": e164(2), "listed": False, "entries": []}
    bad = check("nope")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "number"]
    assert check(e164(1), "crm:missing").status_code == 404


def test_bulk_adds_valid_new_numbers_and_reports_the_rest(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    post(client, supervisor, number=e164(2), campaign=str(campaign))
    post(client, supervisor, number=e164(3))  # global: not this campaign's list
    numbers = [
        e164(1),
        "bad number",
        "(650) 253-0001",  # repeats the first
        e164(2),  # already on the campaign's list
        "",
        "+1 650 253 0000" + " " * 20,
        e164(3),
        "+1 123 456 7890",
    ]
    r = client.post(
        f"{URL}/bulk",
        json={"numbers": numbers, "campaign": f"{campaign}", "note": "bulk"},
        headers=supervisor.headers,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["added"] == 2
    assert result["already_listed"] == 2
    assert [(x["index"], x["number"]) for x in result["rejected"]] == [
        (1, "bad number"),
        (4, ""),
        (5, numbers[5]),
        (7, "+1 123 456 7890"),
    ]
    assert [x["reason"] for x in result["rejected"]][1:3] == [
        "empty",
        "longer than 28 characters",
    ]
    listed = client.get(URL, params={"campaign": campaign}, headers=viewer.headers).json()
    entries = {e["number"]: e for e in listed["items"]}
    assert set(entries) == {e164(1), e164(2), e164(3)}
    assert entries[e164(1)]["source"] == "bulk" and entries[e164(1)]["note"] == "bulk"
    assert entries[e164(1)]["raw"] == e164(1)


def test_bulk_across_query_chunks(client: TestClient, supervisor: Account) -> None:
    post(client, supervisor, number=e164(1500))
    numbers = [e164(i) for i in range(2500)]
    r = client.post(f"{URL}/bulk", json={"numbers": numbers}, headers=supervisor.headers)
    assert r.status_code == 200
    assert r.json() == {"added": 2499, "already_listed": 1, "rejected": []}
    again = client.post(f"{URL}/bulk", json={"numbers": numbers[:10]}, headers=supervisor.headers)
    assert again.json() == {"added": 0, "already_listed": 10, "rejected": []}


def test_bulk_limits(client: TestClient, supervisor: Account) -> None:
    too_many = {"numbers": ["1"] * 100_001}
    assert client.post(f"{URL}/bulk", json=too_many, headers=supervisor.headers).status_code == 422
    empty = client.post(f"{URL}/bulk", json={"numbers": []}, headers=supervisor.headers)
    assert empty.json() == {"added": 0, "already_listed": 0, "rejected": []}
    unknown = {"numbers": [e164(1)], "campaign": "crm:nope"}
    assert client.post(f"{URL}/bulk", json=unknown, headers=supervisor.headers).status_code == 404


def test_keyset_listing_by_scope_and_prefix(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    ids = [post(client, supervisor, number=e164(i)).json()["id"] for i in range(5)]
    mine = post(client, supervisor, number="+44 20 7946 0018", campaign=str(campaign)).json()

    def page(**params: Any) -> Any:
        r = client.get(URL, params=params, headers=viewer.headers)
        assert r.status_code == 200, r.text
        return r.json()

    first = page(limit=2, scope="global")
    assert [e["id"] for e in first["items"]] == ids[:2] and first["next_after"] == ids[1]
    second = page(limit=2, scope="global", after=first["next_after"])
    third = page(limit=2, scope="global", after=second["next_after"])
    assert [e["id"] for e in second["items"] + third["items"]] == ids[2:]
    assert third["next_after"] is None
    assert [e["id"] for e in page(scope="campaign")["items"]] == [mine["id"]]
    assert [e["id"] for e in page(campaign="crm:CRM-A")["items"]] == [mine["id"]]
    assert len(page()["items"]) == 6
    assert [e["id"] for e in page(q="+4420")["items"]] == [mine["id"]]
    assert [e["id"] for e in page(q="1 650 253 0003")["items"]] == [ids[3]]
    assert page(q="_")["items"] == []

    both = client.get(URL, params={"campaign": campaign, "scope": "global"}, headers=viewer.headers)
    # Filters combine: the global entries of one campaign's list are none.
    assert both.status_code == 200 and both.json()["items"] == []
    assert client.get(URL, params={"scope": "all"}, headers=viewer.headers).status_code == 422
    assert client.get(URL, params={"limit": 1001}, headers=viewer.headers).status_code == 422
    unknown = client.get(URL, params={"colour": "red"}, headers=viewer.headers)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["query", "colour"]


def test_delete_entry(client: TestClient, supervisor: Account, viewer: Account) -> None:
    entry = post(client, supervisor, number=e164(1)).json()
    assert client.delete(f"{URL}/{entry['id']}", headers=viewer.headers).status_code == 403
    assert client.delete(f"{URL}/{entry['id']}", headers=supervisor.headers).status_code == 204
    assert client.delete(f"{URL}/{entry['id']}", headers=supervisor.headers).status_code == 404
    check = client.get(f"{URL}/check", params={"number": e164(1)}, headers=viewer.headers)
    assert check.json()["listed"] is False
    assert post(client, supervisor, number=e164(1)).status_code == 201


def test_viewer_reads_but_cannot_write(client: TestClient, viewer: Account) -> None:
    assert post(client, viewer, number=e164(1)).status_code == 403
    bulk = client.post(f"{URL}/bulk", json={"numbers": [e164(1)]}, headers=viewer.headers)
    assert bulk.status_code == 403
    assert client.get(URL, headers=viewer.headers).status_code == 200
    assert client.get(URL).status_code == 401
    assert client.get(f"{URL}/check", params={"number": e164(1)}).status_code == 401


def test_is_listed_and_idempotent_add_number(db: Database, campaign: int) -> None:
    other = make_campaign(db, "Dnc_B")
    now = datetime.now(UTC)
    with db.transaction() as session:
        first = service.add_number(
            session, e164(1), campaign_id=None, source="sms_stop", note="STOP", now=now
        )
        again = service.add_number(
            session, e164(1), campaign_id=None, source="sms_stop", note="STOP", now=now
        )
        assert again.id == first.id
        service.add_number(
            session, e164(2), campaign_id=campaign, source="sms_stop", note="", now=now
        )
    with db.transaction() as session:
        numbers = [e164(1), e164(2), e164(3)]
        assert service.is_listed(session, numbers, campaign) == {e164(1), e164(2)}
        assert service.is_listed(session, numbers, other) == {e164(1)}
        assert service.is_listed(session, [], campaign) == set()


def test_campaign_is_named_as_in_the_rest_of_the_api(
    client: TestClient, supervisor: Account, viewer: Account, campaign: int
) -> None:
    """A body names the campaign by its id as a JSON number (as ``campaign_id`` in every
    answer and in webhooks), by the same digits as a string, or as ``crm:<id>``."""
    by_number = post(client, supervisor, number=e164(1), campaign=campaign)
    assert by_number.status_code == 201, by_number.text
    assert by_number.json()["campaign_id"] == campaign
    by_field = client.post(
        URL, json={"number": e164(2), "campaign_id": campaign}, headers=supervisor.headers
    )
    assert by_field.status_code == 201, by_field.text
    assert by_field.json()["campaign_id"] == campaign
    bulk = client.post(
        f"{URL}/bulk", json={"numbers": [e164(3)], "campaign": campaign}, headers=supervisor.headers
    )
    assert bulk.status_code == 200, bulk.text
    listed = client.get(URL, params={"campaign": "crm:CRM-A"}, headers=viewer.headers).json()
    assert {e["number"] for e in listed["items"]} == {e164(1), e164(2), e164(3)}
    # The same number again on the same list, named the other way, is the same entry.
    assert post(client, supervisor, number=e164(1), campaign="crm:CRM-A").status_code == 409
    for bad in (True, 0, -4, 2**40):
        r = post(client, supervisor, number=e164(4), campaign=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["field"] == "campaign"
    missing = post(client, supervisor, number=e164(4), campaign=campaign + 1000)
    assert missing.status_code == 404 and "not found" in missing.json()["detail"]
