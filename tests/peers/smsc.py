"""An SMSC for the tests, on PyPI ``smpp34``'s server, run by an asyncio loop in a thread.

The last three digits of the destination decide what happens to a submit_sm:

=====  ===============================================================================
digits what the SMSC does
=====  ===============================================================================
998    refuses it: ESME_RINVDSTADR (0x0B)
997    throttles the first two submits (0x58), accepts the third: receipt DELIVRD
994    throttles every submit (0x58)
999    accepts, receipt UNDELIV
996    accepts, receipt REJECTD
555    accepts, receipt DELIVRD, then the handset replies "Yes please"
556    accepts, receipt DELIVRD, then the handset replies "STOP"
other  accepts, receipt DELIVRD
=====  ===============================================================================

It counts every submit_sm by destination (``submits``) and every one it accepted
(``accepted``), so a test can prove no message went out twice. Receipts and MO messages go
through an outbox that waits for a bound session: like a real SMSC, it keeps them for the
next bind when the connection is lost. ``throttle_per_second`` throttles (0x58) every
submit beyond that many in a second; ``drop_at``: that submit (counting from 1) is accepted
but never answered, and ``on_drop`` is called (a test cuts the connection there, so the
client cannot know its outcome); ``hold`` keeps receipts and replies in the outbox until
``release()``.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import smpp34

RINVDSTADR = 0x0B
RTHROTTLED = 0x58


def receipt_text(message_id: str, stat: str, err: str) -> bytes:
    stamp = time.strftime("%y%m%d%H%M")
    delivered = "001" if stat == "DELIVRD" else "000"
    return (
        f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{stamp} done date:{stamp} "
        f"stat:{stat} err:{err} text:"
    ).encode()


class Smsc:
    def __init__(
        self,
        port: int,
        *,
        throttle_per_second: int | None = None,
        drop_at: int | None = None,
        on_drop: Callable[[], None] | None = None,
        hold: bool = False,
    ) -> None:
        self.port = port
        self.throttle_per_second = throttle_per_second
        self.drop_at = drop_at
        self.on_drop = on_drop
        self.submits: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.throttled = 0
        self.submitted_at: list[float] = []  # when each submit_sm arrived (monotonic)
        self.binds = 0
        self.delivered: list[tuple[str, bytes]] = []  # (destination, short_message) pushed out
        self._hold = threading.Event()
        if hold:
            self._hold.set()
        self._ids = itertools.count(1)
        self._prefix = uuid.uuid4().hex[:6]  # ids unique across simulator runs, as an SMSC's
        self._outbox: deque[tuple[str, bytes, dict[str, Any]]] = deque()
        self._sessions: dict[str, smpp34.Esme] = {}
        self._second = (0, 0)
        self._seen = 0
        self._held_events: list[Any] = []
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),))
        self._stopping: asyncio.Event | None = None

    # -- control, from the test's thread ------------------------------------------------------
    def start(self) -> Smsc:
        self._thread.start()
        assert self._ready.wait(10), "the SMSC simulator did not start"
        return self

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def release(self) -> None:
        self._hold.clear()

    def hold(self) -> None:
        self._hold.set()

    def outbox_size(self) -> int:
        return len(self._outbox)

    def mo(self, sender: str, text: str, *, to: str = "ACME", ucs2: bool = False) -> None:
        """A customer's message (MO) from ``sender`` (E.164), pushed to the bound client
        after whatever is queued: GSM/latin-1 text, or UCS-2 (data_coding 8) for any."""
        body = text.encode("utf-16-be") if ucs2 else text.encode("latin-1")
        extra = {"source_addr": sender.removeprefix("+"), "source_addr_ton": 1}
        self._loop.call_soon_threadsafe(
            self._outbox.append, (to, body, {**extra, "data_coding": 8 if ucs2 else 0})
        )

    # -- the SMSC -----------------------------------------------------------------------------
    async def _main(self) -> None:
        self._stopping = asyncio.Event()
        server = await self._listen()
        self._ready.set()
        pusher = asyncio.ensure_future(self._push())
        while not self._stopping.is_set():
            nxt = asyncio.ensure_future(server.next())
            stop = asyncio.ensure_future(self._stopping.wait())
            done, _ = await asyncio.wait({nxt, stop}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                nxt.cancel()
                break
            stop.cancel()
            self._on(nxt.result())
        pusher.cancel()
        await server.stop()

    async def _listen(self) -> smpp34.Server:
        server = smpp34.Server(
            host="127.0.0.1", port=self.port, system_id="TESTSMSC", inbound_capacity=100_000
        )
        await server.start()
        return server

    def _on(self, event: Any) -> None:
        """Handle one server event."""
        if isinstance(event, smpp34.Esme):
            self._sessions[event.session_id] = event
            self.binds += 1
            return
        if isinstance(event, smpp34.Unbound):
            self._sessions.pop(event.session_id, None)
            return
        if not isinstance(event, smpp34.SubmitSmEvent):
            return
        destination = event.destination_addr
        self.submits[destination] += 1
        self.submitted_at.append(time.monotonic())
        self._seen += 1
        if self.drop_at is not None and self._seen == self.drop_at:
            self._held_events.append(event)  # no answer: the client cannot know
            self.accepted[destination] += 1
            self._deliver(destination, event, "DELIVRD", "000")
            if self.on_drop is not None:
                self.on_drop()
            return
        if self._over_rate() or destination.endswith("994"):
            self.throttled += 1
            event.reject(RTHROTTLED)
            return
        if destination.endswith("997") and self.submits[destination] <= 2:
            self.throttled += 1
            event.reject(RTHROTTLED)
            return
        if destination.endswith("998"):
            event.reject(RINVDSTADR)
            return
        stat, err = "DELIVRD", "000"
        if destination.endswith("999"):
            stat, err = "UNDELIV", "001"
        elif destination.endswith("996"):
            stat, err = "REJECTD", "002"
        self.accepted[destination] += 1
        self._deliver(destination, event, stat, err)

    def _over_rate(self) -> bool:
        if self.throttle_per_second is None:
            return
        second, count = self._second
        now = int(time.monotonic())
        if now != second:
            second, count = now, 0
        count += 1
        self._second = (second, count)
        return count > self.throttle_per_second

    def _deliver(self, destination: str, event: Any, stat: str, err: str) -> None:
        message_id = f"{self._prefix}{next(self._ids):06x}"
        if not self._held_events or self._held_events[-1] is not event:
            event.accept(message_id=message_id)
        source = event.source_addr
        if event.registered_delivery & 0x01:
            state = {"DELIVRD": 2, "UNDELIV": 5, "REJECTD": 8}[stat]
            tlvs = [
                smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, message_id.encode() + b"\0"),
                smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, bytes([state])),
            ]
            body = receipt_text(message_id, stat, err)
            self._outbox.append(
                (source, body, {"source_addr": destination, "esm_class": 0x04, "tlvs": tlvs})
            )
        reply = {"555": b"Yes please", "556": b"STOP"}.get(destination[-3:])
        if reply is not None:
            self._outbox.append((source, reply, {"source_addr": destination, "source_addr_ton": 1}))

    async def _push(self) -> None:
        """Receipts and replies, in order, over any bound session; kept while none is."""
        while True:
            if not self._outbox or self._hold.is_set() or not self._sessions:
                await asyncio.sleep(0.01)
                continue
            to, body, extra = self._outbox[0]
            esme = list(self._sessions.values())[-1]  # the newest bind
            try:  # a session whose connection died may never answer
                response = await asyncio.wait_for(esme.deliver_sm(to, body, **extra), 1.0)
                ok = response.is_success
            except Exception:
                ok = False
            if ok:
                self._outbox.popleft()
                self.delivered.append((extra["source_addr"], body))
            else:
                await asyncio.sleep(0.05)
