"""A labelled set of answered-call audio for answering-machine detection, made here.

Every item is built from a seed alone: espeak-ng speaks the words (its voices, variants,
speeds and pitches), sox brings it to 8 kHz 16-bit mono telephone band and, for some items,
through a G.711 mu-law round trip; silences, a voicemail beep, line noise and the level are
added here with a seeded random generator. So the same seed gives the same file on any
machine with these Debian packages (espeak-ng, sox), and the set never has to be committed.

Humans: a short answer ("Hello?", "Yes, speaking", "Hi, this is Maria") after picking up,
then silence (they wait for the caller), or a second short phrase after a pause ("...Hello?").
Machines: a voicemail greeting of several sentences (personal, carrier, business), with or
without a beep at its end, sometimes after a long silence (carrier platforms).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import subprocess
import tempfile
import wave
from array import array
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

RATE = 8000
GENERATOR_VERSION = 4
LENGTH_MS = 8000
TRAILING_MS = 2500  # silence (line noise) after the last sound, at least

VOICES = ("en-us", "en", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m7", "+f1", "+f2", "+f3", "+f4", "+f5", "+klatt")

HUMAN_FIRST = (
    "Hello?",
    "Hello.",
    "Yes?",
    "Yeah, hello?",
    "Hi.",
    "Yes, speaking.",
    "Hi, this is Maria.",
    "Hello, this is David.",
    "Good morning.",
    "Speaking.",
    "Who's calling?",
    "Hello, who is this?",
    "Yes, hello.",
    "Hi there.",
    "Jones residence.",
    "Hello, Tom speaking.",
)
HUMAN_SECOND = ("Hello?", "Hello? Anyone there?", "Who is this?", "Yes?", "Can you hear me?")
NAMES = ("John", "Sarah", "Mike", "Linda", "the Patel family", "Anna and Ben", "Doctor Brown")
MACHINE_SENTENCES = (
    (
        "Hi, you've reached {name}.",
        "I can't come to the phone right now.",
        "Please leave a message after the tone.",
    ),
    ("Hello, this is {name}.", "Sorry I missed your call.", "Leave your name and number."),
    (
        "The person you are calling is not available.",
        "Please leave a message after the tone.",
    ),
    (
        "The number you have dialled is not available at the moment.",
        "Please record your message after the tone.",
    ),
    (
        "Thank you for calling Acme Plumbing.",
        "Our office is currently closed.",
        "Please leave a message and we will call you back.",
    ),
    ("Hey, it's {name}.", "Leave a message."),
    ("You have reached the voicemail of {name}.", "Please leave a message."),
)


@dataclass(frozen=True)
class Item:
    name: str
    label: str  # "human" or "machine"
    phrases: tuple[str, ...]
    gaps_ms: tuple[int, ...]  # silence before each phrase
    voice: str
    speed: int
    pitch: int
    gain: float
    noise: float  # standard deviation of the line noise, in sample units
    mulaw: bool
    beep_hz: int  # 0: no beep
    beep_ms: int
    seed: int


def plan(count: int, *, seed: int = 16) -> list[Item]:
    """``count`` items, half human and half machine, all drawn from ``seed``."""
    rng = random.Random(seed)
    items = []
    for index in range(count):
        item_seed = rng.randrange(2**31)
        draw = random.Random(item_seed)
        human = index % 2 == 0
        items.append(_human(index, draw, item_seed) if human else _machine(index, draw, item_seed))
    return items


def _common(draw: random.Random) -> dict[str, object]:
    line = draw.random()  # quiet line 40 %, some hiss 45 %, a loud hiss (a bad mobile) 15 %
    noise = 0.0 if line < 0.4 else draw.uniform(10, 120) if line < 0.85 else draw.uniform(250, 450)
    return {
        "voice": draw.choice(VOICES) + draw.choice(VARIANTS),
        "speed": draw.randint(135, 200),
        "pitch": draw.randint(25, 75),
        "gain": round(draw.uniform(0.25, 1.0), 3),
        "noise": round(noise, 1),
        "mulaw": draw.random() < 0.5,
    }


def _human(index: int, draw: random.Random, seed: int) -> Item:
    phrases = [draw.choice(HUMAN_FIRST)]
    gaps = [draw.randint(150, 1500)]
    if draw.random() < 0.4:
        phrases.append(draw.choice(HUMAN_SECOND))
        gaps.append(draw.randint(1000, 2500))
    return Item(
        name=f"h{index:04d}",
        label="human",
        phrases=tuple(phrases),
        gaps_ms=tuple(gaps),
        beep_hz=0,
        beep_ms=0,
        seed=seed,
        **_common(draw),  # type: ignore[arg-type]
    )


def _machine(index: int, draw: random.Random, seed: int) -> Item:
    sentences = [s.format(name=draw.choice(NAMES)) for s in draw.choice(MACHINE_SENTENCES)]
    first_gap = draw.randint(1200, 3500) if draw.random() < 0.2 else draw.randint(150, 1000)
    gaps = [first_gap] + [draw.randint(250, 700) for _ in sentences[1:]]
    beep = draw.random() < 0.5
    return Item(
        name=f"m{index:04d}",
        label="machine",
        phrases=tuple(sentences),
        gaps_ms=tuple(gaps),
        beep_hz=draw.choice((440, 850, 1000, 1400)) if beep else 0,
        beep_ms=draw.randint(250, 800) if beep else 0,
        seed=seed,
        **_common(draw),  # type: ignore[arg-type]
    )


def _speak(item: Item, text: str, work: Path) -> array[int]:
    """espeak-ng's words at 8 kHz 16-bit mono, telephone band."""
    raw, narrow = work / "raw.wav", work / "narrow.wav"
    subprocess.run(
        [
            *("espeak-ng", "-v", item.voice, "-s", str(item.speed), "-p", str(item.pitch)),
            *("-w", str(raw), text),
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *("sox", str(raw), "-r", str(RATE), "-b", "16", "-c", "1", str(narrow)),
            *("highpass", "300", "lowpass", "3400"),
        ],
        check=True,
        capture_output=True,
    )
    return _trimmed(_samples(narrow))


