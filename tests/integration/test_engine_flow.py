"""The engine end to end on the simulator and a virtual clock, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt, Contact
from tests.clocks import next_monday_9
from tests.conftest import Account

API = "/api/v1"
START = next_monday_9()  # a Monday 09:00 UTC after today's real time
# No random SMS failures or replies: only the numbers' own codes (555 reply, 556 STOP) act.
SMS_CERTAIN = {
    "reject_probability": 0,
    "delivery_probability": 1,
    "reply_probability": 0,
    "stop_probability": 0,
}


def make_engine(db: Database, clock: VirtualClock, **options: Any) -> Engine:
    dialer = build_dialer("simulator", {"seed": 7, "jitter": 0, **options}, clock)
    sms = build_sms_gateway("simulator", {"seed": 7, **SMS_CERTAIN}, clock)
    timing = Timing(idle=timedelta(hours=1))
    return Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="test-worker", timing=timing)


def run(engine: Engine, clock: VirtualClock, *, until: datetime) -> None:
    engine.register()
    steps = 0
    while clock.now() < until:
        steps += 1
        assert steps < 5000, "the engine does not advance"
        clock.sleep_until(engine.step())


def setup_campaign(
    client: TestClient,
    admin: Account,
    *,
    strategy: dict[str, Any] | None,
    schedule: dict[str, Any] | None = None,
    phones: list[str],
    kind: str = "agent",
) -> int:
    """A started campaign with these contacts; no strategy means the built-in Default."""
    body: dict[str, Any] = {
        "name": "engine-test",
        "type": kind,
        "dialer_target": "sales",
        "max_concurrent_calls": 50,
        "max_calls_per_second": 50,
        "sms_template": "Hello {param1}",
    }
    if strategy is not None:
        created = client.post(f"{API}/strategies", json=strategy, headers=admin.headers)
        assert created.status_code == 201, created.text
        body["strategy_id"] = created.json()["id"]
    if schedule is not None:
        sc = client.post(f"{API}/schedules", json=schedule, headers=admin.headers)
        assert sc.status_code == 201, sc.text
        body["schedule_id"] = sc.json()["id"]
    else:
        always = {
            "name": "always",
            "time_zone": "UTC",
            "windows": [
                {"day": d, "start": "00:00", "end": "24:00"}
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ],
        }
        body["schedule_id"] = client.post(
            f"{API}/schedules", json=always, headers=admin.headers
        ).json()["id"]
    c = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    assert c.status_code == 201, c.text
    campaign = c.json()["id"]
    batch = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": p} for p in phones]},
        headers=admin.headers,
    )
    assert batch.json()["rows_imported"] == len(phones), batch.text
    assert (
        client.post(f"{API}/campaigns/{campaign}/start", headers=admin.headers).status_code == 200
    )
    return int(campaign)


def states(db: Database, campaign: int) -> dict[str, ContactState]:
    with db.transaction() as session:
        rows = session.execute(
            select(Contact.phone1_e164, Contact.state).where(Contact.campaign_id == campaign)
        ).all()
    return {p: s for p, s in rows}


def test_each_outcome_follows_the_strategy(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = {
        "name": "two-calls",
        "max_attempts": 5,
        "attempts": [
            {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": 10}}},
            {"channel": "voice"},
        ],
    }
    phones = ["+14155550200", "+14155550486", "+14155550404", "+14155550480", "+14155550603"]
    campaign = setup_campaign(client, admin, strategy=strategy, phones=phones)
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=4))
    final = states(db, campaign)
    assert final["+14155550200"] is ContactState.CONNECTED
    assert final["+14155550404"] is ContactState.NOT_CONNECTED  # invalid: close
    assert final["+14155550603"] is ContactState.NOT_CONNECTED  # declined: close
    # busy twice (attempt 1 then 2), no answer twice: both attempts used up.
    assert final["+14155550486"] is ContactState.RETRIES_COMPLETED
    assert final["+14155550480"] is ContactState.RETRIES_COMPLETED
    with db.transaction() as session:
        busy = session.scalars(
            select(Attempt).where(Attempt.phone_number == "+14155550486").order_by(Attempt.id)
        ).all()
    assert [a.outcome.value for a in busy if a.outcome] == ["busy", "busy"]
    assert busy[1].sent_at - busy[0].sent_at >= timedelta(minutes=10)
    assert busy[0].raw_result == "486 Busy Here"


def test_busy_switches_to_sms_which_waits_for_its_expiry(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = {
        "name": "busy-sms",
        "max_attempts": 3,
        "attempts": [
            {"channel": "voice", "rules": {"busy": {"action": "next", "delay_minutes": 1}}},
            {"channel": "sms", "sms_template": "We tried to call you", "sms_expiry_minutes": 60},
        ],
    }
    # 486 busy then SMS; the SMS simulator answers numbers ending 555 with a reply.
    campaign = setup_campaign(client, admin, strategy=strategy, phones=["+14155550486"])
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=3))
    assert states(db, campaign)["+14155550486"] is ContactState.RETRIES_COMPLETED
    with db.transaction() as session:
        attempts = session.scalars(select(Attempt).order_by(Attempt.id)).all()
    assert [(a.channel.value, a.outcome.value if a.outcome else None) for a in attempts] == [
        ("voice", "busy"),
        ("sms", "sms_expired"),  # delivered, then no reply within its 60 minutes
    ]
    assert attempts[1].sent_at - attempts[0].ended_at >= timedelta(minutes=1)


def test_nothing_is_dialled_outside_the_window(
    client: TestClient, admin: Account, db: Database
) -> None:
    schedule = {
        "name": "late",
        "time_zone": "UTC",
        "windows": [{"day": "mon", "start": "12:00", "end": "13:00"}],
    }
    strategy = {"name": "one", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
    campaign = setup_campaign(
        client, admin, strategy=strategy, schedule=schedule, phones=["+14155550200"]
    )
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=5))
    with db.transaction() as session:
        sent = session.scalars(select(Attempt.sent_at)).all()
    assert len(sent) == 1
    assert START + timedelta(hours=3) <= sent[0] < START + timedelta(hours=4)
    assert states(db, campaign)["+14155550200"] is ContactState.CONNECTED


def test_a_dnc_number_added_while_running_is_never_dialled(
    client: TestClient, admin: Account, db: Database
) -> None:
    strategy = {"name": "one", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
    campaign = setup_campaign(client, admin, strategy=strategy, phones=["+14155550200"])
    client.post(f"{API}/dnc", json={"number": "+14155550200"}, headers=admin.headers)
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=1))
    assert states(db, campaign)["+14155550200"] is ContactState.DNC_LISTED
    with db.transaction() as session:
        assert session.scalars(select(Attempt)).all() == []


def test_no_result_means_dangling_and_no_redial(
    client: TestClient, admin: Account, db: Database
) -> None:
    client.patch(f"{API}/settings", json={"dangling_timeout_minutes": 5}, headers=admin.headers)
    strategy = {"name": "retrying", "max_attempts": 5, "attempts": [{"channel": "voice"}]}
    campaign = setup_campaign(client, admin, strategy=strategy, phones=["+14155550999"])
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=2))
    assert states(db, campaign)["+14155550999"] is ContactState.DANGLING
    with db.transaction() as session:
        assert len(session.scalars(select(Attempt)).all()) == 1


def test_sms_campaign_replies_stop_and_expiry(
    client: TestClient, admin: Account, db: Database
) -> None:
    phones = ["+14155550555", "+14155550556", "+14155550200"]
    campaign = setup_campaign(client, admin, strategy=None, phones=phones, kind="sms")
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=25))
    final = states(db, campaign)
    assert final["+14155550555"] is ContactState.SMS_RESPONDED
    assert final["+14155550556"] is ContactState.DNC_LISTED
    assert final["+14155550200"] is ContactState.RETRIES_COMPLETED  # no reply within a day
    check = client.get(f"{API}/dnc/check", params={"number": "+14155550556"}, headers=admin.headers)
    assert check.json()["listed"] is True


def test_an_sms_without_reply_records_its_expiry_and_the_report_counts_it(
    client: TestClient, admin: Account, db: Database
) -> None:
    """Issue 12 item 10: the expiry was never recorded on the attempt (report: 0)."""
    strategy = {
        "name": "sms-expiring",
        "max_attempts": 2,
        "attempts": [
            {"channel": "sms", "sms_template": "Hi", "sms_expiry_minutes": 30},
            {"channel": "sms", "sms_template": "Hi again", "sms_expiry_minutes": 30},
        ],
    }
    # 200 and 201: delivered, never answered; 555 answers at once.
    phones = ["+14155550200", "+14155550201", "+14155550555"]
    campaign = setup_campaign(client, admin, strategy=strategy, phones=phones, kind="sms")
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=2))

    final = states(db, campaign)
    assert final["+14155550200"] is ContactState.RETRIES_COMPLETED
    assert final["+14155550555"] is ContactState.SMS_RESPONDED
    with db.transaction() as session:
        rows = session.execute(
            select(Attempt.phone_number, Attempt.outcome, Attempt.raw_result).order_by(Attempt.id)
        ).all()
    by_number: dict[str, list[tuple[str | None, str | None]]] = {}
    for number, outcome, raw in rows:
        by_number.setdefault(number, []).append((outcome.value if outcome else None, raw))
    # Each unanswered SMS expired (the next one was sent after the first expired); the
    # delivery receipt it had stays readable.
    for number in ("+14155550200", "+14155550201"):
        assert [o for o, _ in by_number[number]] == ["sms_expired", "sms_expired"]
        assert all(raw for _, raw in by_number[number])
    assert by_number["+14155550555"] == [("sms_reply", "reply: YES")]

    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers)
    assert report.status_code == 200, report.text
    counts = report.json()["counts_by_outcome"]
    assert (counts["sms_expired"], counts["sms_reply"], counts["sms_delivered"]) == (4, 1, 0)


def _attempts(db: Database, campaign: int) -> dict[str, list[Attempt]]:
    with db.transaction() as session:
        rows = session.scalars(
            select(Attempt).where(Attempt.campaign_id == campaign).order_by(Attempt.id)
        ).all()
        session.expunge_all()
    found: dict[str, list[Attempt]] = {}
    for row in rows:
        found.setdefault(row.phone_number, []).append(row)
    return found


def test_a_connected_call_longer_than_the_dangling_timeout_ends_connected(
    client: TestClient, admin: Account, db: Database
) -> None:
    """Answered 20 s after the dial, then two hours of talk with a one-hour dangling timeout:
    the contact is Connected from the answer, and the attempt keeps the call's end."""
    client.patch(f"{API}/settings", json={"dangling_timeout_minutes": 60}, headers=admin.headers)
    strategy = {"name": "one-call", "max_attempts": 3, "attempts": [{"channel": "voice"}]}
    campaign = setup_campaign(client, admin, strategy=strategy, phones=["+14155550200"])
    clock = VirtualClock(START)
    engine = make_engine(db, clock, latency={"connected": 20}, talk_seconds=7200)
    run(engine, clock, until=START + timedelta(hours=4))
    assert states(db, campaign) == {"+14155550200": ContactState.CONNECTED}
    (call,) = _attempts(db, campaign)["+14155550200"]
    assert call.outcome is not None and call.outcome.value == "connected"
    assert call.answered_at == call.sent_at + timedelta(seconds=20)
    assert call.ended_at == call.answered_at + timedelta(hours=2)
    assert call.raw_result == "200 OK; hung up after 7200 s"
    with db.transaction() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.closed_at == call.answered_at  # closed at the answer, not the end
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    assert {k: v for k, v in report["counts_by_outcome"].items() if v} == {"connected": 1}


