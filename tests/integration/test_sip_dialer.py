"""The sip dialer end to end: the real engine, real baresip processes, SIPp as the far end.

SIPp answers by the last three digits of the number (tests/peers/sip/uas.xml). The engine
runs on the wall clock (shifted forward where a test needs the dangling timeout to pass).
"""

from __future__ import annotations

import itertools
import os
import signal
import time
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.channels.sip import SipDialer
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.engine.clock import SystemClock
from outbound.engine.worker import Engine, Timing
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Outcome
from tests.conftest import Account
from tests.peers.sip.far_end import FarEnd, dialer_ports

API = "/api/v1"
ONE_TRY = {"name": "one-try", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
ALWAYS = {
    "name": "always",
    "time_zone": "UTC",
    "windows": [
        {"day": d, "start": "00:00", "end": "24:00"}
        for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    ],
}
SERIAL = itertools.count(1)
OPEN = {ContactState.PENDING, ContactState.SENT_TO_DIALER}


class ShiftedClock(SystemClock):
    """The wall clock, moved forward on demand (to let the dangling timeout pass)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def far_end(tmp_path: Path) -> Iterator[FarEnd]:
    peer = FarEnd(tmp_path / "sipp", hold_ms=8000)
    yield peer
    peer.stop()


def sip_options(far_end: FarEnd, *, processes: int = 1, **more: Any) -> dict[str, Any]:
    return {
        "trunk": far_end.trunk,
        "processes": processes,
        "ring_timeout_seconds": 2,
        **dialer_ports(processes),
        "keep_logs": True,
        "work_dir": str(far_end.folder.parent / "baresip"),
        **more,
    }


def start_dialer(options: dict[str, Any], clock: ShiftedClock) -> SipDialer:
    dialer = build_dialer("sip", options, clock)
    assert isinstance(dialer, SipDialer)
    if not dialer.wait_ready():
        dialer.close()
        pytest.fail("baresip did not come up")
    return dialer


def make_engine(db: Database, dialer: SipDialer, clock: ShiftedClock) -> Engine:
    sms = build_sms_gateway("simulator", {"seed": 1}, clock)
    timing = Timing(idle=timedelta(milliseconds=50), refresh=timedelta(milliseconds=500))
    engine = Engine(db, clock=clock, dialer=dialer, sms=sms, worker_id="sip-test", timing=timing)
    engine.register()
    return engine


def start_campaign(
    client: TestClient, admin: Account, *, kind: str, target: str, phones: list[str]
) -> int:
    headers = admin.headers
    name = f"sip-{kind}-{next(SERIAL)}"
    strategy = client.post(
        f"{API}/strategies", json=ONE_TRY | {"name": name}, headers=headers
    ).json()["id"]
    schedule = client.post(
        f"{API}/schedules", json=ALWAYS | {"name": name}, headers=headers
    ).json()["id"]
    body = {
        "name": name,
        "type": kind,
        "dialer_target": target,
        "strategy_id": strategy,
        "schedule_id": schedule,
        "max_concurrent_calls": 1000,
        "max_calls_per_second": 1000,
    }
    created = client.post(f"{API}/campaigns", json=body, headers=headers)
    assert created.status_code == 201, created.text
    campaign = int(created.json()["id"])
    contacts = {"contacts": [{"phone1": p} for p in phones]}
    batch = client.post(f"{API}/campaigns/{campaign}/imports/batch", json=contacts, headers=headers)
    assert batch.json()["rows_imported"] == len(phones), batch.text
    assert client.post(f"{API}/campaigns/{campaign}/start", headers=headers).status_code == 200
    return campaign


def states(db: Database, campaign: int) -> dict[str, ContactState]:
    with db.transaction() as session:
        rows = session.execute(
            select(Contact.phone1_e164, Contact.state).where(Contact.campaign_id == campaign)
        ).all()
    return {p: s for p, s in rows}


def attempts(db: Database) -> dict[str, list[Attempt]]:
    found: dict[str, list[Attempt]] = {}
    with db.transaction() as session:
        for a in session.scalars(select(Attempt).order_by(Attempt.id)):
            session.expunge(a)
            found.setdefault(a.phone_number, []).append(a)
    return found


def drive(engine: Engine, done: Callable[[], bool], *, within: float) -> None:
    """Run the engine's steps on the wall clock until ``done`` (checked every 0.2 s)."""
    deadline = time.monotonic() + within
    check_at = 0.0
    while True:
        if time.monotonic() >= check_at:
            if done():
                return
            check_at = time.monotonic() + 0.2
        assert time.monotonic() < deadline, "the calls did not finish"
        wake = engine.step()
        engine.clock.sleep_until(min(wake, engine.clock.now() + timedelta(milliseconds=50)))


def closed(db: Database, campaign: int) -> Callable[[], bool]:
    return lambda: not OPEN & set(states(db, campaign).values())


# Number → (outcome, raw result) as the engine records them.
EXPECTED = {
    "200": ("connected", "200 OK; transferred"),
    "202": ("dialer_abandoned", "200 OK; transfer failed: 603 Decline"),
    "203": ("dialer_abandoned", "200 OK; transfer failed: 486 Busy Here"),
    "201": (
        "customer_abandoned",
        "200 OK; the callee hung up (BYE) before the transfer",
    ),
    "181": ("no_answer", "ring timeout 2 s (CANCEL)"),
    "480": ("no_answer", "480 Temporarily Unavailable"),
    "408": ("no_answer", "408 Request Timeout"),
    "486": ("busy", "486 Busy Here"),
    "600": ("busy", "600 Busy Everywhere"),
    "404": ("invalid_number", "404 Not Found"),
    "484": ("invalid_number", "484 Address Incomplete"),
    "604": ("invalid_number", "604 Does Not Exist Anywhere"),
    "410": ("invalid_number", "410 Gone"),
    "503": ("network_error", "503 Service Unavailable"),
    "500": ("network_error", "500 Server Internal Error"),
    "502": ("network_error", "502 Bad Gateway"),
    "504": ("network_error", "504 Server Time-out"),
    "603": ("declined", "603 Decline"),
    "999": ("network_error", "no response within 2 s"),
}


def test_every_outcome_arrives_through_baresip(
    client: TestClient, admin: Account, db: Database, far_end: FarEnd
) -> None:
    """Agent campaign: each SIP final response, the REFER accepted, refused or failed."""
    phones = {f"+1415555{code:0>4}": code for code in EXPECTED}
    # A bare extension is transferred to at the trunk: sip:agents@<trunk host>.
    campaign = start_campaign(client, admin, kind="agent", target="agents", phones=list(phones))
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(far_end), clock)
    pids = [lane.process.pid for lane in dialer.lanes]
    try:
        drive(make_engine(db, dialer, clock), closed(db, campaign), within=30)
    finally:
        dialer.close()
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)  # baresip ends with it
    made = attempts(db)
    got = {
        phones[p]: (a[0].outcome.value if a[0].outcome else None, a[0].raw_result)
        for p, a in made.items()
    }
    assert got == EXPECTED
    assert all(len(a) == 1 for a in made.values())
    # The far end saw each number dialled exactly once.
    assert far_end.invites() == {p: 1 for p in phones}


