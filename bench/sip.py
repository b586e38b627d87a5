"""Benchmark: answered calls through the engine + ``sip`` dialer + baresip, against a bare
``ctrl_tcp`` loop driving the same baresip, with SIPp as the far end; then the most calls
held at once.

In one run, on loopback:

- SIPp runs ``tests/peers/sip/uas.xml``; every number ends in 204: answered, the REFER
  accepted at once and reported done (NOTIFY 200) after ``-d`` (1 s): 1-second calls.
- Per repetition (phases interleaved, so the machine's other load moves both alike):

  1. **engine**: the real ``Engine`` (SQLite file by default, ``--database-url`` for
     PostgreSQL) with the ``sip`` dialer on ``--processes`` baresip processes, one IVR
     campaign of ``--calls`` contacts, at most ``--concurrent`` calls at once. Calls/s =
     calls / time from start until every contact is closed (results recorded).
  2. **bare loop**: the same baresip (same binary, the dialer's own config writer and
     ports), the same calls, driven by hand: per process one thread, one command in
     flight, ``dial`` while under its share of ``--concurrent``, on CALL_ESTABLISHED
     ``callfind`` + ``transfer``, a call ends on CALL_CLOSED / TRANSFER_FAILED. No database.

- **Peak**: ``--peak-processes`` processes of 250 calls, SIPp holding each transfer for
  ``--hold`` seconds, ``--peak-calls`` contacts through the engine: the most answered calls
  up at once, as the dialer counts them and as SIPp counts them (sampled each second).

Prints each repetition, the medians, the ratio engine / bare loop (goal: at least 0.8) and
the peak (goal: at least 1,000).

    .venv/bin/python bench/sip.py [--calls 1500] [--concurrent 400] [--processes 2]
        [--repeat 3] [--peak-calls 1200] [--peak-processes 5] [--hold 20]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.peers.sip.far_end

from tests.peers.sip.far_end import FarEnd, dialer_ports

from outbound.app import create_app
from outbound.bootstrap import seed
from outbound.channels.registry import build_dialer, build_sms_gateway
from outbound.channels.sip import SipDialer, SipDialerConfig
from outbound.channels.sip.ctrl import Ctrl
from outbound.channels.sip.process import BaresipProcess
from outbound.channels.sip.relay import Relay
from outbound.config import Config
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.db.migrate import upgrade_head
from outbound.engine.clock import SystemClock
from outbound.engine.worker import Engine
from outbound.models import Contact
from outbound.users import service as users
from outbound.users.roles import Role

API = "/api/v1"
OPEN = (ContactState.PENDING, ContactState.SENT_TO_DIALER)
AREAS = ("415", "650", "408", "510", "925", "707", "831", "209", "559", "916")


def numbers(count: int, area: str) -> list[str]:
    """Valid US numbers ending in 204 (answered, transfer done after SIPp's -d)."""
    return [f"+1{area}{200 + n // 10:03d}{n % 10}204" for n in range(count)]


class Product:
    """A migrated database and the API in-process, to set campaigns up as a user would."""

    def __init__(self, url: str, folder: Path) -> None:
        upgrade_head(url)
        self.db = Database(url)
        with self.db.transaction() as session:
            seed(session)
            admin = users.create_user(
                session, username="bench-admin", password="bench-password-1", role=Role.ADMIN
            )
            token, _ = users.create_api_token(
                session, admin, name="bench", expires_in_days=None, now=SystemClock().now()
            )
        self.headers = {"Authorization": f"Bearer {token}"}
        app = create_app(Config(data_dir=folder / "data", engine=False), db=self.db)
        self.client = TestClient(app)
        self.serial = 0
        always = {
            "name": "always",
            "time_zone": "UTC",
            "windows": [
                {"day": d, "start": "00:00", "end": "24:00"}
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ],
        }
        self.schedule = self._post("/schedules", always)["id"]
        one = {"name": "one-try", "max_attempts": 1, "attempts": [{"channel": "voice"}]}
        self.strategy = self._post("/strategies", one)["id"]

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"{API}{path}", json=body, headers=self.headers)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def campaign(self, phones: list[str], *, concurrent: int) -> int:
        self.serial += 1
        body = {
            "name": f"bench-{self.serial}",
            "type": "ivr",
            "dialer_target": "sip:ivr@127.0.0.1",
            "strategy_id": self.strategy,
            "schedule_id": self.schedule,
            "max_concurrent_calls": concurrent,
            "max_calls_per_second": 1000,
        }
        campaign = int(self._post("/campaigns", body)["id"])
        for start in range(0, len(phones), 5000):
            chunk = [{"phone1": p} for p in phones[start : start + 5000]]
            self._post(f"/campaigns/{campaign}/imports/batch", {"contacts": chunk})
        self._post(f"/campaigns/{campaign}/start", {})
        return campaign

    def open_contacts(self, campaign: int) -> int:
        with self.db.transaction() as session:
            query = select(func.count()).where(
                Contact.campaign_id == campaign, Contact.state.in_(OPEN)
            )
            return int(session.scalar(query) or 0)

    def closed_as(self, campaign: int) -> dict[str, int]:
        with self.db.transaction() as session:
            rows = session.execute(
                select(Contact.state, func.count())
                .where(Contact.campaign_id == campaign)
                .group_by(Contact.state)
            ).all()
        return {str(state): int(n) for state, n in rows}


