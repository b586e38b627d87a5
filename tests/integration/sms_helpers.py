"""What the SMS gateway tests share: a free port, an SMS campaign, the engine on the wall
clock driven until the contacts have reached their states."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.channels.base import SmsGateway
from outbound.channels.registry import build_dialer
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import SystemClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt
from tests.conftest import Account
from tests.integration.test_engine_flow import setup_campaign, states

API = "/api/v1"
SMS_ONLY = {
    "name": "sms-only",
    "max_attempts": 1,
    "attempts": [{"channel": "sms", "sms_template": "Hello {param1}", "sms_expiry_minutes": 60}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sms_campaign(client: TestClient, admin: Account, phones: list[str]) -> int:
    return setup_campaign(client, admin, strategy=SMS_ONLY, phones=phones)


def engine_for(db: Database, sms: SmsGateway, *, worker: str = "sms-test") -> Engine:
    clock = SystemClock()
    dialer = build_dialer("simulator", {}, clock)
    timing = Timing(idle=timedelta(milliseconds=50), refresh=timedelta(seconds=1))
    return Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id=worker, timing=timing)


def drive(
    engine: Engine,
    done: Callable[[], bool],
    *,
    within: float = 30.0,
    show: Callable[[], object] | None = None,
) -> None:
    """Run the engine's steps until ``done()`` holds; fail (not hang) after ``within`` s,
    saying what ``show()`` gives (where the contacts are) if it is given."""
    engine.register()
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() >= deadline:
            seen = f": {show()}" if show is not None else ""
            raise AssertionError(f"the contacts did not reach their states{seen}")
        wake = engine.step()
        pause = (wake - engine.clock.now()).total_seconds()
        time.sleep(min(max(pause, 0.0), 0.05))


def reached(db: Database, campaign: int, expected: dict[str, ContactState]) -> Callable[[], bool]:
    def check() -> bool:
        now = states(db, campaign)
        return all(now.get(number) is state for number, state in expected.items())

    return check


def attempts_by_number(db: Database) -> dict[str, list[Attempt]]:
    with db.transaction() as session:
        rows = session.scalars(select(Attempt).order_by(Attempt.id)).all()
        session.expunge_all()
    found: dict[str, list[Attempt]] = {}
    for row in rows:
        found.setdefault(row.phone_number, []).append(row)
    return found


class ShiftedClock(SystemClock):
    """The wall clock, which a test can move forward at once (past an SMS expiry) while the
    SMSC and the gateway keep running in real time."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def now(self) -> datetime:
        return super().now() + self.shift


def contact_of(client: TestClient, admin: Account, campaign: int, number: str) -> dict[str, Any]:
    page = client.get(
        f"{API}/campaigns/{campaign}/contacts", params={"q": number}, headers=admin.headers
    )
    assert page.status_code == 200, page.text
    (item,) = page.json()["items"]
    detail = client.get(f"{API}/contacts/{item['id']}", headers=admin.headers)
    assert detail.status_code == 200, detail.text
    return dict(detail.json())


def dnc_listed(client: TestClient, admin: Account, number: str) -> bool:
    check = client.get(f"{API}/dnc/check", params={"number": number}, headers=admin.headers)
    return bool(check.json()["listed"])
