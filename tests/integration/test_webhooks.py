"""Webhooks end to end: the engine on the simulator writes events, a deliverer sends them to
a real HTTP receiver on loopback that refuses each event's first two tries.

Proves: every event arrives and is acknowledged exactly once, in order per contact,
signed; the events say what happened (states, attempt outcomes, CRM ids); per-campaign
and per-type filters hold; a rolled-back transaction leaves no event; on both databases.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outbound.contacts.schemas import ContactCreate
from outbound.contacts.service import add_contact
from outbound.db.engine import Database
from outbound.engine.clock import SystemClock, VirtualClock
from outbound.models import Attempt, Contact, DeliveryStatus, WebhookEvent
from outbound.webhooks import signing
from outbound.webhooks.deliverer import Deliverer, Policy
from tests.clocks import next_monday_9
from tests.conftest import Account
from tests.integration.test_engine_flow import make_engine, run
from tests.integration.webhook_receiver import Receiver, receiving

API = "/api/v1"
START = next_monday_9()  # a Monday 09:00 UTC after today's real time
SECRET_ALL = "secret-for-every-campaign-0001"
SECRET_B = "secret-for-campaign-b-only-002"
# The API stamps events with the wall clock, the engine with the virtual one (days later).
QUICK = Policy(
    timeout=5,
    base=timedelta(seconds=1),
    cap=timedelta(seconds=4),
    max_tries=10,
    max_age=timedelta(days=30),
)
TWO_CALLS = {
    "name": "two-calls",
    "max_attempts": 5,
    "attempts": [
        {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": 10}}},
        {"channel": "voice"},
    ],
}
ALWAYS = {
    "name": "always",
    "time_zone": "UTC",
    "windows": [
        {"day": d, "start": "00:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ],
}


def _post(client: TestClient, admin: Account, path: str, body: dict[str, Any]) -> Any:
    response = client.post(f"{API}{path}", json=body, headers=admin.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


def make_campaign(
    client: TestClient, admin: Account, name: str, crm: str, strategy: int, schedule: int
) -> int:
    body = {
        "name": name,
        "type": "agent",
        "crm_campaign_id": crm,
        "dialer_target": "sales",
        "agent_script": f"Hello, this is {name}.",
        "max_concurrent_calls": 50,
        "max_calls_per_second": 50,
        "strategy_id": strategy,
        "schedule_id": schedule,
    }
    return int(_post(client, admin, "/campaigns", body)["id"])


def upload(client: TestClient, admin: Account, campaign: int, phones: list[str]) -> Any:
    contacts = [{"phone1": p, "crm_contact_id": f"CRM-{p[-4:]}"} for p in phones]
    return _post(client, admin, f"/campaigns/{campaign}/imports/batch", {"contacts": contacts})


def subscribe(client: TestClient, admin: Account, url: str, **body: Any) -> Any:
    return _post(client, admin, "/webhooks", {"url": url, **body})


def deliver_all(db: Database, clock: VirtualClock, policy: Policy = QUICK) -> None:
    """Run a deliverer on the virtual clock until no event is pending."""
    deliverer = Deliverer(db, clock=clock, policy=policy, seed=3)
    try:
        for _ in range(500):
            deliverer.step()
            with db.transaction() as session:
                pending = session.scalar(
                    select(func.count())
                    .select_from(WebhookEvent)
                    .where(WebhookEvent.status == DeliveryStatus.PENDING)
                )
            if not pending:
                return
            clock.advance(policy.cap)
        raise AssertionError("events still pending after 500 rounds")
    finally:
        deliverer.close()


def events(db: Database) -> list[WebhookEvent]:
    with db.transaction() as session:
        rows = list(session.scalars(select(WebhookEvent).order_by(WebhookEvent.id)))
        session.expunge_all()
    return rows


def assert_in_order(receiver: Receiver, rows: list[WebhookEvent]) -> None:
    """No request for a contact's event before every earlier event of it (for the same
    subscription) was acknowledged."""
    earlier: dict[int, list[int]] = {}
    stream: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    for row in rows:
        key = (row.subscription_id, row.contact_id)
        earlier[row.id] = list(stream[key])
        stream[key].append(row.id)
    acked: set[int] = set()
    for request in receiver.requests:
        missing = [e for e in earlier[request.event_id] if e not in acked]
        assert missing == [], f"event {request.event_id} sent before {missing} were acknowledged"
        if request.answered == 200:
            acked.add(request.event_id)


def test_every_event_arrives_once_acknowledged_in_order_and_signed(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = _post(client, admin, "/strategies", TWO_CALLS)["id"]
    schedule = _post(client, admin, "/schedules", ALWAYS)["id"]
    camp_a = make_campaign(client, admin, "webhook-a", "CAMP-A", strategy, schedule)
    camp_b = make_campaign(client, admin, "webhook-b", "CAMP-B", strategy, schedule)
    with receiving(fail_first=2) as receiver:
        sub_all = subscribe(client, admin, receiver.url, secret=SECRET_ALL)
        sub_b = subscribe(
            client,
            admin,
            receiver.url,
            secret=SECRET_B,
            campaign_id=camp_b,
            events=["contact.state_changed"],
        )
        # On the DNC list before the upload: created closed (an import event).
        _post(client, admin, "/dnc", {"number": "+14155550778"})
        phones_a = [
            "+14155550200",  # connected
            "+14155550486",  # busy, then busy again
            "+14155550404",  # invalid: closed
            "+14155550480",  # no answer twice
            "+14155550603",  # declined
            "+14155550777",  # put on the DNC list after the upload: closed at the gate
            "+14155550778",  # DNC listed at the upload
            "+14155550999",  # never answers: Dangling after the timeout (a sweep)
        ]
        assert upload(client, admin, camp_a, phones_a)["rows_dnc"] == 1
        assert upload(client, admin, camp_b, ["+14155551200", "+14155551486"])["rows_dnc"] == 0
        _post(client, admin, "/dnc", {"number": "+14155550777"})
        # Added one by one while listed: created closed (a contacts-service event).
        _post(client, admin, f"/campaigns/{camp_b}/contacts", {"phone1": "+14155550777"})
        # SMS on the Default strategy: a reply, a STOP, and silence until the expiry (a sweep).
        camp_c = _post(
            client,
            admin,
            "/campaigns",
            {
                "name": "webhook-c",
                "type": "sms",
                "crm_campaign_id": "CAMP-C",
                "sms_template": "Hi",
                "schedule_id": schedule,
            },
        )["id"]
        upload(client, admin, camp_c, ["+14155552555", "+14155552556", "+14155552000"])
        for campaign in (camp_a, camp_b, camp_c):
            _post(client, admin, f"/campaigns/{campaign}/start", {})
        clock = VirtualClock(START)
        run(make_engine(db, clock), clock, until=START + timedelta(hours=26))
        deliver_all(db, clock)

    rows = events(db)
    assert rows, "the engine wrote no event"
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    assert {r.tries for r in rows} == {3}  # two refusals, then the acknowledgement
    # Exactly once acknowledged, every event, and nothing the outbox does not hold.
    assert receiver.acknowledged() == {r.id: 1 for r in rows}
    assert all(n == 3 for n in receiver.tries.values())
    assert_in_order(receiver, rows)

    secrets = {sub_all["id"]: SECRET_ALL, sub_b["id"]: SECRET_B}
    by_id = {r.id: r for r in rows}
    for request in receiver.requests:
        sub = by_id[request.event_id].subscription_id
        stamp = request.headers["x-outbound-timestamp"]
        header = request.headers["x-outbound-signature"]
        assert header.startswith("sha256=")
        assert signing.verify(
            secrets[sub], body=request.body, timestamp=stamp, header=header, now=int(stamp)
        )
        other = SECRET_B if sub == sub_all["id"] else SECRET_ALL
        assert not signing.verify(
            other, body=request.body, timestamp=stamp, header=header, now=int(stamp)
        )
        # A replay later than the tolerance is refused even with the right signature.
        assert not signing.verify(
            secrets[sub], body=request.body, timestamp=stamp, header=header, now=int(stamp) + 301
        )
        assert request.payload["event_id"] == request.event_id

    with db.transaction() as session:
        contacts = {
            c.id: (c.phone1_e164, c.campaign_id, c.state.value, c.crm_contact_id)
            for c in session.scalars(select(Contact))
        }
        attempts: dict[int, list[int]] = defaultdict(list)
        final_outcome: dict[int, str | None] = {}
        for a in session.scalars(select(Attempt).order_by(Attempt.id)):
            attempts[a.contact_id].append(a.id)
            final_outcome[a.id] = a.outcome.value if a.outcome else None
    delivered = {r.event_id: r.payload for r in receiver.requests if r.answered == 200}

    # Subscription for every campaign: each contact's story as it happened.
    mine = [delivered[r.id] for r in rows if r.subscription_id == sub_all["id"]]
    states: dict[int, list[str]] = defaultdict(list)
    outcomes: dict[int, list[str]] = defaultdict(list)  # attempt id -> outcomes told
    for event in mine:
        number, campaign, _, crm = contacts[event["contact_id"]]
        assert event["campaign_id"] == campaign
        crm_campaign = {camp_a: "CAMP-A", camp_b: "CAMP-B", camp_c: "CAMP-C"}[campaign]
        assert event["crm_campaign_id"] == crm_campaign
        assert event["crm_contact_id"] == crm == f"CRM-{number[-4:]}" or number.endswith("0777")
        if event["type"] == "contact.state_changed":
            states[event["contact_id"]].append(event["state"])
        else:
            assert event["type"] == "attempt.result"
            assert event["attempt"]["phone_number"] == number
            assert event["attempt"]["id"] in attempts[event["contact_id"]]
            outcomes[event["attempt"]["id"]].append(event["outcome"])
    assert set(states) == set(contacts)  # every contact changed state at least once
    for contact_id, (number, _, final, _) in contacts.items():
        story = states[contact_id]
        assert story[-1] == final, (number, story)
        assert story.count("sent_to_dialer") == len(attempts[contact_id]), (number, story)
        # Each attempt with a result told it; an SMS also its receipt, then the reply.
        told = {a: outcomes[a][-1] for a in attempts[contact_id] if a in outcomes}
        assert told == {
            a: final_outcome[a] for a in attempts[contact_id] if final_outcome[a] is not None
        }, number
    by_number = {
        number: states[cid] for cid, (number, camp, _, _) in contacts.items() if camp == camp_a
    }
    assert by_number["+14155550200"] == ["sent_to_dialer", "connected"]
    assert by_number["+14155550404"] == ["sent_to_dialer", "not_connected"]
    assert by_number["+14155550777"] == ["dnc_listed"]
    assert by_number["+14155550778"] == ["dnc_listed"]
    assert by_number["+14155550999"] == ["sent_to_dialer", "dangling"]
    sms = {number: states[cid] for cid, (number, camp, _, _) in contacts.items() if camp == camp_c}
    assert sms["+14155552555"] == ["sent_to_dialer", "sms_sent", "sms_responded"]
    assert sms["+14155552556"] == ["sent_to_dialer", "sms_sent", "dnc_listed"]  # STOP
    assert sms["+14155552000"] == ["sent_to_dialer", "sms_sent", "retries_completed"]

    # Subscription for campaign B, state changes only.
    theirs = [delivered[r.id] for r in rows if r.subscription_id == sub_b["id"]]
    assert theirs and {e["type"] for e in theirs} == {"contact.state_changed"}
    assert {e["campaign_id"] for e in theirs} == {camp_b}
    assert len(theirs) == sum(
        1 for e in mine if e["campaign_id"] == camp_b and e["type"] == "contact.state_changed"
    )


def test_a_rolled_back_change_leaves_no_event(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = _post(client, admin, "/strategies", TWO_CALLS)["id"]
    schedule = _post(client, admin, "/schedules", ALWAYS)["id"]
    campaign = make_campaign(client, admin, "webhook-rb", "CAMP-RB", strategy, schedule)
    subscribe(client, admin, "http://127.0.0.1:9/never")
    _post(client, admin, "/dnc", {"number": "+14155550777"})
    now = datetime.now(UTC)

    def count() -> int:
        with db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)

    with pytest.raises(RuntimeError), db.transaction() as session:
        add_contact(session, str(campaign), ContactCreate(phone1="+14155550777"), now=now)
        written = session.scalar(select(func.count()).select_from(WebhookEvent))
        assert written == 1  # the event was in the transaction ...
        raise RuntimeError("the request failed after the change")
    assert count() == 0  # ... and went with it
    with db.transaction() as session:
        add_contact(session, str(campaign), ContactCreate(phone1="+14155550777"), now=now)
    assert count() == 1


def test_no_subscription_no_event_and_paused_ones_get_none(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = _post(client, admin, "/strategies", TWO_CALLS)["id"]
    schedule = _post(client, admin, "/schedules", ALWAYS)["id"]
    campaign = make_campaign(client, admin, "webhook-none", "CAMP-N", strategy, schedule)
    subscribe(client, admin, "http://127.0.0.1:9/never", active=False)
    upload(client, admin, campaign, ["+14155550200", "+14155550486"])
    _post(client, admin, f"/campaigns/{campaign}/start", {})
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=2))
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Attempt)) >= 2
        assert session.scalar(select(func.count()).select_from(WebhookEvent)) == 0


class Shifted(SystemClock):
    """The wall clock's pace, from a given moment on."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