def sip_options(far_end: FarEnd, processes: int, per_process: int) -> dict[str, Any]:
    return {
        "trunk": far_end.trunk,
        "processes": processes,
        "calls_per_process": per_process,
        "ring_timeout_seconds": 60,
        **dialer_ports(processes),
    }


def engine_run(
    product: Product, options: dict[str, Any], phones: list[str], *, concurrent: int
) -> tuple[float, SipDialer, dict[str, int]]:
    """Calls/s through the engine and the sip dialer, until every contact is closed."""
    clock = SystemClock()
    dialer = build_dialer("sip", options, clock)
    assert isinstance(dialer, SipDialer) and dialer.wait_ready(), "baresip did not start"
    campaign = product.campaign(phones, concurrent=concurrent)
    sms = build_sms_gateway("simulator", {}, clock)
    engine = Engine(product.db, clock=clock, dialer=dialer, sms=sms)
    engine.register()
    started = time.perf_counter()
    check_at = 0.0
    try:
        while True:
            now = time.perf_counter()
            if now >= check_at:
                if product.open_contacts(campaign) == 0:
                    break
                check_at = now + 0.1
            wake = engine.step()
            clock.sleep_until(min(wake, clock.now() + timedelta(milliseconds=100)))
        elapsed = time.perf_counter() - started
    finally:
        dialer.close()
    return len(phones) / elapsed, dialer, product.closed_as(campaign)


class BareLane(threading.Thread):
    """One baresip process driven by hand: dial, transfer on answer, count the ends."""

    def __init__(self, config: SipDialerConfig, index: int, root: Path, calls: list[str]):
        super().__init__(daemon=True)
        self.process = BaresipProcess(config, index, root)
        self.uris = calls
        self.limit = config.calls_per_process
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.ended = 0
        self.refused = 0

    def run(self) -> None:
        ctrl = Ctrl.connect("127.0.0.1", self.process.ctrl_port, self.events.put, within=10,
                            alive=self.process.alive)  # fmt: skip
        ctrl.command("uafind", f"sip:{self.process.config.from_user}@127.0.0.1")
        pending = list(reversed(self.uris))
        live = 0
        while self.ended < len(self.uris):
            while pending and live < self.limit and self.events.empty():
                ctrl.command("dial", pending.pop())
                live += 1
            event = self.events.get(timeout=60)
            kind = event.get("type")
            if kind == "CALL_ESTABLISHED":
                found = ctrl.command("callfind", str(event["id"]))
                if "setting current call" in str(found.get("data")):
                    ctrl.command("transfer", "sip:ivr@127.0.0.1")
            elif kind in ("CALL_CLOSED", "TRANSFER_FAILED"):
                self.ended += 1
                live -= 1
                self.refused += event.get("param") != "Call transfered"
        ctrl.close()


