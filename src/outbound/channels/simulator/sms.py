"""The simulated SMS gateway: a submit response, later a delivery receipt, perhaps a reply."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from outbound.channels.base import InboundSms, Result, Sms
from outbound.channels.simulator.config import SmsSimulatorConfig
from outbound.channels.simulator.lines import SimulatedLines
from outbound.channels.simulator.plan import DLR_DELIVERED, SUBMIT_OK, SmsOdds, sms_fate
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome


class SimulatorSms(SimulatedLines):
    """A message holds a line until its final result (rejection or receipt) has been polled;
    a reply comes later and holds nothing."""

    name = "simulator"
    what = "simulator SMS gateway"
    noun = "messages"

    def __init__(self, config: SmsSimulatorConfig, clock: Clock) -> None:
        super().__init__(config, clock, ledger_kind="sms")
        self._config = config
        self._odds = SmsOdds(
            reject=config.reject_probability,
            delivery=config.delivery_probability,
            reply=config.reply_probability,
            stop=config.stop_probability,
            reply_text=config.reply_text,
        )

    def send(self, messages: Sequence[Sms]) -> None:
        """All or nothing: a batch larger than the free lines is refused whole."""
        if not messages:
            return
        with self._lock:
            now = self._admit(messages)
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

    def poll(self, now: datetime) -> tuple[list[Result], list[InboundSms]]:
        with self._lock:
            events = self._agenda.pop_due(now)
        results = [e for e in events if isinstance(e, Result)]
        inbound = [e for e in events if isinstance(e, InboundSms)]
        return results, inbound
