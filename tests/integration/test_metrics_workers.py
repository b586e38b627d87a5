"""Two real ``outbound worker`` processes on PostgreSQL, each serving its own metrics
(``OUTBOUND_METRICS_LISTEN``), scraped while they dial and after: the attempts they count,
summed over the workers, are the attempts in the database, worker by worker, campaign by
campaign and channel by channel; so are their first results; the service's ``/metrics``
reads the database's figures (contacts due, calls in flight, workers alive).

The oracle is the ``attempts`` table read with plain SQL, each row's worker known from its
``worker_id`` (host:pid:…), each process's series from its ``worker`` label (host:pid).
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from outbound.app import create_app
from outbound.config import Config
from outbound.contacts.states import OPEN_STATES
from outbound.db.engine import Database
from outbound.models import Attempt, Contact
from tests.conftest import Account
from tests.integration.test_engine_workers import Workers, _scalar, _wait

API = "/api/v1"
TOKEN = "service-metrics-token-0123456789"
CAMPAIGNS = 3
PER_CAMPAIGN = 400
# Only numbers the simulator's plan decides: every call gets its result within a second.
SUFFIXES = ("200", "486", "480", "404", "503")
LATENCY = {"connected": 0.6, "no_answer": 0.5, "busy": 0.2, "invalid_number": 0.1}
LATENCY |= {"network_error": 0.1}
NEXT = {"action": "next", "delay_minutes": 0}
# Every outcome of these numbers closes the contact or moves on at once (no retry later).
RULES = {outcome: NEXT for outcome in ("busy", "no_answer", "network_error")}
STRATEGIES = [
    {  # a call, then an SMS to whoever the call did not reach
        "name": "call-then-sms",
        "max_attempts": 2,
        "attempts": [
            {"channel": "voice", "rules": RULES},
            {"channel": "sms", "sms_mode": "send_and_close", "sms_template": "Call us"},
        ],
    },
    {
        "name": "two-calls",
        "max_attempts": 2,
        "attempts": [
            {"channel": "voice", "rules": RULES},
            {"channel": "voice", "rules": RULES},
        ],
    },
]
Key = tuple[str, ...]
EXCHANGES = [e for e in range(230, 999) if e % 100 != 11]


@pytest.fixture
def workers(db: Database, tmp_path: Path) -> Iterator[Workers]:
    if db.dialect != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    group = Workers(db, tmp_path)
    group.env["OUTBOUND_METRICS_LISTEN"] = "127.0.0.1:0"  # each its own port, told in its log
    group.env.pop("OUTBOUND_METRICS_TOKEN", None)  # loopback: open to the test
    try:
        yield group
    finally:
        group.stop_all()


@pytest.fixture
def service(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    config = Config(
        data_dir=tmp_path / "data", engine=False, metrics_token=TOKEN, metrics_cache_seconds=0
    )
    with TestClient(create_app(config, db=db), raise_server_exceptions=False) as test_client:
        yield test_client


def _setup(client: TestClient, admin: Account) -> None:
    settings = {
        "feed_batch_size": 100,
        "dialer": {
            "kind": "simulator",
            "options": {"seed": 7, "jitter": 0.5, "latency": LATENCY, "talk_seconds": 0.3},
        },
        "sms_gateway": {
            "kind": "simulator",
            "options": {
                "seed": 7,
                "submit_latency": 0.2,
                "delivery_latency": 0.3,
                "reply_probability": 0,
                "stop_probability": 0,
            },
        },
    }
    patched = client.patch(f"{API}/settings", json=settings, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    strategies = []
    for body in STRATEGIES:
        made = client.post(f"{API}/strategies", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        strategies.append(made.json()["id"])
    always = {
        "name": "always",
        "time_zone": "UTC",
        "windows": [
            {"day": d, "start": "00:00", "end": "24:00"}
            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
        ],
    }
    schedule = client.post(f"{API}/schedules", json=always, headers=admin.headers).json()["id"]
    rng = random.Random(18)
    for n in range(CAMPAIGNS):
        body = {
            "name": f"metered-{n}",
            "type": "ivr",
            "dialer_target": "menu",
            "strategy_id": strategies[n % 2],
            "schedule_id": schedule,
            "max_concurrent_calls": 60,
            "max_calls_per_second": 200,
        }
        made = client.post(f"{API}/campaigns", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        campaign = made.json()["id"]
        contacts = [
            {"phone1": f"+1415{EXCHANGES[n * 50 + i // 10]}{i % 10}{rng.choice(SUFFIXES)}"}
            for i in range(PER_CAMPAIGN)
        ]
        batch = client.post(
            f"{API}/campaigns/{campaign}/imports/batch",
            json={"contacts": contacts},
            headers=admin.headers,
        )
        assert batch.json()["rows_imported"] == PER_CAMPAIGN, batch.text
        started = client.post(f"{API}/campaigns/{campaign}/start", headers=admin.headers)
        assert started.status_code == 200, started.text


def _listen_url(workers: Workers, index: int) -> str:
    found: list[str] = []

    def told() -> bool:
        found[:] = re.findall(r"metrics on (http://\S+/metrics)", workers.log(index))
        return bool(found)

    _wait(told, within=60, what=f"worker {index} to say where its metrics are", workers=workers)
    return found[0]


def _scrape(url: str, headers: dict[str, str] | None = None) -> list[Any]:
    response = httpx.get(url, headers=headers or {}, timeout=30)
    assert response.status_code == 200, response.text
    return [s for f in text_string_to_metric_families(response.text) for s in f.samples]


def _sum(samples: list[Any], name: str, by: tuple[str, ...]) -> Counter[Key]:
    """The samples of ``name`` summed over everything but the labels ``by``."""
    total: Counter[Key] = Counter()
    for sample in samples:
        if sample.name == name:
            total[tuple(sample.labels[label] for label in by)] += int(sample.value)
    return total


def _pid_of_label(worker: str) -> str:
    return worker.rsplit(":", 1)[1]  # host:pid


def _database_attempts(db: Database) -> Counter[Key]:
    """(pid of its worker, campaign, channel) of every attempt in the database."""
    with db.transaction() as session:
        rows = session.execute(select(Attempt.worker_id, Attempt.campaign_id, Attempt.channel))
        return Counter((w.split(":")[-2], str(c), str(ch)) for w, c, ch in rows)


def _database_results(db: Database) -> Counter[Key]:
    """(campaign, channel, outcome) of every attempt that took a result; an SMS's outcome
    is whatever receipt came last, so SMS are counted by campaign alone (outcome '*')."""
    with db.transaction() as session:
        rows = session.execute(
            select(Attempt.campaign_id, Attempt.channel, Attempt.outcome).where(
                Attempt.outcome.is_not(None)
            )
        )
        return Counter(
            (str(c), str(ch), str(o) if str(ch) == "voice" else "*") for c, ch, o in rows
        )


def _scraped_attempts(scrapes: list[list[Any]]) -> Counter[Key]:
    total: Counter[Key] = Counter()
    for samples in scrapes:
        by_worker = _sum(samples, "outbound_attempts_total", ("worker", "campaign", "channel"))
        for (worker, campaign, channel), n in by_worker.items():
            total[(_pid_of_label(worker), campaign, channel)] += n
    return total


def _scraped_results(scrapes: list[list[Any]]) -> Counter[Key]:
    total: Counter[Key] = Counter()
    for samples in scrapes:
        found = _sum(samples, "outbound_attempt_results_total", ("campaign", "channel", "outcome"))
        for (campaign, channel, outcome), n in found.items():
            total[(campaign, channel, outcome if channel == "voice" else "*")] += n
    return total


def test_attempts_counted_by_the_workers_add_up_to_the_database(
    workers: Workers, service: TestClient, admin: Account, db: Database
) -> None:
    _setup(service, admin)
    procs = [workers.start(), workers.start()]
    urls = [_listen_url(workers, 0), _listen_url(workers, 1)]
    count_attempts = select(func.count()).select_from(Attempt)

    # Mid-run: what the workers counted was committed first, so never more than the table.
    _wait(
        lambda: _scalar(db, count_attempts) >= 300, within=120, what="300 attempts", workers=workers
    )
    during = _scraped_attempts([_scrape(url) for url in urls])
    stored = _database_attempts(db)
    assert sum(during.values()) > 0
    assert all(n <= stored[key] for key, n in during.items()), (during, stored)
    service_scrape = _scrape_service(service)
    assert _sum(service_scrape, "outbound_engine_workers_alive", ())[()] == 2

    open_contacts = select(func.count()).select_from(Contact).where(Contact.state.in_(OPEN_STATES))
    open_attempts = select(func.count()).select_from(Attempt).where(Attempt.ended_at.is_(None))
    _wait(
        lambda: _scalar(db, open_contacts) == 0 and _scalar(db, open_attempts) == 0,
        within=240,
        what="every contact to close and every call to end",
        workers=workers,
    )
    stored = _database_attempts(db)
    # A count follows its commit by moments: read until they meet (a miss fails here).
    deadline = time.monotonic() + 30
    scrapes = [_scrape(url) for url in urls]
    while _scraped_attempts(scrapes) != stored and time.monotonic() < deadline:
        time.sleep(0.2)
        scrapes = [_scrape(url) for url in urls]
    assert _scraped_attempts(scrapes) == stored
    pids = {key[0] for key in stored}
    assert pids == {str(p.pid) for p in procs}, "both workers dialled"
    assert {key[2] for key in stored} == {"voice", "sms"}
    assert _scraped_results(scrapes) == _database_results(db)
    handed = sum(_sum(s, "outbound_dispatch_delay_seconds_count", ())[()] for s in scrapes)
    assert handed == sum(stored.values())  # each hand-over timed once
    assert sum(_sum(s, "outbound_engine_steps_total", ())[()] for s in scrapes) > 0
    assert sum(_sum(s, "outbound_engine_errors_total", ())[()] for s in scrapes) == 0

    service_scrape = _scrape_service(service)
    due = _sum(service_scrape, "outbound_contacts_due", ("campaign",))
    assert len(due) == CAMPAIGNS and set(due.values()) == {0}
    assert set(_sum(service_scrape, "outbound_in_flight", ("channel",)).values()) == {0}


def _scrape_service(service: TestClient) -> list[Any]:
    response = service.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return [s for f in text_string_to_metric_families(response.text) for s in f.samples]
