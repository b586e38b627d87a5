"""The simulated dialer: each call's result is decided at hand-over and due after its latency;
a connected call reports its answer, then its end after ``talk_seconds``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from outbound.channels.base import AgentDesk, Dial, Result
from outbound.channels.simulator.config import SimulatorConfig
from outbound.channels.simulator.lines import SimulatedLines
from outbound.channels.simulator.plan import WeightedOutcomes, voice_fate
from outbound.engine.clock import Clock
from outbound.strategies.outcomes import Outcome


class SimulatorDialer(SimulatedLines):
    name = "simulator"
    what = "simulator dialer"
    noun = "calls"

    def __init__(self, config: SimulatorConfig, clock: Clock) -> None:
        super().__init__(config, clock, ledger_kind="dial")
        self._config = config
        self._mix = WeightedOutcomes(config.outcomes)
        self._desk: AgentDesk | None = None
        self._reserved: set[int] = set()  # attempts dialled for a reserved agent
        self._abandoned: set[int] = set()

    def attach_desk(self, desk: AgentDesk) -> None:
        self._desk = desk

    def dial(self, dials: Sequence[Dial]) -> None:
        """All or nothing: a batch larger than the free lines is refused whole."""
        if not dials:
            return
        with self._lock:
            now = self._admit(dials)
            for one in dials:
                if one.reservation_id is not None:
                    self._reserved.add(one.attempt_id)
                self._schedule(one, now)

    def _schedule(self, call: Dial, now: datetime) -> None:
        rng = self._random.for_attempt(call.attempt_id, call.number)
        fate = voice_fate(call.number, rng, self._mix)
        self._agenda.admit(1)
        if fate is None:  # never answers: the line frees later, nothing is reported
            due = now + self._delay(self._config.lost_call_seconds, rng)
            self._agenda.add(due, None, final=True)
            return
        outcome, raw = fate
        due = now + self._delay(self._config.latency[outcome], rng)
        if outcome is not Outcome.CONNECTED:
            self._agenda.add(due, Result(call.attempt_id, outcome, raw, due), final=True)
            return
        # Answered: the outcome now, the end after the conversation (it frees the line).
        self._agenda.add(
            due, Result(call.attempt_id, outcome, raw, due, answered=True), final=False
        )
        end = due + self._delay(self._config.talk_seconds, rng)
        talk = f"{raw}; hung up after {(end - due).total_seconds():.0f} s"
        self._agenda.add(end, Result(call.attempt_id, outcome, talk, end), final=True)

    def poll(self, now: datetime) -> list[Result]:
        with self._lock:
            found = [e for e in self._agenda.pop_due(now) if isinstance(e, Result)]
        return [self._to_agent(r) for r in found]

    def _to_agent(self, result: Result) -> Result:
        """A progressive call: at the answer, the reserved agent takes the customer, or the
        customer is abandoned (no agent free; the call is then ``dialer_abandoned``)."""
        if result.attempt_id not in self._reserved or self._desk is None:
            return result
        if result.answered:
            if self._desk.take(result.attempt_id) is not None:
                return result
            self._abandoned.add(result.attempt_id)
            raw = "200 OK; no agent free: abandon message"
            return replace(result, outcome=Outcome.DIALER_ABANDONED, raw=raw, abandoned=True)
        self._reserved.discard(result.attempt_id)
        if result.attempt_id in self._abandoned:
            self._abandoned.discard(result.attempt_id)
            return replace(result, outcome=Outcome.DIALER_ABANDONED)
        return result
