"""The ``smpp`` SMS gateway: one transceiver session to an SMSC, run by its own I/O thread.

The engine's thread only touches queues under a lock: ``send`` queues messages, ``poll``
takes the results and inbound messages the I/O thread has read. The I/O thread binds,
submits within the window and the rate, reads responses, receipts and MO messages, answers
enquire_link, and binds again with backoff when the connection is lost.

At most once: a submit_sm goes on the wire once. A message whose submit may have reached the
SMSC but whose response never came (the connection dropped, the response timed out) is not
submitted again: it is reported accepted (``submit_sm unconfirmed``) and its receipt or the
SMS expiry decides. Only a submit the SMSC refused with a retriable status (0x58 throttled,
0x14 queue full) is submitted again, after a backoff, and throttling also pauses the session.

Receipts are matched by the SMSC's message id: the gateway remembers the ids it was given,
and the engine keeps each id on its attempt, so a receipt that comes after a restart (the
SMSC keeps undelivered receipts for the next bind) is looked up in the database.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import select
import socket
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from outbound.channels.base import ChannelError, InboundSms, Result, Sms
from outbound.channels.receipts import Receipt, e164, parse_receipt
from outbound.channels.smpp.config import SmppConfig
from outbound.db.engine import Database
from outbound.engine import store
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome

log = logging.getLogger(__name__)

THROTTLED = 0x58
RETRIABLE = frozenset({THROTTLED, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL
STATUS_NAMES = {
    0x00: "OK",
    0x01: "ESME_RINVMSGLEN",
    0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x14: "ESME_RMSGQFUL",
    0x45: "ESME_RSUBMITFAIL",
    0x58: "ESME_RTHROTTLED",
    0x62: "ESME_RINVEXPIRY",
}
SHORT_MESSAGE_MAX = 254  # octets; longer texts go in the message_payload TLV
REMEMBERED_IDS = 200_000
MATCH_FOR_SECONDS = 60.0  # how long a receipt for an unknown message id is looked up
UNCONFIRMED = "submit_sm unconfirmed: connection lost"
_Errors = (
    smpplib.exceptions.ConnectionError,
    smpplib.exceptions.PDUError,
    OSError,
    ValueError,
    AttributeError,
)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1").rstrip("\0")
    return "" if value is None else str(value)


def encode(text: str) -> tuple[bytes, int]:
    """The octets and data_coding: ASCII as the SMSC default alphabet, else Latin-1, else
    UCS-2."""
    for codec, coding in (("ascii", 0x00), ("latin-1", 0x03)):
        try:
            return text.encode(codec), coding
        except UnicodeEncodeError:
            continue
    return text.encode("utf-16-be"), 0x08


def decode(octets: bytes, coding: int) -> str:
    if coding == 0x08:
        return octets.decode("utf-16-be", errors="replace")
    return octets.decode("latin-1")


@dataclass(order=True)
class _Retry:
    due: float
    order: int
    out: _Out = field(compare=False)


@dataclass
class _Out:
    sms: Sms
    tries: int = 0


@dataclass
class _Unmatched:
    receipt: Receipt
    result: Result
    since: float
    next_try: float


class _Lost(Exception):
    """The session must end (the SMSC unbound, a response never came)."""


class SmppGateway:
    name = "smpp"

    def __init__(self, config: SmppConfig, clock: Clock, db: Database | None = None) -> None:
        self._config = config
        self._clock = clock
        self._db = db
        self._lock = threading.Lock()
        self._waiting: deque[_Out] = deque()
        self._retry: list[_Retry] = []
        self._order = itertools.count()
        self._in_flight: dict[int, tuple[_Out, float]] = {}  # sequence -> (message, sent)
        self._results: list[Result] = []
        self._inbound: list[InboundSms] = []
        # Receipts for ids not remembered (given to an earlier session or another worker's):
        # looked up on the attempts, again each second for a while (the attempt may not
        # have its id yet when the receipt overtakes another worker's submit response).
        self._unmatched: list[_Unmatched] = []
        self._by_id: OrderedDict[str, int] = OrderedDict()  # message id -> attempt
        self._bound = False
        self._closed = False
        self._paused_until = 0.0
        self._tokens = 1.0
        self._refilled = time.monotonic()
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="smpp-gateway", daemon=True)
        self._thread.start()

    # -- the engine's side -------------------------------------------------------------------
    def capacity(self) -> int:
        with self._lock:
            if self._closed or not self._bound:
                return 0
            held = len(self._waiting) + len(self._retry) + len(self._in_flight)
            return max(0, self._config.capacity - held)

    def send(self, messages: Sequence[Sms]) -> None:
        if not messages:
            return
        with self._lock:
            if self._closed:
                raise ChannelError("the smpp gateway is closed", retriable=True)
            self._waiting.extend(_Out(m) for m in messages)
        self._wake()

    def poll(self, now: datetime) -> tuple[list[Result], list[InboundSms]]:
        moment = time.monotonic()
        with self._lock:
            results, self._results = self._results, []
            inbound, self._inbound = self._inbound, []
            due = [u for u in self._unmatched if u.next_try <= moment]
            self._unmatched = [u for u in self._unmatched if u.next_try > moment]
        if due:
            results += self._match(due, moment)
        return results, inbound

    def next_event(self) -> datetime | None:
        moment = time.monotonic()
        with self._lock:
            due = any(u.next_try <= moment for u in self._unmatched)
            pending = self._results or self._inbound or due
        return self._clock.now() if pending else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            left = len(self._waiting) + len(self._retry)
        self._stop.set()
        self._wake()
        self._thread.join(timeout=10)
        self._wake_r.close()
        self._wake_w.close()
        if left:
            log.warning("smpp gateway closed with %d messages never submitted", left)

    def _match(self, unmatched: list[_Unmatched], moment: float) -> list[Result]:
        """Receipts for message ids this session was not given: the attempts keep them."""
        if self._db is None:
            log.warning("%d receipts for unknown message ids dropped", len(unmatched))
            return []
        with self._db.transaction() as session:
            found = store.sms_attempts_by_external_id(
                session, [u.receipt.message_id for u in unmatched]
            )
        matched, again = [], []
        for item in unmatched:
            attempt = found.get(item.receipt.message_id)
            if attempt is not None:
                r = item.result
                matched.append(Result(attempt, r.outcome, r.raw, r.at))
            elif moment - item.since < MATCH_FOR_SECONDS:
                item.next_try = moment + 1.0
                again.append(item)
            else:
                log.warning("receipt for unknown message id %r dropped", item.receipt.message_id)
        if again:
            with self._lock:
                self._unmatched += again
        return matched

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # closed, or full: the thread wakes anyway
            self._wake_w.send(b"\0")

    # -- the I/O thread ----------------------------------------------------------------------
    def _run(self) -> None:
        backoff = self._config.reconnect_min_seconds
        while not self._stop.is_set():
            client = self._bind()
            if client is None:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self._config.reconnect_max_seconds)
                continue
            backoff = self._config.reconnect_min_seconds
            try:
                self._session(client)
            except (_Lost, *_Errors) as exc:
                log.warning("smpp session to %s lost: %r", self._config.host, exc)
            except Exception:  # the I/O thread must outlive any surprise from the peer
                log.exception("smpp session to %s failed", self._config.host)
            finally:
                self._end(client)
            self._stop.wait(backoff)

    def _bind(self) -> smpplib.client.Client | None:
        cfg = self._config
        client = smpplib.client.Client(
            cfg.host, cfg.port, timeout=cfg.connect_timeout_seconds, allow_unknown_opt_params=True
        )
        try:
            client.connect()
            # Small PDUs, each awaited: no Nagle delay (a window of 1 would wait on it).
            client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.bind_transceiver(
                system_id=cfg.system_id, password=cfg.password, system_type=cfg.system_type
            )
        except Exception as exc:
            log.warning("smpp bind to %s:%d failed: %r", cfg.host, cfg.port, exc)
            _disconnect(client)
            return None
        log.info("smpp bound to %s:%d as %s", cfg.host, cfg.port, cfg.system_id)
        with self._lock:
            self._bound = True
        return client

    def _end(self, client: smpplib.client.Client) -> None:
        """Submits without a response may have reached the SMSC: never again, reported
        accepted-unconfirmed."""
        if self._stop.is_set():
            with contextlib.suppress(*_Errors):
                client.unbind()
        _disconnect(client)
        at = self._clock.now()
        with self._lock:
            self._bound = False
            lost = [out for out, _ in self._in_flight.values()]
            self._in_flight.clear()
            self._results += [
                Result(out.sms.attempt_id, Outcome.SMS_ACCEPTED, UNCONFIRMED, at) for out in lost
            ]
        if lost:
            log.warning("%d submits unconfirmed when the smpp session ended", len(lost))

    def _session(self, client: smpplib.client.Client) -> None:
        cfg = self._config
        sock = client._socket  # smpplib keeps its socket private; select() needs it
        heard = time.monotonic()
        enquiring: float | None = None
        while not self._stop.is_set():
            self._pump(client)
            readable, _, _ = select.select([sock, self._wake_r], [], [], self._timeout())
            if self._wake_r in readable:
                _drain(self._wake_r)
            if sock in readable:
                pdu = client.read_pdu()
                heard = time.monotonic()
                if pdu.command == "enquire_link_resp":
                    enquiring = None
                self._handle(client, pdu)
            now = time.monotonic()
            with self._lock:
                oldest = min((sent for _, sent in self._in_flight.values()), default=None)
            if oldest is not None and now - oldest > cfg.response_timeout_seconds:
                raise _Lost("no submit_sm_resp within the response timeout")
            if enquiring is not None and now - enquiring > cfg.response_timeout_seconds:
                raise _Lost("no enquire_link_resp within the response timeout")
            if enquiring is None and now - heard > cfg.enquire_link_seconds:
                client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
                enquiring = now

    def _timeout(self) -> float:
        """How long select may wait: until a retry falls due or the pause ends, at most 0.5 s;
        at once when a submit could go now."""
        now = time.monotonic()
        wait = 0.5
        with self._lock:
            if self._retry:
                wait = min(wait, self._retry[0].due - now)
            room = len(self._in_flight) < self._config.window
            ready = bool(self._waiting)
        if now < self._paused_until:
            wait = min(wait, self._paused_until - now)
        elif room and ready:
            wait = min(wait, (1 - self._tokens) / self._config.max_per_second)
        return max(wait, 0.0)

    def _take(self, now: float) -> _Out | None:
        """The next message to submit (caller holds the lock): a retry that is due first."""
        if self._retry and self._retry[0].due <= now:
            return heapq.heappop(self._retry).out
        return self._waiting.popleft() if self._waiting else None

    def _pump(self, client: smpplib.client.Client) -> None:
        cfg = self._config
        burst = max(1.0, min(float(cfg.window), cfg.max_per_second))
        while not self._stop.is_set():
            now = time.monotonic()
            if now < self._paused_until:
                return
            self._tokens = min(burst, self._tokens + (now - self._refilled) * cfg.max_per_second)
            self._refilled = now
            if self._tokens < 1:
                return
            with self._lock:
                if len(self._in_flight) >= cfg.window:
                    return
                out = self._take(now)
                if out is None:
                    return
                pdu = self._submit_sm(client, out.sms)
                # In flight before the first byte leaves: from here on it is never resent.
                self._in_flight[pdu.sequence] = (out, now)
            self._tokens -= 1
            client.send_pdu(pdu)

    def _submit_sm(self, client: smpplib.client.Client, sms: Sms) -> Any:
        cfg = self._config
        octets, coding = encode(sms.text)
        fields: dict[str, Any] = {
            "source_addr_ton": cfg.source_addr_ton,
            "source_addr_npi": cfg.source_addr_npi,
            "source_addr": cfg.source_addr,
            "dest_addr_ton": 1,  # international
            "dest_addr_npi": 1,  # E.164
            "destination_addr": sms.number.removeprefix("+"),
            "esm_class": 0,
            "registered_delivery": 1,  # a receipt on success and on failure
            "data_coding": coding,
        }
        if len(octets) <= SHORT_MESSAGE_MAX:
            fields["short_message"] = octets
        else:
            fields["short_message"] = b""
            fields["message_payload"] = octets
        return smpplib.smpp.make_pdu("submit_sm", client=client, **fields)

    def _handle(self, client: smpplib.client.Client, pdu: Any) -> None:
        command = pdu.command
        if command == "submit_sm_resp":
            self._submitted(pdu.sequence, int(pdu.status), _text(pdu.message_id))
        elif command == "generic_nack":
            self._submitted(pdu.sequence, int(pdu.status) or 0x08, "")
        elif command == "deliver_sm":
            self._delivered(pdu)
            resp = smpplib.smpp.make_pdu("deliver_sm_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif command == "enquire_link":
            resp = smpplib.smpp.make_pdu("enquire_link_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
        elif command == "unbind":
            resp = smpplib.smpp.make_pdu("unbind_resp", client=client)
            resp.sequence = pdu.sequence
            client.send_pdu(resp)
            raise _Lost("the SMSC unbound")

    def _submitted(self, sequence: int, status: int, message_id: str) -> None:
        at = self._clock.now()
        now = time.monotonic()
        cfg = self._config
        with self._lock:
            entry = self._in_flight.pop(sequence, None)
            if entry is None:
                return
            out = entry[0]
            attempt = out.sms.attempt_id
            if status == 0 and message_id:
                self._by_id[message_id] = attempt
                while len(self._by_id) > REMEMBERED_IDS:
                    self._by_id.popitem(last=False)
                self._results.append(
                    Result(
                        attempt,
                        Outcome.SMS_ACCEPTED,
                        "submit_sm_resp OK",
                        at,
                        external_id=message_id,
                    )
                )
                return
            if status in RETRIABLE and out.tries < cfg.retry_max:
                out.tries += 1
                due = now + cfg.retry_delay_seconds * 2 ** (out.tries - 1)
                heapq.heappush(self._retry, _Retry(due, next(self._order), out))
                if status == THROTTLED:  # the SMSC asks the whole session to slow down
                    self._paused_until = max(self._paused_until, now + cfg.retry_delay_seconds)
                return
            raw = f"submit_sm_resp {status_name(status or 0x08)}"
            if out.tries:
                raw += f" after {out.tries + 1} tries"
            self._results.append(Result(attempt, Outcome.SMS_FAILED, raw, at))

    def _delivered(self, pdu: Any) -> None:
        at = self._clock.now()
        octets = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        if not isinstance(octets, bytes):
            octets = str(octets).encode("latin-1", errors="replace")
        if int(pdu.esm_class or 0) & 0x04:  # an SMSC delivery receipt
            state = getattr(pdu, "message_state", None)
            receipt = parse_receipt(
                octets.decode("latin-1"),
                message_id=_text(getattr(pdu, "receipted_message_id", None)) or None,
                message_state=int(state) if state is not None else None,
            )
            outcome = receipt.outcome if receipt else None
            if receipt is None or outcome is None:
                return  # an intermediate state (ENROUTE, ACCEPTD), or unreadable
            with self._lock:
                attempt = self._by_id.pop(receipt.message_id, None)
                result = Result(attempt or 0, outcome, receipt.raw, at)
                if attempt is None:
                    now = time.monotonic()
                    self._unmatched.append(_Unmatched(receipt, result, now, now))
                else:
                    self._results.append(result)
            return
        number = e164(_text(pdu.source_addr))
        if number is None:
            log.info("inbound message from %r ignored: not a phone number", pdu.source_addr)
            return
        text = decode(octets, int(pdu.data_coding or 0))
        with self._lock:
            self._inbound.append(InboundSms(number, text, at))


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def _disconnect(client: smpplib.client.Client) -> None:
    with contextlib.suppress(*_Errors):
        client.disconnect()