def test_a_result_after_the_dangling_timeout_is_kept_and_never_redialled(
    client: TestClient, admin: Account, db: Database
) -> None:
    """A busy and an answer that come two hours after the dial, with a one-hour timeout: the
    contacts went Dangling and stay so (busy would otherwise dial again after 60 min), and the
    attempts and the report say what the dialer did report."""
    client.patch(f"{API}/settings", json={"dangling_timeout_minutes": 60}, headers=admin.headers)
    strategy = {
        "name": "busy-retries",
        "max_attempts": 5,
        "attempts": [{"channel": "voice", "rules": {"busy": {"action": "retry"}}}],
    }
    phones = ["+14155550486", "+14155550200"]
    campaign = setup_campaign(client, admin, strategy=strategy, phones=phones)
    clock = VirtualClock(START)
    engine = make_engine(db, clock, latency={"busy": 7200, "connected": 7200})
    run(engine, clock, until=START + timedelta(hours=5))
    assert states(db, campaign) == {p: ContactState.DANGLING for p in phones}
    made = _attempts(db, campaign)
    assert {p: len(a) for p, a in made.items()} == {p: 1 for p in phones}  # never redialled
    (busy,), (answered,) = made["+14155550486"], made["+14155550200"]
    assert busy.outcome is not None and busy.outcome.value == "busy"
    assert busy.raw_result == "486 Busy Here"
    assert busy.ended_at == busy.sent_at + timedelta(hours=2)
    assert answered.outcome is not None and answered.outcome.value == "connected"
    assert answered.answered_at == answered.sent_at + timedelta(hours=2)
    assert answered.ended_at is not None and answered.ended_at > answered.answered_at
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    assert {k: v for k, v in report["counts_by_state"].items() if v} == {"dangling": 2}
    assert {k: v for k, v in report["counts_by_outcome"].items() if v} == {
        "busy": 1,
        "connected": 1,
    }
    # The contacts say the same as the report: Dangling, with the outcome that came late.
    shown = _contacts_api(client, admin, campaign)
    assert {p: (c["state"], c["last_outcome"]) for p, c in shown.items()} == {
        "+14155550486": ("dangling", "busy"),
        "+14155550200": ("dangling", "connected"),
    }


