"""The ``http`` SMS gateway against a real Kannel (bearerbox + smsbox) whose ``smpp`` SMSC is
the test SMSC, with our API served by a real uvicorn for Kannel's callbacks (delivery
reports, replies), on both databases."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.app import create_app
from outbound.channels.kannel.auth import receipt_token
from outbound.channels.registry import build_sms_gateway
from outbound.config import Config
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import SystemClock
from outbound.models import DncEntry, SmsInbox
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
)
from tests.integration.sms_helpers import sms_campaign as make_campaign
from tests.integration.test_engine_flow import states
from tests.peers import kannel
from tests.peers.smsc import Smsc

API = "/api/v1"
SECRET = "callback-secret-0123456789"


class Api:
    """Our app served by uvicorn in a thread (HTTP/1.1 keep-alive, a large backlog)."""

    def __init__(self, db: Database, data: Path) -> None:
        self.port = free_port()
        app = create_app(Config(data_dir=data, engine=False), db=db, background=False)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", backlog=2048
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Api:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def gateway_options(sendsms_url: str, callback_url: str) -> dict[str, Any]:
    return {
        "sendsms_url": sendsms_url,
        "username": "outbound",
        "password": "kpass",
        "callback_url": callback_url,
        "secret": SECRET,
        "sender": "ACME",
        "retry_delay_seconds": 0.2,
    }


def configure(client: TestClient, admin: Account, options: dict[str, Any]) -> dict[str, Any]:
    saved = client.patch(
        f"{API}/settings",
        json={"sms_gateway": {"kind": "http", "options": options}},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text
    return options  # the API shows the secrets masked


@pytest.fixture
def api(db: Database, tmp_path: Path) -> Iterator[Api]:
    server = Api(db, tmp_path / "api").start()
    yield server
    server.stop()


@pytest.mark.skipif(
    not kannel.available() and not os.environ.get("CI"),  # CI installs it: never skipped there
    reason="Debian kannel is not installed (apt-get install kannel)",
)
def test_kannel_reports_and_replies_end_in_their_states(
    client: TestClient, admin: Account, db: Database, api: Api, tmp_path: Path
) -> None:
    smsc = Smsc(free_port()).start()
    box = kannel.Kannel(
        tmp_path,
        smsc_port=smsc.port,
        get_url=f"{api.url}{API}/sms/http/inbound?key={SECRET}&from=%p&text=%a",
        username="outbound",
        password="kpass",
    ).start()
    expected = {
        "+14155550100": (ContactState.SMS_SENT, Outcome.SMS_DELIVERED),
        "+14155550999": (ContactState.NOT_CONNECTED, Outcome.SMS_FAILED),
        "+14155550998": (ContactState.NOT_CONNECTED, Outcome.SMS_FAILED),
        "+14155550997": (ContactState.SMS_SENT, Outcome.SMS_DELIVERED),  # Kannel retries
        "+14155550555": (ContactState.SMS_RESPONDED, Outcome.SMS_REPLY),
        "+14155550556": (ContactState.DNC_LISTED, Outcome.SMS_STOP),
    }
    try:
        deadline = time.monotonic() + 15
        while smsc.binds < 1:  # Kannel binds to the SMSC on its own
            assert time.monotonic() < deadline, "Kannel never bound to the SMSC"
            time.sleep(0.05)
        options = configure(client, admin, gateway_options(box.sendsms_url, api.url))
        campaign = make_campaign(client, admin, list(expected))
        sms = build_sms_gateway("http", options, SystemClock(), db)

        def settled() -> bool:
            found = attempts_by_number(db)
            return all(
                n in found and found[n][-1].outcome is outcome
                for n, (_, outcome) in expected.items()
            ) and all(states(db, campaign)[n] is s for n, (s, _) in expected.items())

        def where() -> dict[str, tuple[str, str | None]]:
            found, now = attempts_by_number(db), states(db, campaign)
            return {
                n: (str(now.get(n)), str(found[n][-1].outcome) if n in found else None)
                for n in expected
            }

        try:
            drive(engine_for(db, sms), settled, within=60, show=where)
        finally:
            sms.close()
    finally:
        box.stop()
        smsc.stop()
    attempts = attempts_by_number(db)
    assert attempts["+14155550100"][0].raw_result == "DLR DELIVRD err:000"
    assert attempts["+14155550999"][0].raw_result == "DLR UNDELIV err:001"
    assert attempts["+14155550998"][0].raw_result.startswith("DLR 16 rejected by the SMSC")
    assert attempts["+14155550555"][0].raw_result == "reply: Yes please"
    with db.transaction() as session:
        assert session.scalars(select(DncEntry.number_e164)).all() == ["+14155550556"]
        assert session.scalars(select(SmsInbox)).all() == []  # every callback was taken
    # Kannel handed each message to the SMSC once; only the throttled one was offered again.
    assert set(smsc.accepted.values()) == {1}
    assert {n: c for n, c in smsc.submits.items() if c != 1} == {"14155550997": 3}


def test_callbacks_refuse_forged_reports_and_replies(
    client: TestClient, admin: Account, db: Database
) -> None:
    receipt = f"{API}/sms/http/receipt"
    inbound = f"{API}/sms/http/inbound"
    forged = {"attempt": 7, "token": receipt_token(SECRET, 7), "type": 1}
    # No http gateway configured: nothing can call back, whatever it presents.
    assert client.get(receipt, params=forged).status_code == 401
    configure(client, admin, gateway_options("http://127.0.0.1:1/", "http://127.0.0.1:2"))
    refused = [
        client.get(receipt, params={**forged, "token": receipt_token(SECRET, 8)}),
        client.get(receipt, params={"attempt": 7, "type": 1}),
        client.get(receipt, params={"attempt": 7, "type": 1}, headers=admin.headers),  # no key
        client.get(inbound, params={"key": "wrong-secret-0123456789", "from": "+14155550100"}),
        client.get(inbound, params={"from": "+14155550100", "text": "STOP"}),
    ]
    assert [r.status_code for r in refused] == [401] * len(refused)
    with db.transaction() as session:
        assert session.scalars(select(SmsInbox)).all() == []
    ok = client.get(receipt, params={**forged, "reply": "id:1 stat:DELIVRD err:000"})
    assert ok.status_code == 200
    reply = client.get(inbound, params={"key": SECRET, "from": "+14155550100", "text": "YES"})
    assert (reply.status_code, reply.text) == (200, "")
    with db.transaction() as session:
        rows = session.scalars(select(SmsInbox).order_by(SmsInbox.id)).all()
        got = [(r.attempt_id, r.outcome, r.raw, r.number, r.text) for r in rows]
    assert got == [
        (7, "sms_delivered", "DLR DELIVRD err:000", None, None),
        (None, None, "", "+14155550100", "YES"),
    ]


def test_messages_wait_for_a_kannel_that_is_not_up_yet(
    client: TestClient, admin: Account, db: Database, api: Api, tmp_path: Path
) -> None:
    """sendsms refused (connection refused: Kannel never took them) is tried again with a
    backoff; once Kannel is up each message goes out once."""
    if not kannel.available() and not os.environ.get("CI"):
        pytest.skip("Debian kannel is not installed")
    smsc = Smsc(free_port()).start()
    box = kannel.Kannel(
        tmp_path,
        smsc_port=smsc.port,
        get_url=f"{api.url}{API}/sms/http/inbound?key={SECRET}&from=%p&text=%a",
        username="outbound",
        password="kpass",
    )
    numbers = [f"+1415555{i:04d}" for i in range(4000, 4010)]
    options = configure(client, admin, gateway_options(box.sendsms_url, api.url))
    campaign = make_campaign(client, admin, numbers)
    sms = build_sms_gateway("http", {**options, "retry_max": 8}, SystemClock(), db)
    engine = engine_for(db, sms)
    try:
        drive(engine, lambda: len(attempts_by_number(db)) == len(numbers), within=10)
        time.sleep(0.5)  # the first tries are refused: nothing listens yet
        assert all(a[0].outcome is None for a in attempts_by_number(db).values())
        box.start()

        def delivered() -> bool:
            found = attempts_by_number(db)
            return all(found[n][0].outcome is Outcome.SMS_DELIVERED for n in numbers)

        drive(engine, delivered, within=40)
    finally:
        sms.close()
        box.stop()
        smsc.stop()
    assert sorted(smsc.accepted) == [n.removeprefix("+") for n in numbers]
    assert set(smsc.accepted.values()) == {1}
    assert set(states(db, campaign).values()) == {ContactState.SMS_SENT}


def test_opt_outs_through_kannel_in_time_and_after_the_expiry(
    client: TestClient, admin: Account, db: Database, api: Api, tmp_path: Path
) -> None:
    """Replies through real Kannel (SMSC MO -> Kannel -> our get-url): "please stop" in
    time lists the number and closes the contact; "Pls STOP thx" after the SMS expiry still
    lists the number and is kept on the contact, whose state stays as its expiry left it."""
    if not kannel.available() and not os.environ.get("CI"):
        pytest.skip("Debian kannel is not installed")
    in_time, late = "+14155550100", "+14155550101"
    smsc = Smsc(free_port()).start()
    box = kannel.Kannel(
        tmp_path,
        smsc_port=smsc.port,
        get_url=f"{api.url}{API}/sms/http/inbound?key={SECRET}&from=%p&text=%a",
        username="outbound",
        password="kpass",
    ).start()
    clock = ShiftedClock()
    try:
        options = configure(client, admin, gateway_options(box.sendsms_url, api.url))
        campaign = make_campaign(client, admin, [in_time, late])
        sms = build_sms_gateway("http", options, clock, db)
        engine = engine_for(db, sms)
        engine.clock = clock
        try:
            sent = {in_time: ContactState.SMS_SENT, late: ContactState.SMS_SENT}
            drive(engine, reached(db, campaign, sent), within=60, show=lambda: states(db, campaign))
            smsc.mo(in_time, "please stop")
            listed = {in_time: ContactState.DNC_LISTED, late: ContactState.SMS_SENT}
            drive(engine, reached(db, campaign, listed), show=lambda: states(db, campaign))
            clock.shift = timedelta(minutes=61)  # past the 60 minutes the SMS waits
            expired = {in_time: ContactState.DNC_LISTED, late: ContactState.RETRIES_COMPLETED}
            drive(engine, reached(db, campaign, expired), show=lambda: states(db, campaign))
            smsc.mo(late, "Pls STOP thx")
            drive(engine, lambda: dnc_listed(client, admin, late), within=30)
        finally:
            sms.close()
    finally:
        box.stop()
        smsc.stop()
    assert states(db, campaign) == expired
    attempts = attempts_by_number(db)
    assert [attempts[n][0].outcome for n in (in_time, late)] == [
        Outcome.SMS_STOP,
        Outcome.SMS_EXPIRED,
    ]
    replies = {n: contact_of(client, admin, campaign, n)["sms_replies"] for n in (in_time, late)}
    seen = {n: [(r["text"], r["opt_out"], r["late"]) for r in got] for n, got in replies.items()}
    assert seen == {
        in_time: [("please stop", True, False)],
        late: [("Pls STOP thx", True, True)],
    }
