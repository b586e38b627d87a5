"""The classifier: 20 ms frames of 8 kHz 16-bit mono PCM in, HUMAN / MACHINE / NOTSURE out.

The rules are Asterisk ``app_amd``'s, re-stated: a frame is voice or silence by its energy;
runs of voice are words once they last ``min_word_length`` and end after
``between_words_silence`` of silence. A greeting starts with the first word. Too long an initial
silence, too long a greeting, too many words or too long a word is a machine; a greeting
followed by ``after_greeting_silence`` of silence is a human (people say "Hello?" and wait);
nothing decided within ``total_analysis_time`` is NOTSURE.

It is streaming: ``feed`` takes whatever bytes arrived (any length; a partial frame is kept for
the next call) and returns the decision as soon as one frame settles it, so a call can be
transferred the moment the verdict is known. It never reads a clock: time is the audio's.

Where it differs from Asterisk, to hold up on real lines:
- the silence threshold follows the line's noise floor (a hiss louder than
  ``silence_threshold`` would otherwise be one endless word): a frame is voice only when it is
  above both ``silence_threshold`` and a few times the quietest recent frames;
- a run of silence is broken only by a voice run of at least two frames (a click or a crackle
  of one frame does not restart the after-greeting silence).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from enum import StrEnum

from outbound.amd.frames import Framer, Vad, energy
from outbound.amd.params import FRAME_MS, AmdParams

# A silence is broken by this many consecutive voice frames, not fewer.
BREAK_FRAMES = 2


class Verdict(StrEnum):
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    NOTSURE = "NOTSURE"


class Cause(StrEnum):
    """Asterisk's AMDCAUSE words, and HANGUP for audio that ended before any decision."""

    HUMAN = "HUMAN"
    INITIALSILENCE = "INITIALSILENCE"
    LONGGREETING = "LONGGREETING"
    MAXWORDS = "MAXWORDS"
    MAXWORDLENGTH = "MAXWORDLENGTH"
    TOOLONG = "TOOLONG"
    HANGUP = "HANGUP"
    NOTAP = "NOTAP"  # a live call whose audio could not be had (the dialer's tap)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    cause: Cause
    decision_ms: int
    """Audio time at which the verdict was known (from the start of the audio fed)."""
    words: int
    voice_ms: int


class Detector:
    """One call's classifier. Feed it audio; it answers once, then keeps its answer."""

    def __init__(self, params: AmdParams | None = None, *, plain: bool = False) -> None:
        """``plain``: Asterisk's rules exactly (fixed threshold, any voice frame breaks a
        silence), for comparison."""
        self.params = params or AmdParams()
        self._break_ms = FRAME_MS if plain else BREAK_FRAMES * FRAME_MS
        self._vad = Vad(self.params.silence_threshold, plain=plain)
        self._framer = Framer()
        self.decision: Decision | None = None
        self._total_ms = 0
        self._silence_ms = 0
        self._voice_run_ms = 0
        self._voice_ms = 0
        self._words = 0
        self._in_word = True  # as Asterisk: a call that starts talking has not begun a word
        self._in_greeting = False

    def feed(self, pcm: bytes) -> Decision | None:
        """Little-endian 16-bit samples at 8 kHz; returns the decision once there is one."""
        if self.decision is not None:
            return self.decision
        for samples in self._framer.frames(pcm):
            decision = self.feed_frame(samples)
            if decision is not None:
                return decision
        return None

    def feed_frame(self, samples: array[int]) -> Decision | None:
        """One 20 ms frame (160 samples)."""
        if self.decision is not None:
            return self.decision
        self._total_ms += FRAME_MS
        if self._vad.is_voice(energy(samples)):
            self._voice_frame()
        else:
            self._silent_frame()
        if self.decision is None and self._total_ms >= self.params.total_analysis_time:
            self._decide(Verdict.NOTSURE, Cause.TOOLONG)
        return self.decision

    def finish(self) -> Decision:
        """The audio ended (hang-up, end of file): the decision, or NOTSURE / HANGUP."""
        if self.decision is None:
            self._decide(Verdict.NOTSURE, Cause.HANGUP)
        assert self.decision is not None
        return self.decision

    def _silent_frame(self) -> None:
        p = self.params
        self._silence_ms += FRAME_MS
        if self._silence_ms >= p.between_words_silence:
            self._in_word = False
            self._voice_run_ms = 0
        if not self._in_greeting and self._silence_ms >= p.initial_silence:
            self._decide(Verdict.MACHINE, Cause.INITIALSILENCE)
        elif self._in_greeting and self._silence_ms >= p.after_greeting_silence:
            self._decide(Verdict.HUMAN, Cause.HUMAN)

    def _voice_frame(self) -> None:
        p = self.params
        self._voice_run_ms += FRAME_MS
        self._voice_ms += FRAME_MS
        if self._voice_run_ms >= p.min_word_length and not self._in_word:
            self._words += 1
            self._in_word = True
        if self._voice_run_ms >= p.maximum_word_length:
            self._decide(Verdict.MACHINE, Cause.MAXWORDLENGTH)
        elif self._words >= p.maximum_number_of_words:
            self._decide(Verdict.MACHINE, Cause.MAXWORDS)
        elif self._in_greeting and self._voice_ms >= p.greeting:
            self._decide(Verdict.MACHINE, Cause.LONGGREETING)
        if self._voice_run_ms >= self._break_ms and self._voice_ms >= p.min_word_length:
            self._silence_ms = 0
        if self._voice_run_ms >= p.min_word_length:
            self._in_greeting = True

    def _decide(self, verdict: Verdict, cause: Cause) -> None:
        if self.decision is None:
            self.decision = Decision(verdict, cause, self._total_ms, self._words, self._voice_ms)


def classify_pcm(pcm: bytes, params: AmdParams | None = None, *, plain: bool = False) -> Decision:
    """A whole recording at once."""
    detector = Detector(params, plain=plain)
    detector.feed(pcm)
    return detector.finish()
