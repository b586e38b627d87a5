"""What the engine asks of a channel, and what a channel answers.

The engine records an attempt as sent (and commits) before it hands the attempt to a
channel; a channel never retries a hand-over on its own. Results come back through
``poll``: each names the attempt, the canonical outcome and the raw result (SIP status,
delivery receipt) to keep on the attempt.

A voice call's outcome is known when it is answered, however long the call then lasts: a
dialer reports it then (``answered=True``, ``at`` the answer) and reports the call's end
later as a plain result (``at`` the end, ``raw`` how it ended; the outcome stays the one
given at the answer). A call that ends unanswered gets a single plain result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from outbound.amd.schemas import AmdSettings
from outbound.campaigns.types import CampaignType
from outbound.strategies.outcomes import Outcome


class ChannelError(Exception):
    """A hand-over the channel could not take. ``retriable``: the channel may come back."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable


@dataclass(frozen=True, slots=True)
class Dial:
    attempt_id: int
    number: str  # E.164
    campaign_id: int
    campaign_type: CampaignType
    target: str  # agent queue / IVR route / message to play
    # Progressive: the reserved agent's SIP address the answered customer goes to, the
    # reservation (the desk's key), what a customer no agent is free for hears (a WAV; empty:
    # the dialer's default) and the key that opts out during it.
    agent: str = ""
    reservation_id: int | None = None
    abandon_message: str = ""
    opt_out_digit: str = ""
    # Answering-machine detection on the answer (its settings), None: off.
    amd: AmdSettings | None = field(default=None, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Sms:
    attempt_id: int
    number: str  # E.164
    campaign_id: int
    text: str


@dataclass(frozen=True, slots=True)
class Result:
    attempt_id: int
    outcome: Outcome
    raw: str
    at: datetime
    callback_at: datetime | None = None
    # The peer's own id for the attempt (an SMSC's message id), kept on the attempt so a
    # late receipt can still find it after a restart.
    external_id: str | None = None
    # The call was answered at ``at``: the outcome is known, the call goes on, its end follows.
    answered: bool = False
    # An answered customer no agent was free for (the abandon message): counted as an abandon.
    abandoned: bool = False
    # Answering-machine detection: the ms of audio it took and its verdict.
    amd_ms: int | None = None
    amd_verdict: str | None = None


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A message from a customer (MO): a reply, or an opt-out such as STOP."""

    number: str  # E.164 of the sender
    text: str
    at: datetime


class Dialer(Protocol):
    name: str

    def capacity(self) -> int:
        """How many more calls it can take right now (0 when full or down)."""

    def dial(self, dials: Sequence[Dial]) -> None:
        """Hand calls over; never blocks on the calls themselves."""

    def poll(self, now: datetime) -> list[Result]:
        """Results that have arrived since the last poll."""

    def next_event(self) -> datetime | None:
        """When the next result is expected, if the channel knows (simulators do)."""

    def close(self) -> None: ...


@runtime_checkable
class ExplainsRoom(Protocol):
    """A dialer that can say why it takes no calls now (a trunk's Retry-After)."""

    def why_no_room(self) -> str | None: ...


class AgentDesk(Protocol):
    """The engine's side of handing an answered customer to the reserved agent. A dialer
    calls it from its own threads, at the answer: each method is one short transaction."""

    def take(self, attempt_id: int, *, reachable: bool = True) -> str | None:
        """Hand this attempt's customer to its reserved agent: the agent's SIP address when
        the agent is still reserved for it (the agent is now talking, the attempt names
        it), else None (abandon). ``reachable=False``: the agent's phone did not answer the
        check; the agent is made not ready and None comes back."""

    def opt_out(self, attempt_id: int) -> None:
        """The customer pressed the opt-out key: the number goes on the DNC list."""


@runtime_checkable
class HandsToAgents(Protocol):
    """A dialer that connects answered customers to reserved agents through an AgentDesk."""

    def attach_desk(self, desk: AgentDesk) -> None: ...


class SmsGateway(Protocol):
    name: str

    def capacity(self) -> int: ...

    def send(self, messages: Sequence[Sms]) -> None: ...

    def poll(self, now: datetime) -> tuple[list[Result], list[InboundSms]]:
        """Submit results and delivery receipts, and inbound messages."""

    def next_event(self) -> datetime | None: ...

    def close(self) -> None: ...
