"""The Cisco dialers end to end: the real engine on a virtual clock, a voice campaign with a
retrying strategy run through a simulated UCCX or UCCE (real HTTP servers on loopback,
results where Cisco writes them), on SQLite and PostgreSQL.

Each number's end state is computed here from its last three digits and the strategy (the
oracle), not by the product. Mid-run: a queue-full episode (503), a restart of our service
(the engine and its dialer rebuilt from the database) and a restart of Cisco's server.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt, Contact
from tests.clocks import next_monday_9
from tests.conftest import PG_ADMIN_URL, Account
from tests.peers.cisco.state import SimState
from tests.peers.cisco.ucce import UcceSim
from tests.peers.cisco.uccx import UccxSim

API = "/api/v1"
START = next_monday_9()
CISCO_CAMPAIGN = 4242
USER, PASSWORD = "administrator", "cisco-pw-1"
BATCH = 10
CONTACTS = 200  # keeps the four runs (two products, two databases) near 1 min in all

# The strategy: one voice attempt, redialled (up to 3 attempts in all) after a busy, a no
# answer, a network error or an abandon; anything else closes.
RETRY = {"action": "retry", "delay_minutes": 10}
CLOSE = {"action": "close"}
STRATEGY = {
    "name": "cisco-retrying",
    "max_attempts": 3,
    "attempts": [
        {
            "channel": "voice",
            "rules": {
                "busy": RETRY,
                "no_answer": RETRY,
                "network_error": RETRY,
                "dialer_abandoned": RETRY,
                "customer_abandoned": RETRY,
                "answering_machine": CLOSE,
                "wrong_person": CLOSE,
                "fax": CLOSE,
                "invalid_number": CLOSE,
            },
        }
    ],
}
# The oracle: last three digits -> (end state, attempts made), from the simulator's plan
# (README) and the strategy above.
RETRIED = (ContactState.RETRIES_COMPLETED, 3)
CLOSED = (ContactState.NOT_CONNECTED, 1)
EXPECTED = {
    "200": (ContactState.CONNECTED, 1),
    "486": RETRIED,  # busy every time
    "480": RETRIED,  # no answer every time
    "404": CLOSED,  # invalid
    "700": CLOSED,  # answering machine
    "701": CLOSED,  # fax
    "702": RETRIED,  # customer abandoned
    "703": RETRIED,  # dialer abandoned
    "503": RETRIED,  # error while dialing
    "224": CLOSED,  # wrong person
    "999": (ContactState.DANGLING, 1),  # Cisco dialled it; its result never came
    "123": (ContactState.CONNECTED, 1),  # any other number answers
}
# UCCX: only the codes its public pages state (see channels.cisco.codes).
UCCX_DIGITS = ("200", "486", "480", "404", "700", "701", "999", "123")


def phones(digits: tuple[str, ...], count: int) -> list[str]:
    return [f"+1415{200 + i // 10:03d}{i % 10}{digits[i % len(digits)]}" for i in range(count)]


@pytest.fixture
def sim_url(db: Database, tmp_path: Path) -> Iterator[str]:
    """Cisco's own database, of the same kind as ours (SQLite file / PostgreSQL database)."""
    if db.dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'cisco.db'}"
        return
    name = f"cisco_sim_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Cisco:
    """One simulated product, its state and the dialer options that reach it."""

    def __init__(self, product: str, url: str) -> None:
        self.product = product
        self.state = SimState(url, product=product)
        # Cisco's own redials are on (3 attempts): the dialer must switch them off.
        self.state.add_campaign(CISCO_CAMPAIGN, "ob_cisco", max_attempts=3)
        sim = UccxSim if product == "uccx" else UcceSim
        self.sim: UccxSim | UcceSim = sim(self.state, username=USER, password=PASSWORD)
        self.sim.peer.start()
        self.db_url = url

    @property
    def kind(self) -> str:
        return f"cisco_{self.product}"

    def options(self) -> dict[str, Any]:
        common = {
            "url": self.sim.url,
            "username": USER,
            "password": PASSWORD,
            "batch_size": BATCH,
            "poll_seconds": 5,
            "backoff_seconds": 5,
            "result_timeout_minutes": 5,
        }
        if self.product == "ucce":
            common["results_url"] = self.db_url
        return common

    def queue_full(self, full: bool) -> None:
        if isinstance(self.sim, UcceSim):
            self.state.occupied = 30 if full else 0  # other integrations' requests queued
        else:
            self.sim.busy = full

    def restart(self) -> None:
        self.sim.peer.stop()
        self.sim.peer.start()

    def close(self) -> None:
        self.sim.peer.stop()
        self.state.close()


@pytest.fixture(params=["uccx", "ucce"])
def cisco(request: pytest.FixtureRequest, sim_url: str) -> Iterator[Cisco]:
    peer = Cisco(request.param, sim_url)
    yield peer
    peer.close()