def _contacts_api(client: TestClient, admin: Account, campaign: int) -> dict[str, Any]:
    """The contacts as the contacts API (and so the contacts page) shows them, by number."""
    answer = client.get(f"{API}/campaigns/{campaign}/contacts", headers=admin.headers)
    assert answer.status_code == 200, answer.text
    return {row["phone1_e164"]: row for row in answer.json()["items"]}


@pytest.mark.parametrize(
    ("mode", "state"), [("await_reply", "sms_sent"), ("send_and_close", "sms_sent_closed")]
)
def test_a_delivery_receipt_becomes_the_contacts_last_outcome(
    client: TestClient, admin: Account, db: Database, mode: str, state: str
) -> None:
    """Issue 13: the receipt marked the attempt ``sms_delivered`` while the contact kept
    ``sms_accepted``, so the contacts page and the campaign report disagreed. Whether the
    contact waits for a reply (a day's expiry) or was sent and closed."""
    attempt = {"channel": "sms", "sms_template": "Hi", "sms_expiry_minutes": 1440}
    strategy = {"name": "sms-receipts", "max_attempts": 1, "attempts": [attempt]}
    attempt["sms_mode"] = mode
    number = "+14155550200"  # delivered, never answered
    campaign = setup_campaign(client, admin, strategy=strategy, phones=[number], kind="sms")
    clock = VirtualClock(START)
    run(make_engine(db, clock), clock, until=START + timedelta(hours=1))

    (sent,) = _attempts(db, campaign)[number]
    assert sent.outcome is not None and sent.outcome.value == "sms_delivered"
    contact = _contacts_api(client, admin, campaign)[number]
    assert (contact["state"], contact["last_outcome"]) == (state, "sms_delivered")
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    assert {k: v for k, v in report["counts_by_outcome"].items() if v} == {"sms_delivered": 1}
