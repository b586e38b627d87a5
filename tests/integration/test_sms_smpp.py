"""The ``smpp`` SMS gateway against a real SMPP 3.4 peer (an SMSC on PyPI ``smpp34``),
driven by the real engine on both databases.

The simulator (tests/peers/smsc.py) decides by the destination's last digits; it counts
every submit_sm it received, so each test proves no message went out twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.channels.registry import build_sms_gateway
from outbound.channels.smpp.gateway import UNCONFIRMED
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import SystemClock
from outbound.models import DncEntry
from outbound.settings.service import get_settings
from outbound.strategies.outcomes import Outcome
from tests.conftest import Account
from tests.integration.sms_helpers import (
    ShiftedClock,
    attempts_by_number,
    contact_of,
    dnc_listed,
    drive,
    engine_for,
    free_port,
    reached,
    sms_campaign,
)
from tests.integration.test_engine_flow import states
from tests.peers.smsc import Smsc
from tests.peers.tcpcut import Cutter

API = "/api/v1"


@pytest.fixture
def smsc_port() -> int:
    return free_port()


@pytest.fixture
def smsc(smsc_port: int) -> Iterator[Smsc]:
    sim = Smsc(smsc_port).start()
    yield sim
    sim.stop()


def options(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "system_id": "outbound",
        "password": "secret",
        "source_addr": "ACME",
        "retry_delay_seconds": 0.1,
        "reconnect_min_seconds": 0.1,
        "reconnect_max_seconds": 0.5,
        **extra,
    }


def outcomes_settled(db: Database, numbers: list[str]) -> Callable[[], bool]:
    """Every number's attempt has its final outcome (a receipt, a refusal or a reply)."""
    final = {Outcome.SMS_DELIVERED, Outcome.SMS_FAILED, Outcome.SMS_REPLY, Outcome.SMS_STOP}

    def check() -> bool:
        found = attempts_by_number(db)
        return all(n in found and found[n][-1].outcome in final for n in numbers)

    return check


def test_each_smsc_answer_ends_in_its_state(
    client: TestClient, admin: Account, db: Database, smsc: Smsc
) -> None:
    expected = {
        "+14155550100": (ContactState.SMS_SENT, Outcome.SMS_DELIVERED, "DLR DELIVRD err:000"),
        "+14155550999": (ContactState.NOT_CONNECTED, Outcome.SMS_FAILED, "DLR UNDELIV err:001"),
        "+14155550996": (ContactState.NOT_CONNECTED, Outcome.SMS_FAILED, "DLR REJECTD err:002"),
        "+14155550998": (
            ContactState.NOT_CONNECTED,
            Outcome.SMS_FAILED,
            "submit_sm_resp ESME_RINVDSTADR",
        ),
        # throttled twice, then accepted: retried, delivered once
        "+14155550997": (ContactState.SMS_SENT, Outcome.SMS_DELIVERED, "DLR DELIVRD err:000"),
        "+14155550994": (
            ContactState.NOT_CONNECTED,
            Outcome.SMS_FAILED,
            "submit_sm_resp ESME_RTHROTTLED after 3 tries",
        ),
        "+14155550555": (ContactState.SMS_RESPONDED, Outcome.SMS_REPLY, "reply: Yes please"),
        "+14155550556": (ContactState.DNC_LISTED, Outcome.SMS_STOP, "reply: STOP"),
    }
    campaign = sms_campaign(client, admin, list(expected))
    sms = build_sms_gateway("smpp", options(smsc.port, retry_max=2), SystemClock(), db)
    try:
        drive(engine_for(db, sms), outcomes_settled(db, list(expected)))
    finally:
        sms.close()

    final = states(db, campaign)
    attempts = attempts_by_number(db)
    for number, (state, outcome, raw) in expected.items():
        (attempt,) = attempts[number]
        assert (final[number], attempt.outcome, attempt.raw_result) == (state, outcome, raw)
    # The contacts API (and page) and the campaign report say the same (issue 13: a
    # delivered contact kept ``sms_accepted`` as its last outcome).
    shown = client.get(f"{API}/campaigns/{campaign}/contacts", headers=admin.headers).json()
    last = {c["phone1_e164"]: c["last_outcome"] for c in shown["items"]}
    assert last == {number: outcome.value for number, (_, outcome, _) in expected.items()}
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    counted = {k: v for k, v in report["counts_by_outcome"].items() if v}
    assert counted == dict(Counter(outcome.value for _, outcome, _ in expected.values()))
    # The SMSC's message id is kept on each accepted attempt (receipts after a restart).
    assert attempts["+14155550100"][0].external_id
    assert attempts["+14155550998"][0].external_id is None
    with db.transaction() as session:
        listed = session.scalars(select(DncEntry.number_e164)).all()
    assert listed == ["+14155550556"]
    # Nothing accepted twice; only the throttled ones were offered again.
    assert set(smsc.accepted.values()) == {1}
    assert smsc.submits["14155550997"] == 3
    assert smsc.submits["14155550994"] == 3
    assert {n: c for n, c in smsc.submits.items() if c != 1} == {
        "14155550997": 3,
        "14155550994": 3,
    }