def start_campaign(client: TestClient, admin: Account, numbers: list[str]) -> int:
    headers = admin.headers
    strategy = client.post(f"{API}/strategies", json=STRATEGY, headers=headers)
    assert strategy.status_code == 201, strategy.text
    always = {
        "name": "always",
        "time_zone": "UTC",
        "windows": [
            {"day": d, "start": "00:00", "end": "24:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    }
    schedule = client.post(f"{API}/schedules", json=always, headers=headers)
    body = {
        "name": "cisco-campaign",
        "type": "agent",
        "dialer_target": str(CISCO_CAMPAIGN),
        "max_concurrent_calls": 100,
        "max_calls_per_second": 100,
        "strategy_id": strategy.json()["id"],
        "schedule_id": schedule.json()["id"],
    }
    created = client.post(f"{API}/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign = int(created.json()["id"])
    batch = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": p} for p in numbers]},
        headers=headers,
    )
    assert batch.json()["rows_imported"] == len(numbers), batch.text
    assert client.post(f"{API}/campaigns/{campaign}/start", headers=headers).status_code == 200
    return campaign


def engine(db: Database, clock: VirtualClock, cisco: Cisco, worker: str) -> Engine:
    dialer = build_dialer(cisco.kind, cisco.options(), clock, db)
    sms = build_sms_gateway("simulator", {"seed": 1}, clock)
    built = Engine(
        db,
        clock=clock,
        dialer=dialer,
        sms=sms,
        worker_id=worker,
        timing=Timing(idle=timedelta(hours=1)),
    )
    built.register()
    return built


def open_contacts(db: Database, campaign: int) -> int:
    with db.transaction() as session:
        states = session.scalars(select(Contact.state).where(Contact.campaign_id == campaign))
        return sum(s in (ContactState.PENDING, ContactState.SENT_TO_DIALER) for s in states)


def test_a_retrying_campaign_runs_to_completion_through_cisco(
    client: TestClient, admin: Account, db: Database, cisco: Cisco
) -> None:
    patched = client.patch(
        f"{API}/settings", json={"dangling_timeout_minutes": 5}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    digits = UCCX_DIGITS if cisco.product == "uccx" else tuple(EXPECTED)
    numbers = phones(digits, CONTACTS)
    campaign = start_campaign(client, admin, numbers)
    clock = VirtualClock(START)
    running = engine(db, clock, cisco, "cisco-1")
    steps, episode, restarted, cisco_restarted = 0, "before", False, False
    try:
        while open_contacts(db, campaign):
            steps += 1
            assert steps < 3000, "the campaign does not finish"
            wake = running.step()
            cisco.state.run_dialer()  # Cisco dials what it holds
            fed = sum(cisco.state.fed.values())
            # A queue-full episode once a fifth is fed: refused until refused twice.
            if episode == "before" and fed >= CONTACTS // 5:
                cisco.queue_full(True)
                episode = "full"
            elif episode == "full" and cisco.state.refused >= 2:
                cisco.queue_full(False)
                episode = "over"
            # Our service restarts (cleanly) right after handing over a batch: what was
            # handed over but not fed yet is fed by the new process.
            if not restarted and fed >= CONTACTS // 2:
                running._sign_off()
                running.close_channels()
                running = engine(db, clock, cisco, "cisco-2")
                restarted = True
            if not cisco_restarted and fed >= (CONTACTS * 3) // 4:
                cisco.restart()
                cisco_restarted = True
            clock.sleep_until(wake)
    finally:
        running.close_channels()
    assert episode == "over" and restarted and cisco_restarted

    with db.transaction() as session:
        contacts = {
            c.phone1_e164: c.state
            for c in session.scalars(select(Contact).where(Contact.campaign_id == campaign))
        }
        attempts = list(session.scalars(select(Attempt).where(Attempt.campaign_id == campaign)))
    made = Counter(a.phone_number for a in attempts)
    for number in numbers:
        state, count = EXPECTED[number[-3:]]
        assert (contacts[number], made[number]) == (state, count), number

    # Cisco took each attempt exactly once, dialled it once (its own redials off), and
    # never held more than the batch size of them.
    accounts = {f"OB{a.id}" for a in attempts}
    assert set(cisco.state.fed) == accounts
    assert set(cisco.state.fed.values()) == {1}
    assert set(cisco.state.dials.values()) == {1}
    assert cisco.state.max_waiting <= BATCH
    assert cisco.state.refused >= 2
    assert cisco.state.campaign(CISCO_CAMPAIGN)["max_attempts"] == 1  # type: ignore[index]
    busy = next(a for a in attempts if a.phone_number.endswith("486") and a.outcome)
    assert busy.outcome.value == "busy"
    assert "CallResult 9 " in busy.raw_result or "CallResult 11 " in busy.raw_result
    print(f"{cisco.product}/{db.dialect}: {len(attempts)} attempts in {steps} engine steps")
