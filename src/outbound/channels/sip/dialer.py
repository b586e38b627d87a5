"""The ``sip`` dialer: calls through one or more baresip processes to a SIP trunk.

``dial`` only queues: each lane's thread sends the commands. Calls go to the lane with the
most free lines, so the load spreads over the processes; a batch larger than the free lines
of the lanes that are up is refused whole (the engine records those attempts as a network
error, none is dialled). A call the dialer cannot make (no transfer target, an audio file
baresip cannot play) is answered at once with a network error and never dialled.
"""

from __future__ import annotations

import atexit
import logging
import os
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from outbound.channels.base import AgentDesk, ChannelError, Dial, Result
from outbound.channels.sip.calls import Call, Plan, plan_call
from outbound.channels.sip.config import SipDialerConfig
from outbound.channels.sip.handover import Hands
from outbound.channels.sip.lane import BackOff, Gauge, Lane
from outbound.channels.sip.messages import default_message, played_copy
from outbound.channels.sip.relay import Relay
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome

log = logging.getLogger(__name__)
_OPEN: weakref.WeakSet[SipDialer] = weakref.WeakSet()


@atexit.register
def _close_open_dialers() -> None:
    """An interpreter leaving without closing a dialer must not leave baresip running."""
    for dialer in list(_OPEN):
        dialer.close()


class SipDialer:
    name = "sip"

    def __init__(self, config: SipDialerConfig, clock: Clock) -> None:
        self.config = config
        self._clock = clock
        # The same folder on every start (by control port), so that a baresip orphaned by a
        # service that died is found and ended before its ports are needed again.
        default = Path(tempfile.gettempdir()) / f"outbound-sip-{config.ctrl_port}"
        self.root = Path(config.work_dir) if config.work_dir else default
        self._lock = threading.Lock()
        self._results: list[Result] = []
        self._closed = False
        self.held = Gauge()  # answered calls up at once: now and peak
        self.backoff = BackOff()
        self.hands = Hands(config.listen_address)
        try:
            trunk = config.trunk_address()
            baresips = {
                (config.listen_address, config.sip_port + 2 * i) for i in range(config.processes)
            }
            self.relay = Relay((config.listen_address, config.relay_port), trunk, baresips)
        except OSError as exc:
            raise ChannelError(
                f"the sip dialer cannot relay to its trunk from port {config.relay_port}: {exc}",
                retriable=True,
            ) from None
        self.lanes = [
            Lane(
                config,
                i,
                self.root,
                clock=clock,
                report=self._add,
                held=self.held,
                relay=self.relay,
                backoff=self.backoff,
                hands=self.hands,
            )
            for i in range(config.processes)
        ]
        _OPEN.add(self)
        for lane in self.lanes:
            lane.start()

    def attach_desk(self, desk: AgentDesk) -> None:
        """Answered progressive calls ask this desk for their reserved agent."""
        self.hands.desk = desk

    def _abandon_audio(self, dial: Dial) -> Path | str:
        """The abandon message this call would play, as the dialer plays it (led in by
        silence), or why there is none to play."""
        if dial.abandon_message:
            source = os.path.join(self.config.audio_dir or "", dial.abandon_message)
        else:
            source = str(default_message(self.root / "messages", dial.opt_out_digit))
        return played_copy(source, self.root / "messages")

    def _add(self, result: Result) -> None:
        with self._lock:
            self._results.append(result)

    def wait_ready(self, timeout: float = 15.0) -> bool:
        """True once every process is up (the engine needs no wait: capacity is 0 till then)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(lane.up for lane in self.lanes):
                return True
            time.sleep(0.02)
        return False

    def capacity(self) -> int:
        with self._lock:
            if self._closed:
                return 0
        if self.backoff.left() > 0:
            return 0
        return sum(lane.free() for lane in self.lanes)

    def why_no_room(self) -> str | None:
        """Why it takes no calls now, when the reason is the trunk's (for "why idle")."""
        left = self.backoff.left()
        if left <= 0:
            return None
        until = (self._clock.now() + timedelta(seconds=left)).strftime("%H:%M:%S UTC")
        return f"the trunk answered {self.backoff.reason}: no calls until {until}"

    def dial(self, dials: Sequence[Dial]) -> None:
        if not dials:
            return
        with self._lock:
            if self._closed:
                raise ChannelError("the sip dialer is closed", retriable=True)
        plans = [
            plan_call(
                one,
                self.config,
                abandon_audio=self._abandon_audio(one) if one.agent else None,
            )
            for one in dials
        ]
        free = [lane.free() for lane in self.lanes]
        wanted = sum(isinstance(p, Plan) for p in plans)
        if wanted > sum(free):
            raise ChannelError(
                f"the sip dialer has {sum(free)} free lines, {wanted} calls offered",
                retriable=True,
            )
        now = self._clock.now()
        for one, plan in zip(dials, plans, strict=True):
            if not isinstance(plan, Plan):
                self._add(
                    Result(one.attempt_id, Outcome.NETWORK_ERROR, f"not dialled: {plan}", now)
                )
                continue
            best = max(range(len(free)), key=free.__getitem__)
            free[best] -= 1
            uri = self.config.dial_uri(one.number, one.attempt_id)
            self.lanes[best].submit(Call(one.attempt_id, uri, plan))

    def poll(self, now: datetime) -> list[Result]:
        with self._lock:
            found, self._results = self._results, []
        return found

    def next_event(self) -> datetime | None:
        with self._lock:
            return self._clock.now() if self._results else None

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for lane in self.lanes:
            lane.stop()
        self.hands.close()
        self.relay.stop()
        _OPEN.discard(self)
