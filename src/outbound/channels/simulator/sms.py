"""The simulated SMS gateway: a submit response, later a delivery receipt, perhaps a reply."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from outbound.channels.base import ChannelError, InboundSms, Result, Sms
from outbound.channels.simulator.agenda import Agenda, Ledger, Randomness, delay
from outbound.channels.simulator.config import SmsSimulatorConfig
from outbound.channels.simulator.plan import DLR_DELIVERED, SUBMIT_OK, SmsOdds, sms_fate
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome


class SimulatorSms:
    """A message holds a line until its final result (rejection or receipt) has been polled;
    a reply comes later and holds nothing."""

    name = "simulator"

    def __init__(self, config: SmsSimulatorConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock
        self._odds = SmsOdds(
            reject=config.reject_probability,
            delivery=config.delivery_probability,
            reply=config.reply_probability,
            stop=config.stop_probability,
            reply_text=config.reply_text,
        )
        self._random = Randomness(config.seed)
        self._agenda = Agenda(config.capacity)
        self._ledger = Ledger(config.ledger_path, kind="sms") if config.ledger_path else None
        self._lock = threading.Lock()
        self._closed = False

    def capacity(self) -> int:
        with self._lock:
            return 0 if self._closed else self._agenda.free()

    def send(self, messages: Sequence[Sms]) -> None:
        """All or nothing: a batch larger than the free lines is refused whole."""
        if not messages:
            return
        with self._lock:
            if self._closed:
                raise ChannelError("the simulator SMS gateway is closed", retriable=True)
            free = self._agenda.free()
            if len(messages) > free:
                raise ChannelError(
                    f"the simulator SMS gateway has {free} free lines, "
                    f"{len(messages)} messages offered",
                    retriable=True,
                )
            now = self._clock.now()
            if self._ledger is not None:
                self._ledger.record(((m.attempt_id, m.number) for m in messages), now)
            for one in messages:
                self._schedule(one, now)

    def _schedule(self, message: Sms, now: datetime) -> None:
        rng = self._random.for_attempt(message.attempt_id, message.number)
        fate = sms_fate(message.number, rng, self._odds)
        self._agenda.admit(1)
        attempt = message.attempt_id
        submitted = now + self._delay(self._config.submit_latency, rng)
        if fate.rejected is not None:
            due = now if fate.at_once else submitted
            self._agenda.add(
                due, Result(attempt, Outcome.SMS_FAILED, fate.rejected, due), final=True
            )
            return
        self._agenda.add(
            submitted, Result(attempt, Outcome.SMS_ACCEPTED, SUBMIT_OK, submitted), final=False
        )
        receipt = submitted + self._delay(self._config.delivery_latency, rng)
        delivered = fate.receipt == DLR_DELIVERED
        outcome = Outcome.SMS_DELIVERED if delivered else Outcome.SMS_FAILED
        self._agenda.add(receipt, Result(attempt, outcome, fate.receipt, receipt), final=True)
        if delivered and fate.reply is not None:
            replied = receipt + self._delay(self._config.reply_latency, rng)
            self._agenda.add(replied, InboundSms(message.number, fate.reply, replied), final=False)

    def _delay(self, seconds: float, rng: random.Random) -> timedelta:
        return delay(seconds, rng, jitter=self._config.jitter, instant=self._config.instant)

    def poll(self, now: datetime) -> tuple[list[Result], list[InboundSms]]:
        with self._lock:
            events = self._agenda.pop_due(now)
        results = [e for e in events if isinstance(e, Result)]
        inbound = [e for e in events if isinstance(e, InboundSms)]
        return results, inbound

    def next_event(self) -> datetime | None:
        with self._lock:
            return self._agenda.next_due()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._agenda.clear()
            if self._ledger is not None:
                self._ledger.close()
