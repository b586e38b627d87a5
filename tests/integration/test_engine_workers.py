"""Two real worker processes on PostgreSQL, one killed with SIGKILL mid-run.

10,000 contacts in 5 campaigns with mixed outcomes (connected, busy, no answer, invalid,
network error, never answered, drawn at random; an SMS second attempt in two campaigns).
Afterwards every contact is closed in a legal state, the simulator's ledger shows no attempt
handed over twice and none unknown to the database, no contact got more attempts than its
strategy allows, and the calls the killed worker had in flight ended Dangling, recovered by
the survivor once the killed worker's heartbeat went silent.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from outbound.contacts.states import CLOSED_STATES, OPEN_STATES, ContactState
from outbound.db.engine import Database
from outbound.models import Attempt, Campaign, Contact, Strategy, Worker
from tests.conftest import Account

API = "/api/v1"
CAMPAIGNS = 5
PER_CAMPAIGN = 2_000
# Last three digits and their share: the simulator's plan decides the outcome by them.
SUFFIXES = {"200": 20, "486": 15, "480": 15, "404": 10, "503": 10, "999": 5, None: 25}
PLANNED = {"200", "201", "486", "600", "480", "408", "404", "484", "410", "503", "500", "603"}
PLANNED |= {"700", "701", "702", "703", "999", "998", "997", "996", "555", "556"}
RETRIED = ("busy", "no_answer", "answering_machine", "customer_abandoned", "dialer_abandoned")
# Every result within a second, so the run is short; a lost call frees its line at once.
LATENCY = {
    "connected": 1.0,
    "no_answer": 0.8,
    "busy": 0.3,
    "answering_machine": 0.6,
    "network_error": 0.2,
    "invalid_number": 0.1,
    "customer_abandoned": 0.5,
    "dialer_abandoned": 0.5,
    "declined": 0.4,
    "fax": 0.5,
}
HEARTBEAT_SECONDS = 1
SILENT_SECONDS = 6
RECOVERED = "its worker stopped before a result came"
FINISH_WITHIN = 240.0


def _rules(*, retry_network: bool) -> dict[str, Any]:
    rules: dict[str, Any] = {o: {"action": "next", "delay_minutes": 0} for o in RETRIED}
    if retry_network:
        rules["network_error"] = {"action": "retry", "delay_minutes": 0}
    return rules


STRATEGIES: list[dict[str, Any]] = [
    {  # 503 retries the first call until the cap of 3 stops it
        "name": "two-calls-cap-3",
        "max_attempts": 3,
        "attempts": [
            {"channel": "voice", "rules": _rules(retry_network=True)},
            {"channel": "voice", "rules": _rules(retry_network=True)},
        ],
    },
    {
        "name": "call-then-sms",
        "max_attempts": 2,
        "attempts": [
            {"channel": "voice", "rules": _rules(retry_network=True)},
            {"channel": "sms", "sms_mode": "send_and_close", "sms_template": "Call us {param1}"},
        ],
    },
]


def _phones(rng: random.Random) -> list[str]:
    """Distinct valid US numbers whose last three digits follow ``SUFFIXES``."""
    exchanges = [e for e in range(230, 999) if e % 100 != 11]
    codes, weights = list(SUFFIXES), list(SUFFIXES.values())
    phones = []
    for i in range(PER_CAMPAIGN):
        code = rng.choices(codes, weights)[0]
        while code is None or (code not in SUFFIXES and code in PLANNED):
            code = f"{rng.randrange(1000):03d}"
        phones.append(f"+1415{exchanges[i // 10]}{i % 10}{code}")
    return phones


def _setup(client: TestClient, admin: Account, ledger: Path) -> None:
    settings = {
        "dangling_timeout_minutes": 1,
        "feed_batch_size": 200,
        "dialer": {
            "kind": "simulator",
            "options": {
                "seed": 20261130,
                "jitter": 0.5,
                "latency": LATENCY,
                "lost_call_seconds": 1,
                "talk_seconds": 0.5,
                "ledger_path": str(ledger),
            },
        },
        "sms_gateway": {
            "kind": "simulator",
            "options": {
                "seed": 20261130,
                "submit_latency": 0.3,
                "delivery_latency": 0.5,
                "reply_probability": 0,
                "stop_probability": 0,
                "ledger_path": str(ledger),
            },
        },
    }
    patched = client.patch(f"{API}/settings", json=settings, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    strategy_ids = []
    for body in STRATEGIES:
        made = client.post(f"{API}/strategies", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        strategy_ids.append(made.json()["id"])
    always = {
        "name": "always",
        "time_zone": "UTC",
        "windows": [
            {"day": d, "start": "00:00", "end": "24:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    }
    schedule = client.post(f"{API}/schedules", json=always, headers=admin.headers)
    assert schedule.status_code == 201, schedule.text
    rng = random.Random(5)
    for n in range(CAMPAIGNS):
        body = {
            "name": f"workers-{n}",
            "type": "agent",
            "dialer_target": "sales",
            "strategy_id": strategy_ids[0 if n < 3 else 1],
            "schedule_id": schedule.json()["id"],
            "max_concurrent_calls": 300,
            "max_calls_per_second": 300,
            "priority": 1 + n % 2,
        }
        made = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        campaign = made.json()["id"]
        contacts = [{"phone1": p, "param1": str(i)} for i, p in enumerate(_phones(rng))]
        batch = client.post(
            f"{API}/campaigns/{campaign}/imports/batch",
            json={"contacts": contacts},
            headers=admin.headers,
        )
        assert batch.json()["rows_imported"] == PER_CAMPAIGN, batch.text
        started = client.post(f"{API}/campaigns/{campaign}/start", headers=admin.headers)
        assert started.status_code == 200, started.text


class Workers:
    """``outbound worker`` processes, their output in files (a pipe could fill and block)."""

    def __init__(self, db: Database, folder: Path) -> None:
        self.env = {
            **os.environ,
            "OUTBOUND_DATABASE_URL": db.url,
            "OUTBOUND_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "OUTBOUND_WORKER_SILENT_SECONDS": str(SILENT_SECONDS),
        }
        self.folder = folder
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.folder / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "outbound.cli", "worker"],
            env=self.env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, index: int) -> str:
        return (self.folder / f"worker-{index}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def workers(db: Database, tmp_path: Path) -> Iterator[Workers]:
    if db.dialect != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    group = Workers(db, tmp_path)
    try:
        yield group
    finally:
        group.stop_all()


def _wait(condition: Any, *, within: float, what: str, workers: Workers) -> None:
    deadline = time.monotonic() + within
    while not condition():
        for i, proc in enumerate(workers.procs):
            if proc.returncode is None and proc.poll() is not None:
                pytest.fail(f"worker {i} exited ({proc.returncode}):\n{workers.log(i)[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.25)


def _scalar(db: Database, query: Any) -> Any:
    with db.transaction() as session:
        return session.scalar(query)


def _ledger(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Final:
    """The database after the run."""

    contacts: dict[int, Contact]
    attempts: dict[int, Attempt]
    cap_of: dict[int, int]  # campaign id -> its strategy's max attempts
    in_flight: list[int]  # the campaigns' counters
    victim: Worker | None


def _final(db: Database, victim_id: str) -> Final:
    with db.transaction() as session:
        caps = select(Campaign.id, Strategy.max_attempts).join(
            Strategy, Strategy.id == Campaign.strategy_id
        )
        return Final(
            contacts={c.id: c for c in session.scalars(select(Contact))},
            attempts={a.id: a for a in session.scalars(select(Attempt))},
            cap_of={campaign: cap for campaign, cap in session.execute(caps)},
            in_flight=list(session.scalars(select(Campaign.in_flight))),
            victim=session.get(Worker, victim_id),
        )


def _kill_one(db: Database, workers: Workers) -> tuple[str, dict[int, str], datetime]:
    """SIGKILL the first worker mid-run: its id, its calls in flight (id -> number), when."""
    victim = workers.procs[0]
    count_attempts = select(func.count()).select_from(Attempt)
    _wait(
        lambda: (
            _scalar(db, count_attempts) >= 3_000
            and _scalar(db, select(func.count()).select_from(Worker)) == 2
        ),
        within=90,
        what="both workers to register and 3,000 attempts",
        workers=workers,
    )
    victim_id = _scalar(db, select(Worker.id).where(Worker.pid == victim.pid))
    assert victim_id is not None
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(10)
    killed_at = datetime.now(UTC)
    # Calls with no result yet (an answered call has its outcome: only its end is missing).
    open_calls = select(Attempt.id, Attempt.phone_number).where(
        Attempt.worker_id == victim_id, Attempt.ended_at.is_(None), Attempt.answered_at.is_(None)
    )
    with db.transaction() as session:
        in_flight = {attempt: number for attempt, number in session.execute(open_calls)}
    assert in_flight, "the killed worker had no call in flight: kill it earlier"
    return victim_id, in_flight, killed_at


def test_a_killed_worker_loses_nothing_and_dials_nothing_twice(
    workers: Workers, client: TestClient, admin: Account, db: Database, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger.jsonl"
    _setup(client, admin, ledger)
    workers.start()
    survivor = workers.start()
    victim_id, in_flight, killed_at = _kill_one(db, workers)
    open_contacts = select(func.count()).select_from(Contact).where(Contact.state.in_(OPEN_STATES))
    # A contact closes at its call's answer; the call's end follows.
    open_attempts = select(func.count()).select_from(Attempt).where(Attempt.ended_at.is_(None))
    _wait(
        lambda: _scalar(db, open_contacts) == 0 and _scalar(db, open_attempts) == 0,
        within=FINISH_WITHIN,
        what="every contact to close and every call to end",
        workers=workers,
    )
    survivor.send_signal(signal.SIGTERM)
    assert survivor.wait(30) == 0, workers.log(1)[-3000:]
    assert "engine step failed" not in workers.log(1), workers.log(1)[-5000:]

    final = _final(db, victim_id)
    _nothing_lost(final)
    _handed_over_at_most_once(final, _ledger(ledger), victim_id)
    _cap_held(final)
    _recovered_as_dangling(final, in_flight, killed_at)


def _nothing_lost(final: Final) -> None:
    """Every contact closed, in one of REQUIREMENTS §5's states; no call left counted."""
    assert len(final.contacts) == CAMPAIGNS * PER_CAMPAIGN
    states = Counter(c.state for c in final.contacts.values())
    assert set(states) <= CLOSED_STATES, states
    for state in (
        ContactState.CONNECTED,
        ContactState.NOT_CONNECTED,
        ContactState.RETRIES_COMPLETED,
        ContactState.SMS_SENT_CLOSED,
        ContactState.DANGLING,
    ):
        assert states[state] > 0, states
    assert all(a.ended_at is not None for a in final.attempts.values())
    assert final.in_flight == [0] * CAMPAIGNS