def delivered(db: Database, numbers: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        found = attempts_by_number(db)
        return all(n in found and found[n][-1].outcome is Outcome.SMS_DELIVERED for n in numbers)

    return check


def test_a_throttling_smsc_slows_the_gateway_down_and_nothing_goes_twice(
    client: TestClient, admin: Account, db: Database, smsc_port: int
) -> None:
    numbers = [f"+1415555{i:04d}" for i in range(1000, 1060)]
    campaign = sms_campaign(client, admin, numbers)
    sim = Smsc(smsc_port, throttle_per_second=25).start()
    opts = options(smsc_port, max_per_second=500, window=20, retry_max=10)
    sms = build_sms_gateway("smpp", opts, SystemClock(), db)
    try:
        drive(engine_for(db, sms), delivered(db, numbers))
    finally:
        sms.close()
        sim.stop()
    assert sim.throttled > 0  # the SMSC did push back
    assert set(sim.accepted.values()) == {1}
    assert len(sim.accepted) == len(numbers)
    assert set(states(db, campaign).values()) == {ContactState.SMS_SENT}


def test_the_gateway_keeps_to_its_rate(
    client: TestClient, admin: Account, db: Database, smsc: Smsc
) -> None:
    """At most ``max_per_second`` submits a second, after a burst of at most the window."""
    numbers = [f"+1415555{i:04d}" for i in range(3000, 3045)]
    sms_campaign(client, admin, numbers)
    opts = options(smsc.port, max_per_second=20, window=5)
    sms = build_sms_gateway("smpp", opts, SystemClock(), db)
    try:
        drive(engine_for(db, sms), delivered(db, numbers))
    finally:
        sms.close()
    times = smsc.submitted_at
    assert len(times) == len(numbers)
    # In any span of one second: the burst (5) plus 20 refilled, never more.
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 5 + 20
    assert set(smsc.accepted.values()) == {1}


def test_a_dropped_connection_loses_and_repeats_no_submit(
    client: TestClient, admin: Account, db: Database, smsc_port: int
) -> None:
    """The connection is reset on the 10th submit before its response, and new connections
    are refused for half a second: the gateway binds again and goes on with the rest; the
    unanswered submit is never sent again (accepted, unconfirmed)."""
    numbers = [f"+1415555{i:04d}" for i in range(2000, 2030)]
    campaign = sms_campaign(client, admin, numbers)
    relay = Cutter(free_port(), smsc_port, down_seconds=0.5).start()
    sim = Smsc(smsc_port, drop_at=10, on_drop=relay.cut).start()
    sms = build_sms_gateway("smpp", options(relay.port, window=1), SystemClock(), db)
    try:

        def settled() -> bool:
            found = attempts_by_number(db)
            return sum(len(a) for a in found.values()) == len(numbers) and all(
                a[-1].outcome is Outcome.SMS_DELIVERED or a[-1].raw_result == UNCONFIRMED
                for a in found.values()
            )

        drive(engine_for(db, sms), settled)
    finally:
        sms.close()
        relay.stop()
        sim.stop()
    # Every message reached the SMSC exactly once, across both connections.
    assert relay.cuts == 1
    assert sim.binds == 2
    assert sorted(sim.submits) == sorted(n.removeprefix("+") for n in numbers)
    assert set(sim.submits.values()) == {1}
    attempts = attempts_by_number(db)
    unconfirmed = [n for n, a in attempts.items() if a[-1].raw_result == UNCONFIRMED]
    dropped = f"+{list(sim.submits)[9]}"  # the SMSC saw them in order: the 10th was dropped
    assert unconfirmed == [dropped]
    assert attempts[dropped][0].outcome is Outcome.SMS_ACCEPTED
    assert all(len(a) == 1 for a in attempts.values())
    assert set(states(db, campaign).values()) == {ContactState.SMS_SENT}


def test_a_receipt_after_our_restart_still_finds_its_attempt(
    client: TestClient, admin: Account, db: Database, smsc_port: int
) -> None:
    """The SMSC keeps its receipts and replies until the next bind; by then our process is a
    new one that never saw the message ids: the attempts kept them."""
    numbers = ["+14155550100", "+14155550999", "+14155550555"]
    campaign = sms_campaign(client, admin, numbers)
    sim = Smsc(smsc_port, hold=True).start()
    try:
        first = build_sms_gateway("smpp", options(smsc_port), SystemClock(), db)

        def accepted() -> bool:
            found = attempts_by_number(db)
            return all(n in found and found[n][0].external_id for n in numbers)

        try:
            drive(engine_for(db, first, worker="before"), accepted)
        finally:
            first.close()
        assert sim.outbox_size() == 4  # three receipts and one reply, not delivered yet
        sim.release()
        second = build_sms_gateway("smpp", options(smsc_port), SystemClock(), db)
        try:
            expected = {
                "+14155550100": ContactState.SMS_SENT,
                "+14155550999": ContactState.NOT_CONNECTED,
                "+14155550555": ContactState.SMS_RESPONDED,
            }

            def done() -> bool:
                found = attempts_by_number(db)
                return (
                    found["+14155550100"][0].outcome is Outcome.SMS_DELIVERED
                    and states(db, campaign) == expected
                )

            drive(engine_for(db, second, worker="after"), done)
        finally:
            second.close()
    finally:
        sim.stop()
    attempts = attempts_by_number(db)
    assert attempts["+14155550999"][0].raw_result == "DLR UNDELIV err:001"
    assert attempts["+14155550555"][0].outcome is Outcome.SMS_REPLY
    assert set(sim.accepted.values()) == {1}


def test_gateway_connections_are_validated_when_saved(
    client: TestClient, admin: Account, viewer: Account, db: Database
) -> None:
    bad = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "smpp", "options": {"host": "smsc", "window": 0}}},
        headers=admin.headers,
    )
    assert bad.status_code == 422, bad.text
    detail = bad.json()["detail"][0]
    assert detail["loc"][:3] == ["body", "sms_gateway", "options"]
    good = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "smpp", "options": options(2775)}},
        headers=admin.headers,
    )
    assert good.status_code == 200, good.text
    shown = good.json()["sms_gateway"]["options"]
    assert shown["window"] == 10  # defaults filled in
    # The password is stored, never shown back; sending the mask back keeps it.
    assert shown["password"] == "********"
    read = client.get(f"{API}/settings", headers=viewer.headers).json()["sms_gateway"]
    assert (read["kind"], read["options"]["password"]) == ("smpp", "********")
    kept = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "smpp", "options": {**shown, "window": 20}}},
        headers=admin.headers,
    )
    assert kept.status_code == 200, kept.text
    with db.transaction() as session:
        stored = get_settings(session).sms_gateway.options
    assert (stored["password"], stored["window"]) == ("secret", 20)
    # The mask stands for nothing once the kind of gateway changes.
    other = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "http", "options": {"password": "********"}}},
        headers=admin.headers,
    )
    assert other.status_code == 422
    assert other.json()["detail"][0]["field"] == "sms_gateway.options.password"