def _wav(path: Path, seconds: float, rate: int = 8000) -> str:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x10\x00" * int(rate * seconds))
    return str(path)


def test_automated_plays_the_message_then_hangs_up(
    client: TestClient, admin: Account, db: Database, far_end: FarEnd, tmp_path: Path
) -> None:
    message = _wav(tmp_path / "message.wav", 1.0)
    # …300 listens to the end; …201 hangs up 0.5 s after answering, mid-message.
    campaign = start_campaign(
        client, admin, kind="automated", target=message, phones=["+14155550300", "+14155550201"]
    )
    unplayable = start_campaign(
        client, admin, kind="automated", target=_wav(tmp_path / "cd.wav", 0.1, rate=44100),
        phones=["+14155550301"],
    )  # fmt: skip
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(far_end), clock)
    try:
        engine = make_engine(db, dialer, clock)
        # Wait for every attempt to have its end, not only for the contacts to close.

        def ended() -> bool:
            return all(a.ended_at for made in attempts(db).values() for a in made)

        drive(
            engine,
            lambda: closed(db, campaign)() and closed(db, unplayable)() and ended(),
            within=30,
        )
    finally:
        dialer.close()
    made = attempts(db)
    played = made["+14155550300"][0]
    assert (played.outcome and played.outcome.value, played.raw_result) == (
        "connected",
        "200 OK; message played",
    )
    assert played.ended_at is not None
    assert played.ended_at - played.sent_at >= timedelta(seconds=1)  # the whole message
    # An Automated call is connected only once its message played out (issue 12 item 5): a
    # callee who hangs up during it abandoned the call, though it was answered.
    gone = made["+14155550201"][0]
    assert gone.outcome is not None and gone.outcome.value == "customer_abandoned"
    assert gone.raw_result == "200 OK; the callee hung up (BYE) during the message"
    assert gone.ended_at is not None
    refused = made["+14155550301"][0]
    assert refused.outcome is not None and refused.outcome.value == "network_error"
    assert refused.raw_result is not None and "8000 Hz mono" in refused.raw_result
    assert "+14155550301" not in far_end.invites()  # never dialled


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # supervision does not touch the DB
def test_a_killed_baresip_restarts_and_its_calls_go_dangling_never_redialled(
    client: TestClient, admin: Account, db: Database, far_end: FarEnd
) -> None:
    client.patch(f"{API}/settings", json={"dangling_timeout_minutes": 1}, headers=admin.headers)
    held = [f"+141555{n:02d}204" for n in range(6)]  # transfer accepted, done after 8 s
    campaign = start_campaign(client, admin, kind="ivr", target="sip:ivr@127.0.0.1", phones=held)
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(far_end, ring_timeout_seconds=60), clock)
    try:
        engine = make_engine(db, dialer, clock)
        drive(engine, lambda: dialer.held.now == len(held), within=15)
        lane = dialer.lanes[0]
        first_pid = lane.process.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        drive(engine, lambda: lane.process.starts == 2 and lane.up, within=15)
        assert lane.process.pid != first_pid and lane.lost == len(held)
        clock.offset = timedelta(minutes=2)  # past the dangling timeout
        drive(engine, closed(db, campaign), within=15)
        assert set(states(db, campaign).values()) == {ContactState.DANGLING}
        # The restarted process takes new calls.
        later = start_campaign(
            client, admin, kind="agent", target="sip:agent@127.0.0.1", phones=["+14155550200"]
        )
        drive(engine, closed(db, later), within=15)
        assert states(db, later) == {"+14155550200": ContactState.CONNECTED}
    finally:
        dialer.close()
    assert far_end.invites() == {p: 1 for p in [*held, "+14155550200"]}  # nothing redialled


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # a load test of the dialer, not the DB
def test_500_simultaneous_calls_through_two_processes(
    client: TestClient, admin: Account, db: Database, far_end: FarEnd
) -> None:
    phones = [
        f"+1415{200 + n // 10:03d}{n % 10}204" for n in range(500)
    ]  # answered, transfer done after 8 s
    campaign = start_campaign(client, admin, kind="ivr", target="sip:ivr@127.0.0.1", phones=phones)
    clock = ShiftedClock()
    options = sip_options(far_end, processes=2, calls_per_process=255, ring_timeout_seconds=60)
    dialer = start_dialer(options, clock)
    try:
        drive(make_engine(db, dialer, clock), closed(db, campaign), within=60)
    finally:
        dialer.close()
    results = Counter((a[0].outcome, a[0].raw_result) for a in attempts(db).values())
    assert results == {(Outcome.CONNECTED, "200 OK; transferred"): 500}
    assert set(states(db, campaign).values()) == {ContactState.CONNECTED}
    assert dialer.held.peak == 500  # all answered and up at once…
    assert far_end.peak_calls() >= 500  # …as the far end counts them too
    peaks = [lane.peak_answered for lane in dialer.lanes]
    assert all(0 < p <= 255 for p in peaks) and sum(peaks) == 500


