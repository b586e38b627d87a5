"""The simulators' options, as stored in settings ``dialer.options`` / ``sms_gateway.options``.

Latencies are seconds from the hand-over until the event; each one is spread uniformly by
``jitter`` (0.2: ±20 %). ``instant`` makes every event due at the hand-over, for benchmarks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from outbound.channels.simulator.plan import DIALER_OUTCOMES
from outbound.strategies.outcomes import Outcome

# Strict: a JSON false is not a 0 (the document says number).
Seconds = Annotated[float, Field(ge=0, le=86_400, strict=True)]
Probability = Annotated[float, Field(ge=0, le=1, strict=True)]
Weight = Annotated[float, Field(ge=0, le=1_000_000, strict=True)]

DEFAULT_WEIGHTS: dict[Outcome, float] = {
    Outcome.CONNECTED: 0.35,
    Outcome.NO_ANSWER: 0.25,
    Outcome.BUSY: 0.15,
    Outcome.ANSWERING_MACHINE: 0.10,
    Outcome.NETWORK_ERROR: 0.03,
    Outcome.INVALID_NUMBER: 0.02,
    Outcome.CUSTOMER_ABANDONED: 0.03,
    Outcome.DIALER_ABANDONED: 0.02,
    Outcome.DECLINED: 0.03,
    Outcome.FAX: 0.02,
}
# Connected: ringing until the answer (the conversation is ``talk_seconds``); no answer:
# the ring timeout.
DEFAULT_LATENCY: dict[Outcome, float] = {
    Outcome.CONNECTED: 15.0,
    Outcome.NO_ANSWER: 30.0,
    Outcome.BUSY: 3.0,
    Outcome.ANSWERING_MACHINE: 20.0,
    Outcome.NETWORK_ERROR: 2.0,
    Outcome.INVALID_NUMBER: 1.0,
    Outcome.CUSTOMER_ABANDONED: 12.0,
    Outcome.DIALER_ABANDONED: 10.0,
    Outcome.DECLINED: 8.0,
    Outcome.FAX: 10.0,
}


def _voice_only(value: dict[Outcome, float]) -> dict[Outcome, float]:
    foreign = sorted(o.value for o in value if o not in DIALER_OUTCOMES)
    if foreign:
        allowed = ", ".join(sorted(o.value for o in DIALER_OUTCOMES))
        raise ValueError(f"not a dialer outcome: {', '.join(foreign)}; allowed: {allowed}")
    return value


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    capacity: Annotated[int, Field(ge=1, le=1_000_000, strict=True)] = 1000
    seed: Annotated[int, Field(ge=0, le=2**63 - 1, strict=True)] | None = None
    instant: Annotated[bool, Field(strict=True)] = False
    jitter: Probability = 0.2
    # Every hand-over appended as one JSON line, so a test can prove nothing went out twice.
    ledger_path: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None


class SimulatorConfig(_Common):
    """The simulated dialer: ``outcomes`` weigh the draw for numbers outside the plan."""

    outcomes: dict[Outcome, Weight] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    # Only the outcomes given change; the others keep their default.
    latency: dict[Outcome, Seconds] = Field(default_factory=lambda: dict(DEFAULT_LATENCY))
    # How long a call that never answers (…999) holds a line before the dialer drops it.
    lost_call_seconds: Seconds = 120.0
    # How long a connected call talks after its answer: the answer is reported when it
    # happens, the end (which frees the line) this much later.
    talk_seconds: Seconds = 45.0

    @field_validator("outcomes")
    @classmethod
    def _weights(cls, value: dict[Outcome, float]) -> dict[Outcome, float]:
        _voice_only(value)
        if sum(value.values()) <= 0:
            raise ValueError("at least one outcome needs a weight above 0")
        return value

    @field_validator("latency")
    @classmethod
    def _latency(cls, value: dict[Outcome, float]) -> dict[Outcome, float]:
        return DEFAULT_LATENCY | _voice_only(value)


class SmsSimulatorConfig(_Common):
    """The simulated SMS gateway: probabilities for numbers outside the plan.

    A message is first rejected at submit (``reject_probability``), else accepted; an accepted
    one is delivered with ``delivery_probability``; a delivered one is answered ``STOP`` with
    ``stop_probability`` or ``reply_text`` with ``reply_probability``.
    """

    reject_probability: Probability = 0.01
    delivery_probability: Probability = 0.97
    reply_probability: Probability = 0.05
    stop_probability: Probability = 0.01
    reply_text: Annotated[str, StringConstraints(min_length=1, max_length=160)] = "YES"
    submit_latency: Seconds = 0.5
    delivery_latency: Seconds = 5.0
    reply_latency: Seconds = 60.0

    @field_validator("stop_probability")
    @classmethod
    def _replies(cls, value: float, info: ValidationInfo) -> float:
        reply = info.data.get("reply_probability", 0.0)
        if reply + value > 1:
            raise ValueError("reply_probability plus stop_probability must not exceed 1")
        return value