def test_an_opt_out_word_anywhere_in_a_reply_lists_the_number(
    client: TestClient, admin: Account, db: Database, smsc: Smsc
) -> None:
    """Issue 12 item 9: "please stop" closed the contact as SMS responded (STOP counted only
    as the first word). Replies come from a real SMSC, one in UCS-2 with an accent."""
    replies = {
        "+14155550100": ("please stop", False, ContactState.DNC_LISTED),
        "+14155550101": ("Bitte STÖP!", True, ContactState.DNC_LISTED),
        "+14155550102": ("Thanks, I stopped by the backend office", False, None),
    }
    campaign = sms_campaign(client, admin, list(replies))
    sms = build_sms_gateway("smpp", options(smsc.port), SystemClock(), db)
    try:
        engine = engine_for(db, sms)
        drive(engine, delivered(db, list(replies)))
        for number, (text, ucs2, _) in replies.items():
            smsc.mo(number, text, ucs2=ucs2)
        expected = {n: state or ContactState.SMS_RESPONDED for n, (_, _, state) in replies.items()}
        drive(engine, reached(db, campaign, expected), show=lambda: states(db, campaign))
    finally:
        sms.close()
    attempts = attempts_by_number(db)
    assert [attempts[n][0].outcome for n in replies] == [
        Outcome.SMS_STOP,
        Outcome.SMS_STOP,
        Outcome.SMS_REPLY,
    ]
    assert [dnc_listed(client, admin, n) for n in replies] == [True, True, False]
    texts = [
        [r["text"] for r in contact_of(client, admin, campaign, n)["sms_replies"]] for n in replies
    ]
    assert texts == [["please stop"], ["Bitte STÖP!"], ["Thanks, I stopped by the backend office"]]