def test_two_deliverers_share_the_outbox_without_sending_twice(
    client: TestClient, admin: Account, db: Database
) -> None:
    """Like two processes (threads here, each with its own connections): claims are leased
    and skip locked rows; a contact's events still go one after the other."""
    strategy = _post(client, admin, "/strategies", TWO_CALLS)["id"]
    schedule = _post(client, admin, "/schedules", ALWAYS)["id"]
    campaign = make_campaign(client, admin, "webhook-two", "CAMP-2", strategy, schedule)
    with receiving(fail_first=1) as receiver:
        subscribe(client, admin, receiver.url, secret=SECRET_ALL)
        phones = [f"+1415555{i:04d}" for i in range(1200, 1230)]
        upload(client, admin, campaign, phones)
        _post(client, admin, f"/campaigns/{campaign}/start", {})
        clock = VirtualClock(START)
        run(make_engine(db, clock), clock, until=START + timedelta(hours=1))
        policy = Policy(
            timeout=5,
            batch=8,
            concurrency=4,
            base=timedelta(milliseconds=10),
            cap=timedelta(milliseconds=40),
            idle_seconds=0.01,
        )
        later = Shifted(START + timedelta(hours=2))  # real time, after the engine's events
        workers = [Deliverer(db, clock=later, policy=policy, seed=i) for i in (1, 2)]
        threads = [threading.Thread(target=w.run) for w in workers]
        for thread in threads:
            thread.start()
        try:
            done = threading.Event()
            for _ in range(3000):
                with db.transaction() as session:
                    pending = session.scalar(
                        select(func.count())
                        .select_from(WebhookEvent)
                        .where(WebhookEvent.status == DeliveryStatus.PENDING)
                    )
                if not pending:
                    break
                done.wait(0.02)
        finally:
            for w in workers:
                w.stop()
            for thread in threads:
                thread.join(30)
            for w in workers:
                w.close()
    rows = events(db)
    assert len(rows) >= 60  # sent and a result for each of 30 contacts, at least
    assert {r.status for r in rows} == {DeliveryStatus.DELIVERED}
    assert receiver.acknowledged() == {r.id: 1 for r in rows}
    assert_in_order(receiver, rows)