def bare_run(options: dict[str, Any], phones: list[str], *, concurrent: int) -> float:
    processes = options["processes"]
    config = SipDialerConfig(**options | {"calls_per_process": concurrent // processes})
    root = Path(tempfile.mkdtemp(prefix="bench-sip-bare-"))
    uris = [config.dial_uri(p, i) for i, p in enumerate(phones)]
    lanes = [BareLane(config, i, root, uris[i::processes]) for i in range(processes)]
    # The accounts send their INVITEs through the dialer's relay: the bare loop needs it too.
    baresips = {(config.listen_address, config.sip_port + 2 * i) for i in range(processes)}
    relay = Relay((config.listen_address, config.relay_port), config.trunk_address(), baresips)
    for lane in lanes:
        lane.process.start()
    started = time.perf_counter()
    try:
        for lane in lanes:
            lane.start()
        for lane in lanes:
            lane.join()
        elapsed = time.perf_counter() - started
    finally:
        for lane in lanes:
            lane.process.stop()
        relay.stop()
    assert sum(lane.ended for lane in lanes) == len(phones)
    refused = sum(lane.refused for lane in lanes)
    if refused:
        print(f"    (bare loop: {refused} calls not transferred)")
    return len(phones) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--concurrent", type=int, default=400)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peak-calls", type=int, default=1200)
    parser.add_argument("--peak-processes", type=int, default=5)
    parser.add_argument("--hold", type=float, default=20.0)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-sip-"))
    product = Product(args.database_url or f"sqlite:///{folder / 'outbound.db'}", folder)
    print(
        f"database: {product.db.dialect}; {args.processes} baresip processes, {args.calls} "
        f"answered 1-second calls per phase, at most {args.concurrent} at once"
    )
    far_end = FarEnd(folder / "sipp", hold_ms=1000)
    engine_rates: list[float] = []
    bare_rates: list[float] = []
    try:
        for rep in range(args.repeat):
            phones = numbers(args.calls, AREAS[rep % len(AREAS)])
            options = sip_options(far_end, args.processes, 255)
            rate, _, closed = engine_run(product, options, phones, concurrent=args.concurrent)
            engine_rates.append(rate)
            bare = bare_run(options, phones, concurrent=args.concurrent)
            bare_rates.append(bare)
            print(f"  rep {rep + 1}: engine {rate:7.1f} calls/s {closed}", end="")
            print(f"   bare loop {bare:7.1f} calls/s")
    finally:
        far_end.stop()
    engine_median = statistics.median(engine_rates)
    bare_median = statistics.median(bare_rates)
    print(f"median: engine + sip dialer {engine_median:.1f} calls/s, "
          f"bare ctrl_tcp loop {bare_median:.1f} calls/s")  # fmt: skip
    print(f"ratio engine / bare loop: {engine_median / bare_median:.2f} (goal >= 0.8)")

    holder = FarEnd(folder / "sipp-hold", hold_ms=int(args.hold * 1000))
    try:
        phones = numbers(args.peak_calls, AREAS[-1])
        options = sip_options(holder, args.peak_processes, 250)
        _, dialer, closed = engine_run(product, options, phones, concurrent=args.peak_calls)
        print(f"peak: {dialer.held.peak} answered calls up at once by the dialer's count, "
              f"{holder.peak_calls()} by SIPp's ({args.peak_processes} processes, "
              f"{args.peak_calls} calls held {args.hold:g} s; goal >= 1000); {closed}")  # fmt: skip
    finally:
        holder.stop()


if __name__ == "__main__":
    main()
