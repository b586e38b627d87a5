"""One answered call's detection from start to action: what a dialer needs, and nothing of SIP.

The dialer makes an ``AmdSession`` when a call of a campaign with detection on is answered,
hands it the call's received audio as it arrives (``feed``, or ``poll`` on the call's growing
tap file), and acts on the first ``Step`` it gets:

- ``CONNECT``: a human (or NOTSURE taken as one, or a machine passed on all the same):
  transfer to the agent / IVR target, or play an Automated campaign's message;
- ``HANG_UP``: a machine: hang up, outcome ``answering_machine``;
- ``LEAVE_MESSAGE``: a machine to leave ``message`` on: the step comes once the greeting is
  over (``play_at_ms``, the audio time of its beep's end or of the silence after it), then play
  the message and hang up, outcome ``answering_machine``.

``decision.decision_ms`` is the detection delay to record for the pacing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from outbound.amd.detector import Decision, Detector, Verdict
from outbound.amd.greeting_end import GreetingEnd, GreetingEndParams, GreetingEndTracker
from outbound.amd.schemas import AmdSettings, MachineTreatment, NotSureAs
from outbound.amd.wav import GrowingWav


class Action(StrEnum):
    CONNECT = "connect"
    HANG_UP = "hang_up"
    LEAVE_MESSAGE = "leave_message"


@dataclass(frozen=True)
class Step:
    action: Action
    decision: Decision
    greeting_end: GreetingEnd | None = None  # LEAVE_MESSAGE only


def action_for(settings: AmdSettings, verdict: Verdict) -> Action:
    """The campaign's treatment of a verdict."""
    machine = verdict is Verdict.MACHINE or (
        verdict is Verdict.NOTSURE and settings.notsure_as is NotSureAs.MACHINE
    )
    if not machine or settings.machine_treatment is MachineTreatment.TO_AGENT:
        return Action.CONNECT
    if settings.machine_treatment is MachineTreatment.LEAVE_MESSAGE:
        return Action.LEAVE_MESSAGE
    return Action.HANG_UP


def message_to_leave(settings: AmdSettings, *, automated_message: str = "") -> str:
    """The audio file left on a machine: the settings' own, else an Automated campaign's."""
    return settings.machine_message or automated_message


class AmdSession:
    def __init__(self, settings: AmdSettings, *, tap: GrowingWav | None = None) -> None:
        self.settings = settings
        self.tap = tap
        self.step: Step | None = None
        self._detector = Detector(settings.params())
        # Fed from the start alongside the detector: a beep may come before the verdict.
        self._greeting = GreetingEndTracker(
            GreetingEndParams(silence_threshold=settings.silence_threshold)
        )
        self._decision: Decision | None = None

    def feed(self, pcm: bytes) -> Step | None:
        """Audio received since the last call; the step once there is one (then always it)."""
        if self.step is not None:
            return self.step
        end = self._greeting.feed(pcm)
        if self._decision is None:
            self._decision = self._detector.feed(pcm)
            if self._decision is None:
                return None
        action = action_for(self.settings, self._decision.verdict)
        if action is not Action.LEAVE_MESSAGE:
            self.step = Step(action, self._decision)
        elif end is not None:
            self.step = Step(action, self._decision, end)
        return self.step

    def poll(self) -> Step | None:
        """Read what the tap file gained and feed it."""
        if self.tap is None:
            raise RuntimeError("this session has no tap file: feed it audio instead")
        return self.feed(self.tap.read())