def test_sip_connection_settings_are_checked_when_saved(
    client: TestClient, admin: Account, db: Database
) -> None:
    url = f"{API}/settings"
    bad = client.patch(
        url,
        json={"dialer": {"kind": "sip", "options": {"trunk": "sip:me@pbx"}}},
        headers=admin.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "dialer.options.trunk"
    good = client.patch(
        url,
        json={"dialer": {"kind": "sip", "options": {"trunk": "sip:10.0.0.5:5060", "processes": 4}}},
        headers=admin.headers,
    )
    assert good.status_code == 200, good.text
    stored = client.get(url, headers=admin.headers).json()["dialer"]
    assert stored["kind"] == "sip"
    assert stored["options"]["processes"] == 4 and stored["options"]["calls_per_process"] == 250


def test_a_baresip_orphaned_by_a_dead_service_is_ended_on_the_next_start(
    far_end: FarEnd,
) -> None:
    """A service killed without stopping its baresip leaves it holding the ports; the next
    start on the same folder ends it instead of failing forever."""
    options = sip_options(far_end)
    first = start_dialer(options, ShiftedClock())
    orphan = first.lanes[0].process.pid
    assert orphan is not None
    first.lanes[0].process._popen = None  # forgotten, as by a process that died
    first.close()
    assert Path(f"/proc/{orphan}").exists()
    second = start_dialer(options, ShiftedClock())
    try:
        assert second.lanes[0].process.pid != orphan
        time.sleep(0.2)
        assert (
            not Path(f"/proc/{orphan}/cmdline").exists()
            or not Path(f"/proc/{orphan}/cmdline").read_bytes()
        )  # gone (or a zombie awaiting its parent)
    finally:
        second.close()
