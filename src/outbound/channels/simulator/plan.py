"""What happens to a number: the deterministic plan by its last three digits, else a weighted draw.

The plan tables are documented in the package docstring; keep the two in step.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Protocol

from outbound.strategies.outcomes import Outcome


class Uniform(Protocol):
    def random(self) -> float:
        """A draw in [0, 1)."""


# Last three digits -> the call's outcome and the raw status the dialer reports.
VOICE_PLAN: dict[str, tuple[Outcome, str]] = {
    "200": (Outcome.CONNECTED, "200 OK"),
    "201": (Outcome.CONNECTED, "200 OK"),
    "486": (Outcome.BUSY, "486 Busy Here"),
    "600": (Outcome.BUSY, "600 Busy Everywhere"),
    "480": (Outcome.NO_ANSWER, "480 Temporarily Unavailable"),
    "408": (Outcome.NO_ANSWER, "408 Request Timeout"),
    "404": (Outcome.INVALID_NUMBER, "404 Not Found"),
    "484": (Outcome.INVALID_NUMBER, "484 Address Incomplete"),
    "410": (Outcome.INVALID_NUMBER, "410 Gone"),
    "503": (Outcome.NETWORK_ERROR, "503 Service Unavailable"),
    "500": (Outcome.NETWORK_ERROR, "500 Server Internal Error"),
    "603": (Outcome.DECLINED, "603 Decline"),
    "700": (Outcome.ANSWERING_MACHINE, "SIM 700 Answering Machine"),
    "701": (Outcome.FAX, "SIM 701 Fax"),
    "702": (Outcome.CUSTOMER_ABANDONED, "SIM 702 Customer Abandoned"),
    "703": (Outcome.DIALER_ABANDONED, "SIM 703 Dialer Abandoned"),
}
# A call to a number ending in this never produces a result: the engine must find it dangling.
NEVER_ANSWERS = "999"

# The raw status of an outcome drawn at random (no answer is a ring timeout: we CANCEL, 487).
VOICE_RAW: dict[Outcome, str] = {
    Outcome.CONNECTED: "200 OK",
    Outcome.BUSY: "486 Busy Here",
    Outcome.NO_ANSWER: "487 Request Terminated",
    Outcome.ANSWERING_MACHINE: "SIM 700 Answering Machine",
    Outcome.FAX: "SIM 701 Fax",
    Outcome.CUSTOMER_ABANDONED: "SIM 702 Customer Abandoned",
    Outcome.DIALER_ABANDONED: "SIM 703 Dialer Abandoned",
    Outcome.INVALID_NUMBER: "404 Not Found",
    Outcome.NETWORK_ERROR: "503 Service Unavailable",
    Outcome.DECLINED: "603 Decline",
}
DIALER_OUTCOMES = frozenset(VOICE_RAW)

SUBMIT_OK = "submit_sm_resp OK"
DLR_DELIVERED = "DLR DELIVRD"
DLR_UNDELIVERED = "DLR UNDELIV"
DLR_EXPIRED = "DLR EXPIRED"
REJECT_INVALID = "submit_sm_resp ESME_RINVDSTADR"
REJECT_THROTTLED = "submit_sm_resp ESME_RTHROTTLED"
REJECT_FAILED = "submit_sm_resp ESME_RSUBMITFAIL"


@dataclass(frozen=True, slots=True)
class SmsFate:
    """A message's future. ``rejected``: the submit fails with this raw status, nothing else
    follows; ``at_once``: the rejection is due at hand-over, without the submit latency."""

    rejected: str | None = None
    at_once: bool = False
    receipt: str = DLR_DELIVERED
    reply: str | None = None


SMS_PLAN: dict[str, SmsFate] = {
    "998": SmsFate(rejected=REJECT_INVALID, at_once=True),
    "997": SmsFate(rejected=REJECT_THROTTLED),
    "999": SmsFate(receipt=DLR_UNDELIVERED),
    "996": SmsFate(receipt=DLR_EXPIRED),
    "555": SmsFate(reply="YES"),
    "556": SmsFate(reply="STOP"),
}


def plan_code(number: str) -> str | None:
    code = number[-3:]
    return code if len(code) == 3 and code.isdigit() else None


class WeightedOutcomes:
    """A weighted draw over outcomes, with the cumulative weights computed once."""

    def __init__(self, weights: Mapping[Outcome, float]) -> None:
        chosen = [(o, w) for o, w in weights.items() if w > 0]
        self._outcomes: Sequence[Outcome] = [o for o, _ in chosen]
        self._cumulative = list(accumulate(w for _, w in chosen))
        self._total = self._cumulative[-1]
        self._last = len(self._outcomes) - 1

    def draw(self, rng: Uniform) -> Outcome:
        at = bisect_right(self._cumulative, rng.random() * self._total)
        return self._outcomes[min(at, self._last)]


def voice_fate(number: str, rng: Uniform, mix: WeightedOutcomes) -> tuple[Outcome, str] | None:
    """The outcome and raw status of a call; ``None`` when the call never produces a result."""
    code = plan_code(number)
    if code == NEVER_ANSWERS:
        return None
    if code is not None and code in VOICE_PLAN:
        return VOICE_PLAN[code]
    outcome = mix.draw(rng)
    return outcome, VOICE_RAW[outcome]


@dataclass(frozen=True, slots=True)
class SmsOdds:
    reject: float
    delivery: float
    reply: float
    stop: float
    reply_text: str


def sms_fate(number: str, rng: Uniform, odds: SmsOdds) -> SmsFate:
    code = plan_code(number)
    if code is not None and code in SMS_PLAN:
        return SMS_PLAN[code]
    if rng.random() < odds.reject:
        return SmsFate(rejected=REJECT_FAILED)
    if rng.random() >= odds.delivery:
        return SmsFate(receipt=DLR_UNDELIVERED)
    roll = rng.random()
    if roll < odds.stop:
        return SmsFate(reply="STOP")
    if roll < odds.stop + odds.reply:
        return SmsFate(reply=odds.reply_text)
    return SmsFate()