def test_the_opt_out_words_are_a_setting(
    client: TestClient, admin: Account, db: Database, smsc: Smsc
) -> None:
    """With the list changed, "halt" opts out and "stop" is an ordinary reply."""
    patch = client.patch(
        f"{API}/settings", json={"opt_out_words": ["halt", "no more"]}, headers=admin.headers
    )
    assert patch.status_code == 200, patch.text
    numbers = ["+14155550100", "+14155550101"]
    campaign = sms_campaign(client, admin, numbers)
    sms = build_sms_gateway("smpp", options(smsc.port), SystemClock(), db)
    try:
        engine = engine_for(db, sms)
        drive(engine, delivered(db, numbers))
        smsc.mo(numbers[0], "HALT please")
        smsc.mo(numbers[1], "stop")
        expected = {numbers[0]: ContactState.DNC_LISTED, numbers[1]: ContactState.SMS_RESPONDED}
        drive(engine, reached(db, campaign, expected), show=lambda: states(db, campaign))
    finally:
        sms.close()
    assert [dnc_listed(client, admin, n) for n in numbers] == [True, False]


def test_a_reply_after_the_expiry_is_kept_and_an_opt_out_still_honoured(
    client: TestClient, admin: Account, db: Database, smsc_port: int
) -> None:
    """The SMSC holds its receipts; the SMS expire (the clock jumps past the hour) and only
    then come the receipts and two replies: the attempts keep ``sms_expired``, the contacts
    keep their state, both replies are on the contacts' history, and the opt-out lists its
    number (issue 12 item 9: a late reply was dropped, and a late "please STOP" ignored)."""
    opting_out, chatting = "+14155550100", "+14155550101"
    campaign = sms_campaign(client, admin, [opting_out, chatting])
    sim = Smsc(smsc_port, hold=True).start()
    clock = ShiftedClock()
    sms = build_sms_gateway("smpp", options(smsc_port), clock, db)
    try:
        engine = engine_for(db, sms)
        engine.clock = clock
        sent = {opting_out: ContactState.SMS_SENT, chatting: ContactState.SMS_SENT}
        drive(engine, reached(db, campaign, sent), show=lambda: states(db, campaign))
        clock.shift = timedelta(minutes=61)  # SMS_ONLY waits 60 minutes for a reply
        over = {n: ContactState.RETRIES_COMPLETED for n in sent}
        drive(engine, reached(db, campaign, over), show=lambda: states(db, campaign))
        sim.mo(opting_out, "Please STOP texting me")
        sim.mo(chatting, "Sorry, who is this?")
        sim.release()  # the two receipts (delivered) first, then the replies

        def replies_in() -> bool:
            return dnc_listed(client, admin, opting_out) and bool(
                contact_of(client, admin, campaign, chatting)["sms_replies"]
            )

        drive(engine, replies_in, show=lambda: states(db, campaign))
    finally:
        sms.close()
        sim.stop()
    assert len(sim.delivered) == 4  # two receipts and two replies reached the gateway
    assert states(db, campaign) == over  # a late reply reopens nothing
    attempts = attempts_by_number(db)
    assert [attempts[n][0].outcome for n in sent] == [Outcome.SMS_EXPIRED] * 2
    assert [dnc_listed(client, admin, n) for n in sent] == [True, False]
    for number, text, opt_out in (
        (opting_out, "Please STOP texting me", True),
        (chatting, "Sorry, who is this?", False),
    ):
        contact = contact_of(client, admin, campaign, number)
        assert contact["state"] == "retries_completed"
        ((reply),) = contact["sms_replies"]
        assert (reply["text"], reply["opt_out"], reply["late"]) == (text, opt_out, True)
        assert reply["attempt_id"] == attempts[number][0].id
