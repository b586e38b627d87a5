"""Reports and "why is it idle?" through the API, on both databases.

Campaigns, schedules and contacts are made through the API; states, attempts, in-flight
counts and engine workers, which only the engine writes, are set as ORM rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.models import Attempt, Campaign, Contact, Worker
from outbound.strategies.outcomes import Channel, Outcome
from tests.conftest import Account

API = "/api/v1"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = [{"day": d, "start": "00:00", "end": "24:00"} for d in DAYS]
TOKYO_NUMBER = "+81 3 1234 {:04d}"


def us_phone(i: int) -> str:
    return f"+1 650 253 {i:04d}"


def make_schedule(
    client: TestClient,
    admin: Account,
    name: str,
    windows: list[dict[str, str]],
    *,
    zone: str = "UTC",
    local: bool = False,
) -> int:
    body = {"name": name, "time_zone": zone, "contact_local_time": local, "windows": windows}
    r = client.post(f"{API}/schedules", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def make_campaign(
    client: TestClient, admin: Account, name: str, *, schedule: int, crm: str | None = None
) -> int:
    strategy = {"name": f"strategy-{name}", "attempts": [{"channel": "voice"}]}
    r = client.post(f"{API}/strategies", json=strategy, headers=admin.headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = {
        "name": name,
        "type": "agent",
        "schedule_id": schedule,
        "strategy_id": r.json()["id"],
    }
    if crm:
        body["crm_campaign_id"] = crm
    r = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def add(client: TestClient, who: Account, campaign: int, phone: str) -> int:
    r = client.post(
        f"{API}/campaigns/{campaign}/contacts", json={"phone1": phone}, headers=who.headers
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def start(client: TestClient, who: Account, campaign: int) -> None:
    assert client.post(f"{API}/campaigns/{campaign}/start", headers=who.headers).status_code == 200


def status(client: TestClient, who: Account, ref: int | str) -> dict[str, Any]:
    r = client.get(f"{API}/campaigns/{ref}/status", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def beat(db: Database, name: str, *, age: timedelta = timedelta(0), stopped: bool = False) -> None:
    now = datetime.now(UTC)
    with db.transaction() as session:
        session.add(Worker(id=name, heartbeat_at=now - age, stopped_at=now if stopped else None))


def set_contacts(db: Database, ids: list[int], **values: Any) -> None:
    with db.transaction() as session:
        session.execute(update(Contact).where(Contact.id.in_(ids)).values(**values))


def set_in_flight(db: Database, campaign: int, value: int) -> None:
    with db.transaction() as session:
        session.execute(update(Campaign).where(Campaign.id == campaign).values(in_flight=value))


@pytest.fixture
def always(client: TestClient, admin: Account) -> int:
    return make_schedule(client, admin, "always", ALWAYS)


def test_each_reason_in_turn_until_it_dials(
    client: TestClient,
    db: Database,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    always: int,
) -> None:
    campaign = make_campaign(client, admin, "Idle_A", schedule=always, crm="IDLE-A")
    got = status(client, viewer, campaign)
    assert got["reason"] == "stopped" and got["dialling"] is False and got["until"] is None
    assert got["campaign_id"] == campaign and got["running"] is False

    start(client, supervisor, campaign)
    assert status(client, viewer, "crm:IDLE-A")["reason"] == "no_contacts"

    ids = [add(client, supervisor, campaign, us_phone(i)) for i in range(1, 4)]
    set_contacts(db, ids, state=ContactState.CONNECTED, closed_at=datetime.now(UTC))
    assert status(client, viewer, campaign)["reason"] == "all_closed"

    due = add(client, supervisor, campaign, us_phone(9))
    set_in_flight(db, campaign, 10)
    got = status(client, viewer, campaign)
    assert got["reason"] == "capacity_full"
    assert (got["in_flight"], got["max_concurrent"], got["pending_due"]) == (10, 10, 1)

    set_in_flight(db, campaign, 3)
    later = (datetime.now(UTC) + timedelta(minutes=42)).replace(microsecond=0)
    set_contacts(db, [due], next_attempt_at=later)
    got = status(client, viewer, campaign)
    assert got["reason"] == "no_contact_due" and got["pending_due"] == 0
    assert at(got["until"]) == later and at(got["next_due_at"]) == later

    set_contacts(db, [due], next_attempt_at=datetime.now(UTC) - timedelta(seconds=5))
    got = status(client, viewer, campaign)
    assert (got["reason"], got["detail"]) == ("channel_down", "no engine worker is running")
    assert got["pending_due"] == 1

    beat(db, "silent", age=timedelta(minutes=2))
    beat(db, "gone", stopped=True)
    assert status(client, viewer, campaign)["reason"] == "channel_down"

    beat(db, "alive")
    got = status(client, viewer, campaign)
    assert got["dialling"] is True and got["reason"] is None and got["until"] is None
    assert "1 contacts due" in got["detail"]


def test_outside_the_campaign_window_until_it_opens(
    client: TestClient, admin: Account, supervisor: Account, viewer: Account
) -> None:
    # One hour, three days from today (Paris time): never open now, opening known exactly.
    paris = ZoneInfo("Europe/Paris")
    day = datetime.now(paris).date() + timedelta(days=3)
    window = [{"day": DAYS[day.weekday()], "start": "10:00", "end": "11:00"}]
    schedule = make_schedule(client, admin, "one-hour", window, zone="Europe/Paris")
    campaign = make_campaign(client, admin, "Idle_W", schedule=schedule)
    add(client, supervisor, campaign, us_phone(1))
    start(client, supervisor, campaign)
    got = status(client, viewer, campaign)
    opens = datetime(day.year, day.month, day.day, 10, 0, tzinfo=paris)
    assert got["reason"] == "outside_window" and at(got["until"]) == opens
    assert "Europe/Paris" in got["detail"] and got["pending_due"] == 1

    never = make_schedule(client, admin, "never", [])
    patch = {"schedule_id": never}
    assert client.patch(f"{API}/campaigns/{campaign}", json=patch, headers=admin.headers).is_success
    got = status(client, viewer, campaign)
    assert got["reason"] == "outside_window" and got["until"] is None
    assert "no open window" in got["detail"]


def test_contact_local_window_is_judged_on_the_due_numbers(
    client: TestClient, db: Database, admin: Account, supervisor: Account, viewer: Account
) -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    day = datetime.now(tokyo).date() + timedelta(days=3)
    window = [{"day": DAYS[day.weekday()], "start": "10:00", "end": "11:00"}]
    schedule = make_schedule(client, admin, "local", window, zone="UTC", local=True)
    campaign = make_campaign(client, admin, "Idle_L", schedule=schedule)
    add(client, supervisor, campaign, TOKYO_NUMBER.format(1))
    add(client, supervisor, campaign, TOKYO_NUMBER.format(2))
    start(client, supervisor, campaign)
    beat(db, "alive")
    got = status(client, viewer, campaign)
    assert got["reason"] == "outside_window"
    assert at(got["until"]) == datetime(day.year, day.month, day.day, 10, 0, tzinfo=tokyo)

    patch = {"schedule_id": make_schedule(client, admin, "local-always", ALWAYS, local=True)}
    assert client.patch(f"{API}/campaigns/{campaign}", json=patch, headers=admin.headers).is_success
    assert status(client, viewer, campaign)["dialling"] is True


def test_every_campaign_status_for_the_dashboard(
    client: TestClient, admin: Account, supervisor: Account, viewer: Account, always: int
) -> None:
    first = make_campaign(client, admin, "Dash_1", schedule=always)
    second = make_campaign(client, admin, "Dash_2", schedule=always)
    start(client, supervisor, second)
    r = client.get(f"{API}/campaign-status", headers=viewer.headers)
    assert r.status_code == 200, r.text
    got = [(s["campaign_id"], s["name"], s["reason"]) for s in r.json()]
    assert got == [(first, "Dash_1", "stopped"), (second, "Dash_2", "no_contacts")]
    assert client.get(f"{API}/campaign-status").status_code == 401

    # /campaigns/status is a campaign reference like any other, not the list.
    assert client.get(f"{API}/campaigns/status", headers=viewer.headers).status_code == 404


def test_unknown_campaigns_and_contacts_are_404(client: TestClient, viewer: Account) -> None:
    for path in ("status", "report", "report/timeline"):
        for ref in ("4242", "crm:NOPE", "status"):
            r = client.get(f"{API}/campaigns/{ref}/{path}", headers=viewer.headers)
            assert r.status_code == 404, (path, ref, r.text)
            assert "not found" in r.json()["detail"]
    assert client.get(f"{API}/contacts/4242/attempts", headers=viewer.headers).status_code == 404


SENT = datetime(2025, 3, 1, 9, 10, tzinfo=UTC)


def attempts_of_record(db: Database, campaign: int, contacts: list[int]) -> None:
    """Known attempts: contact 0 busy then connected, 1 three tries, 2 one open, 3 dangling."""
    plan: list[tuple[int, timedelta, Outcome | None, bool]] = [
        (0, timedelta(0), Outcome.BUSY, True),  # 09:10
        (0, timedelta(minutes=40), Outcome.CONNECTED, True),  # 09:50
        (1, timedelta(minutes=55), Outcome.NO_ANSWER, True),  # 10:05
        (1, timedelta(hours=1, minutes=5), Outcome.BUSY, True),  # 10:15
        (1, timedelta(days=1), Outcome.BUSY, True),  # next day 09:10
        (2, timedelta(days=1, hours=1), None, False),  # next day 10:10, no result yet
        (3, timedelta(days=1, hours=2), None, True),  # next day 11:10, dangling
    ]
    numbers: dict[int, int] = {}
    with db.transaction() as session:
        for index, offset, outcome, ended in plan:
            contact = contacts[index]
            numbers[contact] = numbers.get(contact, 0) + 1
            sent = SENT + offset
            session.add(
                Attempt(
                    contact_id=contact,
                    campaign_id=campaign,
                    number=numbers[contact],
                    strategy_position=1,
                    channel=Channel.VOICE,
                    phone_slot=1,
                    phone_number=f"+1650253{index:04d}",
                    sent_at=sent,
                    ended_at=sent + timedelta(seconds=30) if ended else None,
                    outcome=outcome,
                )
            )


def test_report_counts_states_and_outcomes(
    client: TestClient,
    db: Database,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    always: int,
) -> None:
    campaign = make_campaign(client, admin, "Report_A", schedule=always, crm="REP-A")
    ids = [add(client, supervisor, campaign, us_phone(i)) for i in range(5)]
    closed = datetime.now(UTC)
    set_contacts(db, [ids[0]], state=ContactState.CONNECTED, attempt_count=2, closed_at=closed)
    set_contacts(
        db, [ids[1]], state=ContactState.RETRIES_COMPLETED, attempt_count=3, closed_at=closed
    )
    set_contacts(db, [ids[2]], state=ContactState.SENT_TO_DIALER, attempt_count=1)
    set_contacts(db, [ids[3]], state=ContactState.DANGLING, attempt_count=1, closed_at=closed)
    attempts_of_record(db, campaign, ids)
    set_in_flight(db, campaign, 1)

    r = client.get(f"{API}/campaigns/crm:REP-A/report", headers=viewer.headers)
    assert r.status_code == 200, r.text
    got = r.json()
    assert set(got["counts_by_state"]) == {s.value for s in ContactState}
    assert {k: v for k, v in got["counts_by_state"].items() if v} == {
        "pending": 1,
        "connected": 1,
        "retries_completed": 1,
        "sent_to_dialer": 1,
        "dangling": 1,
    }
    assert got["state_labels"]["sent_to_dialer"] == "Sent to Dialer"
    assert set(got["counts_by_outcome"]) >= {o.value for o in Outcome}
    assert {k: v for k, v in got["counts_by_outcome"].items() if v} == {
        "busy": 3,
        "connected": 1,
        "no_answer": 1,
        "in_progress": 1,
        "no_result": 1,
    }
    assert (got["attempts_total"], got["contacts_total"], got["open"], got["closed"]) == (
        7,
        5,
        2,
        3,
    )
    assert got["attempts_per_contact"] == pytest.approx(2.0)  # (2 + 3 + 1) / 3 closed
    assert got["connect_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert got["in_flight"] == 1 and got["since"] is None

    since = "2025-03-02T00:00:00+00:00"
    got = client.get(
        f"{API}/campaigns/{campaign}/report", params={"since": since}, headers=viewer.headers
    ).json()
    assert {k: v for k, v in got["counts_by_outcome"].items() if v} == {
        "busy": 1,
        "in_progress": 1,
        "no_result": 1,
    }
    assert got["attempts_total"] == 3 and got["contacts_total"] == 5
    assert at(got["since"]) == datetime(2025, 3, 2, tzinfo=UTC)


def test_report_of_an_empty_campaign_has_zeros_and_no_rates(
    client: TestClient, admin: Account, viewer: Account, always: int
) -> None:
    campaign = make_campaign(client, admin, "Report_E", schedule=always)
    got = client.get(f"{API}/campaigns/{campaign}/report", headers=viewer.headers).json()
    assert set(got["counts_by_state"].values()) == {0} and got["contacts_total"] == 0
    assert got["attempts_total"] == 0 and got["attempts_per_contact"] is None
    assert got["connect_rate"] is None


def test_timeline_buckets_attempts_by_hour_and_day(
    client: TestClient,
    db: Database,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    always: int,
) -> None:
    campaign = make_campaign(client, admin, "Report_T", schedule=always)
    ids = [add(client, supervisor, campaign, us_phone(i)) for i in range(4)]
    attempts_of_record(db, campaign, ids)
    url = f"{API}/campaigns/{campaign}/report/timeline"

    params = {"bucket": "hour", "since": "2025-03-01T09:30:00Z", "until": "2025-03-01T12:00:00Z"}
    r = client.get(url, params=params, headers=viewer.headers)
    assert r.status_code == 200, r.text
    got = [(at(b["start"]), b["outcomes"], b["total"]) for b in r.json()]
    assert got == [
        (datetime(2025, 3, 1, 9, tzinfo=UTC), {"busy": 1, "connected": 1}, 2),
        (datetime(2025, 3, 1, 10, tzinfo=UTC), {"no_answer": 1, "busy": 1}, 2),
        (datetime(2025, 3, 1, 11, tzinfo=UTC), {}, 0),
    ]

    params = {"bucket": "day", "since": "2025-03-01T00:00:00Z", "until": "2025-03-04T00:00:00Z"}
    got = [
        (at(b["start"]), b["outcomes"])
        for b in client.get(url, params=params, headers=viewer.headers).json()
    ]
    assert got == [
        (datetime(2025, 3, 1, tzinfo=UTC), {"busy": 2, "connected": 1, "no_answer": 1}),
        (datetime(2025, 3, 2, tzinfo=UTC), {"busy": 1, "in_progress": 1, "no_result": 1}),
        (datetime(2025, 3, 3, tzinfo=UTC), {}),
    ]

    recent = client.get(url, headers=viewer.headers).json()  # the last 24 hours: empty
    assert len(recent) in (24, 25) and all(b["total"] == 0 for b in recent)


REFUSED: list[tuple[dict[str, str], str]] = [
    ({"bucket": "hour", "since": "2025-01-01T00:00:00Z", "until": "2025-03-01T00:00:00Z"}, "since"),
    ({"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"}, "since"),
    ({"since": "2025-03-01T00:00:00"}, "since"),  # no time zone
    ({"until": "0001-01-01T00:00:00+01:00"}, "until"),
    ({"bucket": "week"}, "bucket"),
    ({"colour": "red"}, "colour"),
]


def test_timeline_and_report_refuse_what_they_cannot_answer(
    client: TestClient, admin: Account, viewer: Account, always: int
) -> None:
    campaign = make_campaign(client, admin, "Report_R", schedule=always)
    url = f"{API}/campaigns/{campaign}/report"
    cases = [(f"{url}/timeline", p, f) for p, f in REFUSED]
    cases += [
        (url, {"since": "yesterday"}, "since"),
        (url, {"since": "0001-01-01T00:00+01:00"}, "since"),
    ]
    for path, params, field in cases:
        r = client.get(path, params=params, headers=viewer.headers)
        assert r.status_code == 422, (params, r.text)
        assert any(e["loc"][-1] == field for e in r.json()["detail"]), (params, r.text)


def test_contact_attempt_history(
    client: TestClient,
    db: Database,
    admin: Account,
    supervisor: Account,
    viewer: Account,
    always: int,
) -> None:
    campaign = make_campaign(client, admin, "Report_H", schedule=always)
    ids = [add(client, supervisor, campaign, us_phone(i)) for i in range(4)]
    attempts_of_record(db, campaign, ids)
    r = client.get(f"{API}/contacts/{ids[1]}/attempts", headers=viewer.headers)
    assert r.status_code == 200, r.text
    got = [(a["number"], a["outcome"], at(a["sent_at"])) for a in r.json()]
    assert got == [
        (1, "no_answer", SENT + timedelta(minutes=55)),
        (2, "busy", SENT + timedelta(hours=1, minutes=5)),
        (3, "busy", SENT + timedelta(days=1)),
    ]
    open_one = client.get(f"{API}/contacts/{ids[2]}/attempts", headers=viewer.headers).json()
    assert [(a["outcome"], a["ended_at"]) for a in open_one] == [(None, None)]
    assert client.get(f"{API}/contacts/{ids[4 - 1]}/attempts").status_code == 401