def _trimmed(samples: array[int]) -> array[int]:
    """Without espeak-ng's own leading and trailing silence: the plan's gaps are the pauses."""
    floor = max(map(abs, samples), default=0) // 50
    loud = [n for n, s in enumerate(samples) if abs(s) > floor]
    return samples[loud[0] : loud[-1] + 1] if loud else samples


def _samples(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as wav:
        return array("h", wav.readframes(wav.getnframes()))


def _write(path: Path, samples: array[int]) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples.tobytes())


@dataclass(frozen=True)
class Timeline:
    """Where things are in a rendered file: the oracle for timing checks."""

    speech_end_ms: int
    beep_end_ms: int  # 0: no beep


@dataclass(frozen=True)
class Sample:
    item: Item
    path: Path
    timeline: Timeline


def render(item: Item, path: Path) -> Timeline:
    """Write the item's audio as an 8 kHz 16-bit mono PCM WAV file; where its parts ended."""
    rng = random.Random(item.seed)
    with tempfile.TemporaryDirectory(prefix="amd-") as tmp:
        work = Path(tmp)
        signal: list[float] = []
        for gap, text in zip(item.gaps_ms, item.phrases, strict=True):
            signal.extend([0.0] * (gap * RATE // 1000))
            signal.extend(s * item.gain for s in _speak(item, text, work))
        timeline = Timeline(speech_end_ms=len(signal) * 1000 // RATE, beep_end_ms=0)
        if item.beep_hz:
            signal.extend([0.0] * (rng.randint(100, 400) * RATE // 1000))
            step = 2 * math.pi * item.beep_hz / RATE
            signal.extend(8000 * item.gain * math.sin(step * n) for n in range(item.beep_ms * 8))
            timeline = Timeline(timeline.speech_end_ms, beep_end_ms=len(signal) * 1000 // RATE)
        tail = max(TRAILING_MS * RATE // 1000, LENGTH_MS * RATE // 1000 - len(signal))
        signal.extend([0.0] * tail)
        hum = rng.uniform(0, item.noise / 3)
        noisy = array(
            "h",
            (
                _clip(s + rng.gauss(0, item.noise) + hum * math.sin(2 * math.pi * 50 * n / RATE))
                if item.noise
                else _clip(s)
                for n, s in enumerate(signal)
            ),
        )
        if not item.mulaw:
            _write(path, noisy)
            return timeline
        linear, law = work / "linear.wav", work / "mulaw.wav"
        _write(linear, noisy)
        subprocess.run(["sox", str(linear), "-e", "mu-law", str(law)], check=True)
        subprocess.run(
            ["sox", str(law), "-e", "signed-integer", "-b", "16", "-t", "wav", str(path)],
            check=True,
        )
    return timeline


def _clip(value: float) -> int:
    return max(-32768, min(32767, round(value)))


def build(directory: Path, count: int, *, seed: int = 16) -> Iterator[Sample]:
    """The set in ``directory`` (made once per seed, count and generator version; reused)."""
    key = hashlib.sha256(json.dumps([GENERATOR_VERSION, count, seed]).encode()).hexdigest()[:12]
    home = directory / f"amd-{key}"
    home.mkdir(parents=True, exist_ok=True)
    for item in plan(count, seed=seed):
        path = home / f"{item.name}-{item.label}.wav"
        recipe = home / f"{item.name}.json"
        if not path.exists() or not recipe.exists():
            partial = path.with_suffix(".part")
            timeline = render(item, partial)
            recipe.write_text(json.dumps({"item": asdict(item), "timeline": asdict(timeline)}))
            partial.replace(path)
        timeline = Timeline(**json.loads(recipe.read_text())["timeline"])
        yield Sample(item, path, timeline)
