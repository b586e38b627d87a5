"""Reading the audio the classifier takes: 8 kHz 16-bit mono PCM WAV, whole or while it grows.

A recording in another format is refused with what is wrong with it, never resampled behind
the user's back: the thresholds are tuned for telephone audio at that rate.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

from outbound.amd.detector import Decision, classify_pcm
from outbound.amd.frames import SAMPLE_RATE
from outbound.amd.params import AmdParams


class WavFormatError(ValueError):
    """The file is not 8 kHz 16-bit mono PCM WAV; the message says what it is instead."""


def read_pcm(path: Path) -> bytes:
    """The samples of an 8 kHz 16-bit mono PCM WAV file."""
    try:
        with wave.open(str(path), "rb") as wav:
            problems = _format_problems(
                wav.getframerate(), wav.getsampwidth() * 8, wav.getnchannels()
            )
            if problems:
                raise WavFormatError(f"{path}: {'; '.join(problems)}")
            return wav.readframes(wav.getnframes())
    except wave.Error as exc:
        # The wave module refuses compressed formats (mu-law, A-law, float) here.
        raise WavFormatError(f"{path}: not a PCM WAV file ({exc})") from exc
    except EOFError as exc:
        raise WavFormatError(f"{path}: too short for a WAV header") from exc


def _format_problems(rate: int, bits: int, channels: int) -> list[str]:
    problems = []
    if rate != SAMPLE_RATE:
        problems.append(f"sample rate is {rate} Hz, 8000 Hz needed")
    if bits != 16:
        problems.append(f"samples are {bits}-bit, 16-bit needed")
    if channels != 1:
        problems.append(f"{channels} channels, mono needed")
    return problems


class GrowingWav:
    """A WAV file still being written (a call's tap): each ``read`` returns the samples added
    since the last one. The header's sizes are not trusted (a writer fills them in at the end);
    the data chunk is taken to run to the end of the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data_at: int | None = None
        self._offset = 0

    def read(self) -> bytes:
        """New whole samples; empty while the header is not complete yet."""
        with self.path.open("rb") as handle:
            if self._data_at is None:
                self._data_at = _data_offset(handle.read(4096), self.path)
                if self._data_at is None:
                    return b""
                self._offset = self._data_at
            handle.seek(self._offset)
            chunk = handle.read()
        chunk = chunk[: len(chunk) - len(chunk) % 2]
        self._offset += len(chunk)
        return chunk


def _data_offset(head: bytes, path: Path) -> int | None:
    """Where the samples start, once the header up to the data chunk is written."""
    if len(head) < 12:
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise WavFormatError(f"{path}: not a WAV file")
    at = 12
    while at + 8 <= len(head):
        kind, size = head[at : at + 4], struct.unpack("<I", head[at + 4 : at + 8])[0]
        if kind == b"fmt ":
            if at + 8 + 16 > len(head):
                return None
            fmt, channels, rate, _, _, bits = struct.unpack("<HHIIHH", head[at + 8 : at + 24])
            problems = _format_problems(rate, bits, channels)
            if fmt != 1:
                problems.insert(0, f"encoding {fmt} is not PCM (1)")
            if problems:
                raise WavFormatError(f"{path}: {'; '.join(problems)}")
        elif kind == b"data":
            return at + 8
        at += 8 + size + size % 2
    return None


def classify_wav(path: Path, params: AmdParams | None = None) -> Decision:
    """A recording's verdict, as a call fed frame by frame would have had it."""
    return classify_pcm(read_pcm(path), params)
