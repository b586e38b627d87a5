"""The abandon message: the campaign's WAV (or a default one), as the dialer plays it.

Progressive calls are dialled from an account whose audio source is this message, so a
customer no agent is free for hears it at once, with nothing to switch mid-call (baresip
1.0's ``ausrc`` would switch every call of the account). The copy played starts with
``LEAD_IN`` seconds of silence: the hand-over to an agent is decided well within that, so
a customer who goes to an agent hears nothing of the message.

The default message is spoken by espeak-ng (converted by sox to 8 kHz mono 16-bit) when
they are installed, else it is a short tone sequence; it is made once in the dialer's
folder, never downloaded.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import struct
import subprocess
import threading
import wave
from pathlib import Path

from outbound.channels.sip.calls import audio_problem

log = logging.getLogger(__name__)
LEAD_IN = 0.6  # seconds of silence before the message
RATE = 8000
DEFAULT_TEXT = (
    "Hello. This is a call from our contact centre. We are sorry: no agent is free to take "
    "your call right now, and we will call you again."
)
_DIGIT_WORDS = {"*": "star", "#": "hash"}
_lock = threading.Lock()


def default_text(digit: str) -> str:
    if not digit:
        return DEFAULT_TEXT
    return f"{DEFAULT_TEXT} To stop our calls, press {_DIGIT_WORDS.get(digit, digit)}."


def default_message(folder: Path, digit: str) -> Path:
    """The default message for this opt-out key, made on first use."""
    name = f"abandon-default-{_DIGIT_WORDS.get(digit, digit) or 'none'}.wav"
    path = folder / name
    with _lock:
        if path.exists():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        if not _speak(default_text(digit), path):
            _tones(path)
    return path


def _speak(text: str, path: Path) -> bool:
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    if espeak is None or sox is None:
        return False
    raw = path.with_suffix(".speech.wav")
    try:
        subprocess.run([espeak, "-s", "150", "-w", str(raw), text], check=True, timeout=60)  # noqa: S603
        subprocess.run(  # noqa: S603
            [sox, str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(path)],
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("the default abandon message could not be spoken (%s); tones instead", exc)
        path.unlink(missing_ok=True)
        return False
    finally:
        raw.unlink(missing_ok=True)
    return True


def _tones(path: Path) -> None:
    """Three falling tones, 0.3 s each: a message nobody must download."""
    frames = bytearray()
    for pitch in (880.0, 660.0, 440.0):
        for i in range(int(0.3 * RATE)):
            frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * pitch * i / RATE)))
        frames += b"\0\0" * int(0.1 * RATE)
    _write(path, bytes(frames))


def _write(path: Path, frames: bytes) -> None:
    part = path.with_suffix(".part")
    with wave.open(str(part), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)
    os.replace(part, path)


def played_copy(source: str, folder: Path) -> Path | str:
    """The file to play for ``source`` (absolute, checked): a copy led in by silence, made
    once per version of the file. Returns the copy, or (a str) why it cannot be played."""
    problem = audio_problem(source)
    if problem is not None:
        return problem
    stat = os.stat(source)
    key = hashlib.sha256(f"{source}|{stat.st_mtime_ns}|{stat.st_size}".encode()).hexdigest()[:16]
    copy = folder / f"abandon-{key}.wav"
    with _lock:
        if not copy.exists():
            folder.mkdir(parents=True, exist_ok=True)
            with wave.open(source, "rb") as audio:
                frames = audio.readframes(audio.getnframes())
            _write(copy, b"\0\0" * int(LEAD_IN * RATE) + frames)
    return copy
