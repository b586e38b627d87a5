"""20 ms frames out of a byte stream, their energy, and the voice/silence call on them."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator

from outbound.amd.params import FRAME_MS

SAMPLE_RATE = 8000
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000
FRAME_BYTES = FRAME_SAMPLES * 2
# Noise floor: the quietest frame energy of the last NOISE_WINDOW frames; a frame is voice
# only above NOISE_FACTOR times it. It is learnt from the first frame on: waiting to learn it
# would take the first frames of a loud hiss for a word (and then its end for a human's pause).
NOISE_WINDOW = 50
NOISE_FACTOR = 2.5


class Framer:
    """Cuts little-endian 16-bit samples, arriving in pieces of any size, into frames."""

    def __init__(self) -> None:
        self._pending = b""

    def frames(self, pcm: bytes) -> Iterator[array[int]]:
        data = self._pending + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._pending = data[whole:]
        for start in range(0, whole, FRAME_BYTES):
            samples = array("h", data[start : start + FRAME_BYTES])
            if sys.byteorder == "big":  # pragma: no cover - WAV is little-endian
                samples.byteswap()
            yield samples


def energy(samples: array[int]) -> float:
    """Mean absolute sample value: Asterisk's measure, so its silence_threshold carries over."""
    return sum(map(abs, samples)) / max(len(samples), 1)


class Vad:
    """Voice when above ``threshold`` and, unless ``plain``, NOISE_FACTOR times the line's
    noise floor (a hiss louder than the threshold is not one endless word)."""

    def __init__(self, threshold: int, *, plain: bool = False) -> None:
        self.threshold = threshold
        self._factor = 0.0 if plain else NOISE_FACTOR
        self._recent: list[float] = []

    def is_voice(self, level: float) -> bool:
        recent = self._recent
        floor = min(recent) if recent else 0.0
        recent.append(level)
        if len(recent) > NOISE_WINDOW:
            del recent[0]
        return level >= self.threshold and level >= self._factor * floor
