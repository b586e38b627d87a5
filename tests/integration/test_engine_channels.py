"""Each channel's capacity holds back only the attempts on that channel.

A down SMS gateway (an unbound SMPP session reports no capacity) must not stop the calls,
and a down dialer must not stop the messages; inside one campaign, contacts whose next
attempt needs the down channel must not keep those of the other channel waiting. "Why
idle" blames the down channel only for the campaigns whose due contacts need it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Channel
from tests.conftest import Account
from tests.integration.test_engine_flow import API, SMS_CERTAIN, START, states

ALWAYS = {
    "time_zone": "UTC",
    "windows": [
        {"day": d, "start": "00:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ],
}
CALL = {"max_attempts": 1, "attempts": [{"channel": "voice"}]}
TEXT = {"max_attempts": 1, "attempts": [{"channel": "sms"}]}
CALL_THEN_TEXT = {"max_attempts": 2, "attempts": [{"channel": "voice"}, {"channel": "sms"}]}


def campaign(
    client: TestClient, admin: Account, name: str, strategy: dict[str, Any], phones: list[str]
) -> int:
    """A started campaign (always open) with these contacts, imported in this order."""
    made = client.post(f"{API}/strategies", json={"name": name, **strategy}, headers=admin.headers)
    assert made.status_code == 201, made.text
    schedule = client.post(f"{API}/schedules", json={"name": name, **ALWAYS}, headers=admin.headers)
    assert schedule.status_code == 201, schedule.text
    body = {
        "name": name,
        "type": "agent",
        "dialer_target": "sales",
        "max_concurrent_calls": 50,
        "max_calls_per_second": 50,
        "sms_template": "Hello",
        "strategy_id": made.json()["id"],
        "schedule_id": schedule.json()["id"],
    }
    created = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    campaign_id = int(created.json()["id"])
    batch = client.post(
        f"{API}/campaigns/{campaign_id}/imports/batch",
        json={"contacts": [{"phone1": p} for p in phones]},
        headers=admin.headers,
    )
    assert batch.status_code == 201 and batch.json()["rows_imported"] == len(phones), batch.text
    started = client.post(f"{API}/campaigns/{campaign_id}/start", headers=admin.headers)
    assert started.status_code == 200, started.text
    return campaign_id


def engine(
    db: Database, clock: VirtualClock, *, dialer_up: bool, sms_up: bool, lines: int = 50
) -> Engine:
    dialer = build_dialer("simulator", {"seed": 7, "jitter": 0, "capacity": lines}, clock)
    sms = build_sms_gateway("simulator", {"seed": 7, **SMS_CERTAIN}, clock, db)
    if not dialer_up:
        dialer.close()  # takes nothing, like a dialer whose peer is gone
    if not sms_up:
        sms.close()  # takes nothing, like an SMPP gateway that is not bound
    timing = Timing(idle=timedelta(hours=1))
    built = Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="test-worker", timing=timing)
    built.register()
    return built


def status(client: TestClient, who: Account, campaign_id: int) -> dict[str, Any]:
    got = client.get(f"{API}/campaigns/{campaign_id}/status", headers=who.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def attempts(db: Database, campaign_id: int) -> dict[str, Channel]:
    """Number -> the channel of its attempt, for the contacts given one."""
    with db.transaction() as session:
        rows = session.execute(
            select(Attempt.phone_number, Attempt.channel).where(Attempt.campaign_id == campaign_id)
        ).all()
    return {number: channel for number, channel in rows}


VOICE = ["+14155550131", "+14155550132", "+14155550133"]
TEXTED = ["+14155550141", "+14155550142", "+14155550143"]


def test_calls_go_out_while_the_sms_gateway_is_down(
    client: TestClient, admin: Account, viewer: Account, db: Database
) -> None:
    calls = campaign(client, admin, "calls", CALL, VOICE)
    texts = campaign(client, admin, "texts", TEXT, TEXTED)
    clock = VirtualClock(START)
    running = engine(db, clock, dialer_up=True, sms_up=False)
    running.step()

    assert attempts(db, calls) == dict.fromkeys(VOICE, Channel.VOICE)
    assert set(states(db, calls).values()) == {ContactState.SENT_TO_DIALER}
    # The messages wait for the gateway, not lost and not failed.
    assert attempts(db, texts) == {}
    assert set(states(db, texts).values()) == {ContactState.PENDING}

    waiting = status(client, viewer, texts)
    assert waiting["reason"] == "channel_down" and "SMS gateway" in waiting["detail"]
    assert waiting["pending_due"] == len(TEXTED)
    assert status(client, viewer, calls)["reason"] != "channel_down"
    running.close_channels()


def test_messages_go_out_while_the_dialer_is_down(
    client: TestClient, admin: Account, viewer: Account, db: Database
) -> None:
    calls = campaign(client, admin, "calls", CALL, VOICE)
    texts = campaign(client, admin, "texts", TEXT, TEXTED)
    clock = VirtualClock(START)
    running = engine(db, clock, dialer_up=False, sms_up=True)
    running.step()

    assert attempts(db, texts) == dict.fromkeys(TEXTED, Channel.SMS)
    assert ContactState.PENDING not in set(states(db, texts).values())
    assert attempts(db, calls) == {}
    assert set(states(db, calls).values()) == {ContactState.PENDING}

    waiting = status(client, viewer, calls)
    assert waiting["reason"] == "channel_down" and "dialer" in waiting["detail"]
    assert status(client, viewer, texts)["reason"] != "channel_down"
    running.close_channels()


def test_contacts_due_a_message_do_not_hold_back_calls_of_their_campaign(
    client: TestClient, admin: Account, viewer: Account, db: Database
) -> None:
    """The first contacts in the campaign's order are due an SMS (their call was made);
    with the gateway down and two free lines, the two contacts due a call are dialled."""
    both = campaign(client, admin, "both", CALL_THEN_TEXT, [*TEXTED, *VOICE[:2]])
    with db.transaction() as session:
        session.execute(
            update(Contact)
            .where(Contact.campaign_id == both, Contact.phone1_e164.in_(TEXTED))
            .values(next_position=2)
        )
    clock = VirtualClock(START)
    running = engine(db, clock, dialer_up=True, sms_up=False, lines=2)
    # Some of its due contacts need the down SMS gateway, not all: it is not idle.
    assert status(client, viewer, both)["reason"] is None
    running.step()

    assert attempts(db, both) == dict.fromkeys(VOICE[:2], Channel.VOICE)
    final = states(db, both)
    assert {final[p] for p in TEXTED} == {ContactState.PENDING}
    # Now every contact due waits for the SMS gateway.
    assert status(client, viewer, both)["reason"] == "channel_down"
    running.close_channels()
