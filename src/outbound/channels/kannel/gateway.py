"""The ``http`` SMS gateway: Kannel's ``sendsms`` over HTTP, results from its callbacks.

Worker threads hand messages over (GET ``sendsms``, at most ``max_per_second``); Kannel's
answer says whether it took the message: 202 is accepted, 503 (a temporary failure) and a
refused connection are retried after a backoff (Kannel has not taken the message), any other
status fails the message. A request whose answer is lost (a timeout, a connection dropped
after it was sent) may have been taken: it is never sent again, but reported accepted
(``sendsms unconfirmed``) and its delivery report or the SMS expiry decides.

Delivery reports and customer replies come as callbacks to the API, which writes them to
``sms_inbox``; ``poll`` takes them from there, so the API and the engine may be different
processes.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

import httpx

from outbound.channels.base import ChannelError, InboundSms, Result, Sms
from outbound.channels.kannel import inbox
from outbound.channels.kannel.auth import receipt_token
from outbound.channels.kannel.config import HttpSmsConfig
from outbound.db.engine import Database
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome

log = logging.getLogger(__name__)

RECEIPT_PATH = "/api/v1/sms/http/receipt"
UNCONFIRMED = "sendsms unconfirmed"


@dataclass
class _Out:
    sms: Sms
    tries: int = 0


@dataclass(order=True)
class _Retry:
    due: float
    order: int
    out: _Out = field(compare=False)


class HttpSmsGateway:
    name = "http"

    def __init__(self, config: HttpSmsConfig, clock: Clock, db: Database) -> None:
        self._config = config
        self._clock = clock
        self._db = db
        self._lock = threading.Condition()
        self._waiting: deque[_Out] = deque()
        self._retry: list[_Retry] = []
        self._order = itertools.count()
        self._busy = 0
        self._results: list[Result] = []
        self._closed = False
        self._next_slot = time.monotonic()
        self._http = httpx.Client(
            timeout=config.timeout_seconds,
            limits=httpx.Limits(max_connections=config.concurrency),
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"http-sms-{i}", daemon=True)
            for i in range(config.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    # -- the engine's side -------------------------------------------------------------------
    def capacity(self) -> int:
        with self._lock:
            if self._closed:
                return 0
            held = len(self._waiting) + len(self._retry) + self._busy
            return max(0, self._config.capacity - held)

    def send(self, messages: Sequence[Sms]) -> None:
        if not messages:
            return
        with self._lock:
            if self._closed:
                raise ChannelError("the http SMS gateway is closed", retriable=True)
            self._waiting.extend(_Out(m) for m in messages)
            self._lock.notify_all()

    def poll(self, now: datetime) -> tuple[list[Result], list[InboundSms]]:
        with self._lock:
            results, self._results = self._results, []
        with self._db.transaction() as session:
            called_back, inbound = inbox.take(session)
        return results + called_back, inbound

    def next_event(self) -> datetime | None:
        with self._lock:
            return self._clock.now() if self._results else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            left = len(self._waiting) + len(self._retry)
            self._lock.notify_all()
        for thread in self._threads:
            thread.join(timeout=self._config.timeout_seconds + 1)
        self._http.close()
        if left:
            log.warning("http SMS gateway closed with %d messages never sent", left)

    # -- the workers -------------------------------------------------------------------------
    def _next(self) -> _Out | None:
        """The next message to send once the rate allows it; None when closed."""
        with self._lock:
            while True:
                if self._closed:
                    return None
                now = time.monotonic()
                wait = 1.0
                if self._retry and self._retry[0].due <= now:
                    out = heapq.heappop(self._retry).out
                elif self._waiting:
                    out = self._waiting.popleft()
                else:
                    if self._retry:
                        wait = self._retry[0].due - now
                    self._lock.wait(wait)
                    continue
                self._busy += 1
                slot = max(now, self._next_slot)
                self._next_slot = slot + 1 / self._config.max_per_second
                break
        time.sleep(max(0.0, slot - time.monotonic()))
        return out

    def _work(self) -> None:
        while (out := self._next()) is not None:
            try:
                result = self._send(out)
            except Exception:  # a worker must outlive any surprise
                log.exception("sendsms failed")
                result = Result(
                    out.sms.attempt_id, Outcome.SMS_ACCEPTED, UNCONFIRMED, self._clock.now()
                )
            with self._lock:
                self._busy -= 1
                if result is not None:
                    self._results.append(result)
                    continue
                out.tries += 1
                due = time.monotonic() + self._config.retry_delay_seconds * 2 ** (out.tries - 1)
                heapq.heappush(self._retry, _Retry(due, next(self._order), out))
                self._lock.notify_all()

    def _params(self, sms: Sms) -> dict[str, str]:
        cfg = self._config
        receipt = cfg.callback_url.rstrip("/") + RECEIPT_PATH
        query = urlencode(
            {"attempt": sms.attempt_id, "token": receipt_token(cfg.secret, sms.attempt_id)}
        )
        params = {
            "username": cfg.username,
            "password": cfg.password,
            "to": sms.number,
            "text": sms.text,
            "dlr-mask": str(inbox.DLR_MASK),
            # Kannel fills in %d (the report's type) and %A (the SMSC's text).
            "dlr-url": f"{receipt}?{query}&type=%d&reply=%A",
        }
        if cfg.sender:
            params["from"] = cfg.sender
        if cfg.smsc:
            params["smsc"] = cfg.smsc
        if not sms.text.isascii():
            params |= {"charset": "UTF-8", "coding": "2"}
        return params

    def _send(self, out: _Out) -> Result | None:
        """The result of one hand-over; None to try again later."""
        attempt = out.sms.attempt_id
        retriable = out.tries < self._config.retry_max
        try:
            response = self._http.get(self._config.sendsms_url, params=self._params(out.sms))
        except httpx.ConnectError as exc:  # never reached the gateway: safe to send again
            if retriable:
                return None
            return Result(
                attempt, Outcome.SMS_FAILED, f"sendsms unreachable: {exc}"[:255], self._clock.now()
            )
        except httpx.HTTPError as exc:
            log.warning("sendsms for attempt %d unconfirmed: %r", attempt, exc)
            return Result(attempt, Outcome.SMS_ACCEPTED, UNCONFIRMED, self._clock.now())
        body = response.text.strip()[:200]
        raw = f"sendsms {response.status_code} {body}".strip()[:255]
        if response.status_code in (200, 202):
            return Result(attempt, Outcome.SMS_ACCEPTED, raw, self._clock.now())
        if response.status_code == 503 and retriable:
            return None
        return Result(attempt, Outcome.SMS_FAILED, raw, self._clock.now())
