"""When a machine's greeting is over, so a message left on it is recorded whole.

After a MACHINE verdict the call keeps listening: the greeting has ended once its beep has
(a steady tone of at least ``beep_min`` ms, then anything else), or, for a greeting without a
beep, once ``end_silence`` ms of silence followed its last voice; a greeting still going at
``max_wait`` ms of audio is given up on (the message is played all the same).

Fed the same audio as the Detector, from the start of the call (times are the audio's). A
tone is told from speech by its zero crossings: a pure tone crosses zero at the same rate frame
after frame, and repeats itself exactly at the period that rate gives; a vowel does neither.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from enum import StrEnum

from outbound.amd.frames import Framer, Vad, energy
from outbound.amd.params import FRAME_MS

# A beep's frames: crossings within this many of the previous frame's, and the signal this
# much alike with itself one period later (normalised correlation).
CROSSINGS_SLACK = 2
TONE_CORRELATION = 0.9
# Frames of something else than the tone, the line not quiet, that end a beep.
BEEP_BREAK_FRAMES = 3
# Voice that counts as the greeting (or as its going on again): as long as a word at least.
MIN_VOICE_MS = 100


class EndCause(StrEnum):
    BEEP = "BEEP"
    SILENCE = "SILENCE"
    TIMEOUT = "TIMEOUT"


@dataclass(frozen=True, kw_only=True)
class GreetingEndParams:
    end_silence: int = 1500
    """Silence after the last voice that ends a greeting without a beep (ms)."""
    beep_min: int = 120
    """Shortest steady tone taken for a beep (ms)."""
    max_wait: int = 30_000
    """Longest wait for the end of a greeting (ms of audio)."""
    silence_threshold: int = 256
    """As the Detector's: mean absolute sample value under which a frame is silence."""


@dataclass(frozen=True)
class GreetingEnd:
    cause: EndCause
    end_ms: int
    """Audio time at which the greeting was over: play the message from here."""


class GreetingEndTracker:
    def __init__(self, params: GreetingEndParams | None = None) -> None:
        self.params = params or GreetingEndParams()
        self.end: GreetingEnd | None = None
        self._framer = Framer()
        self._vad = Vad(self.params.silence_threshold)
        self._ms = 0
        self._heard_voice = False
        self._voice_run_ms = 0
        self._silence_ms = 0
        self._tone_ms = 0
        self._off_tone = 0
        self._last_crossings = -100

    def feed(self, pcm: bytes) -> GreetingEnd | None:
        if self.end is None:
            for samples in self._framer.frames(pcm):
                if self._frame(samples) is not None:
                    break
        return self.end

    def _frame(self, samples: array[int]) -> GreetingEnd | None:
        p = self.params
        self._ms += FRAME_MS
        level = energy(samples)
        voice = self._vad.is_voice(level)
        tone = level >= p.silence_threshold and self._tonal(samples, level)
        if tone:
            self._tone_ms += FRAME_MS
            self._off_tone = 0
        elif self._tone_ms >= p.beep_min:
            # A beep ends where the line goes quiet, or where something else has sounded for
            # a few frames (one odd frame on a noisy line does not end it).
            self._off_tone += 1
            if not voice or self._off_tone >= BEEP_BREAK_FRAMES:
                self.end = GreetingEnd(EndCause.BEEP, self._ms - self._off_tone * FRAME_MS)
                return self.end
        else:
            self._tone_ms = 0
        if voice or tone:
            self._voice_run_ms += FRAME_MS
            if self._voice_run_ms >= MIN_VOICE_MS:  # a word or a tone, not a click
                self._heard_voice = True
                self._silence_ms = 0
        else:
            self._voice_run_ms = 0
            self._silence_ms += FRAME_MS
            if self._heard_voice and self._silence_ms >= p.end_silence:
                self.end = GreetingEnd(EndCause.SILENCE, self._ms)
        if self.end is None and self._ms >= p.max_wait:
            self.end = GreetingEnd(EndCause.TIMEOUT, self._ms)
        return self.end

    def _tonal(self, samples: array[int], level: float) -> bool:
        crossings = _crossings(samples, level / 3)
        steady = abs(crossings - self._last_crossings) <= CROSSINGS_SLACK
        self._last_crossings = crossings
        if not steady or crossings < 4:
            return False
        # Two crossings a period: the period in samples the crossing rate gives.
        period = round(2 * len(samples) / crossings)
        if not 2 <= period < len(samples) // 2:
            return False
        head, tail = samples[:-period], samples[period:]
        product = sum(a * b for a, b in zip(head, tail, strict=True))
        power = math.sqrt(sum(a * a for a in head) * sum(b * b for b in tail))
        return power > 0 and product / power >= TONE_CORRELATION


def _crossings(samples: array[int], hysteresis: float) -> int:
    """Zero crossings, each counted once the signal is past +-hysteresis on the other side
    (line noise around zero adds none)."""
    count, side = 0, 0
    for value in samples:
        if value > hysteresis and side <= 0:
            count += side < 0
            side = 1
        elif value < -hysteresis and side >= 0:
            count += side > 0
            side = -1
    return count
