"""A running engine follows a change of its channel settings, without a restart."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import VirtualClock
from outbound.engine.service import build_engine
from outbound.engine.worker import Timing
from tests.conftest import Account
from tests.integration.test_engine_flow import API, START, run, setup_campaign, states

ONE_CALL = {"name": "one-call", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
# Outside the simulator's plan: the weighted draw decides.
FIRST = ["+14155550123", "+14155550124", "+14155550125"]
SECOND = ["+14155550126", "+14155550127", "+14155550128"]


def _dialer(client: TestClient, admin: Account, outcome: str) -> None:
    """Every call drawn as ``outcome``, a minute after it is placed."""
    options: dict[str, Any] = {
        "seed": 7,
        "jitter": 0,
        "outcomes": {outcome: 1},
        "latency": {outcome: 60},
    }
    body = {"dialer": {"kind": "simulator", "options": options}}
    response = client.patch(f"{API}/settings", json=body, headers=admin.headers)
    assert response.status_code == 200, response.text


def test_changed_dialer_settings_reach_the_running_engine(
    client: TestClient, admin: Account, db: Database
) -> None:
    _dialer(client, admin, "invalid_number")
    campaign = setup_campaign(client, admin, strategy=ONE_CALL, phones=FIRST)
    clock = VirtualClock(START)
    engine = build_engine(db, clock=clock, timing=Timing(idle=timedelta(hours=1)))
    engine.register()
    engine.step()  # the first three are dialled on the first settings
    clock.advance(timedelta(seconds=10))  # the settings are read again from now on
    assert set(states(db, campaign).values()) == {ContactState.SENT_TO_DIALER}
    old = engine.dialer

    _dialer(client, admin, "connected")  # while their calls are still in flight
    more = client.post(
        f"{API}/campaigns/{campaign}/imports/batch",
        json={"contacts": [{"phone1": p} for p in SECOND]},
        headers=admin.headers,
    )
    assert more.status_code == 201 and more.json()["rows_imported"] == len(SECOND), more.text
    run(engine, clock, until=START + timedelta(hours=1))

    final = states(db, campaign)
    # The calls placed before the change still report to the engine: none ends Dangling.
    assert {final[p] for p in FIRST} == {ContactState.NOT_CONNECTED}
    # Those placed after it went through a dialer built from the new settings.
    assert {final[p] for p in SECOND} == {ContactState.CONNECTED}
    assert engine.dialer is not old
    assert old.capacity() == 0  # the replaced dialer was closed once drained
    engine.close_channels()