def _handed_over_at_most_once(final: Final, lines: list[dict[str, Any]], victim_id: str) -> None:
    """One ledger line per attempt, each for an attempt the database knows, to its number."""
    handed = Counter(line["attempt_id"] for line in lines)
    twice = [a for a, n in handed.items() if n > 1]
    assert not twice, f"attempts handed over twice: {twice[:10]}"
    unknown = set(handed) - set(final.attempts)
    assert not unknown, f"ledger attempts missing from the database: {sorted(unknown)[:10]}"
    for line in lines:
        assert final.attempts[line["attempt_id"]].phone_number == line["number"], line
    # Committed but never handed over: only the killed worker's last batch, ended by recovery.
    for attempt_id in set(final.attempts) - set(handed):
        attempt = final.attempts[attempt_id]
        assert (attempt.worker_id, attempt.raw_result) == (victim_id, RECOVERED), attempt_id


def _cap_held(final: Final) -> None:
    """No contact has more attempts than its strategy allows; each number is used once."""
    attempts = final.attempts.values()
    assert len({(a.contact_id, a.number) for a in attempts}) == len(final.attempts)
    per_contact = Counter(a.contact_id for a in attempts)
    for contact in final.contacts.values():
        made = per_contact[contact.id]
        assert 1 <= made == contact.attempt_count <= final.cap_of[contact.campaign_id], contact.id


def _recovered_as_dangling(final: Final, in_flight: dict[int, str], killed_at: datetime) -> None:
    """The killed worker's calls in flight ended Dangling by the survivor, never redialled."""
    assert final.victim is not None and final.victim.stopped_at is not None
    for attempt_id, number in in_flight.items():
        attempt = final.attempts[attempt_id]
        contact = final.contacts[attempt.contact_id]
        assert contact.state is ContactState.DANGLING, (attempt_id, contact.state)
        assert contact.last_attempt_id == attempt_id
        if not number.endswith("999"):  # a lost call may have reached the dangling timeout
            assert attempt.raw_result == RECOVERED, attempt.raw_result
            assert attempt.ended_at is not None
            assert (attempt.ended_at - killed_at).total_seconds() < 30
