"""The end of a machine's greeting, where a message left on it must start: at the end of its
beep, or once it has been silent a while after its last word; never over the greeting.
On generated audio whose timeline the generator knows (the oracle)."""

from __future__ import annotations

from pathlib import Path

from outbound.amd.greeting_end import EndCause, GreetingEndParams, GreetingEndTracker
from outbound.amd.wav import read_pcm
from tests.peers.amd.corpus import Item, Timeline, render

SENTENCES = (
    "Hi, you've reached Sarah.",
    "I can't come to the phone right now.",
    "Please leave a message after the tone.",
)


def _render(tmp_path: Path, **kw: object) -> tuple[bytes, Timeline]:
    recipe: dict[str, object] = {
        "name": "g",
        "label": "machine",
        "phrases": SENTENCES,
        "gaps_ms": (300, 600, 700),
        "voice": "en-us+f3",
        "speed": 165,
        "pitch": 50,
        "gain": 0.7,
        "noise": 0.0,
        "mulaw": False,
        "beep_hz": 0,
        "beep_ms": 0,
        "seed": 11,
    }
    recipe.update(kw)
    path = tmp_path / "greeting.wav"
    timeline = render(Item(**recipe), path)  # type: ignore[arg-type]
    return read_pcm(path), timeline


def test_the_greeting_ends_with_its_beep(tmp_path: Path) -> None:
    for hz, noise, mulaw in ((1000, 0.0, False), (440, 80.0, True), (1400, 250.0, True)):
        pcm, timeline = _render(tmp_path, beep_hz=hz, beep_ms=500, noise=noise, mulaw=mulaw)
        end = GreetingEndTracker().feed(pcm)
        assert end is not None and end.cause is EndCause.BEEP, (hz, end)
        assert abs(end.end_ms - timeline.beep_end_ms) <= 40, (hz, end, timeline)


def test_without_a_beep_it_ends_after_the_last_word_and_its_silence(tmp_path: Path) -> None:
    pcm, timeline = _render(tmp_path)
    params = GreetingEndParams()
    end = GreetingEndTracker(params).feed(pcm)
    assert end is not None and end.cause is EndCause.SILENCE
    # Not at a pause between sentences (up to 700 ms here): after the last word, plus the
    # silence that says it was the last (its quiet tail is not heard as voice: some slack).
    assert timeline.speech_end_ms + params.end_silence - 200 <= end.end_ms
    assert end.end_ms <= timeline.speech_end_ms + params.end_silence + 60


def test_a_greeting_that_never_ends_is_given_up_on(tmp_path: Path) -> None:
    pcm, _ = _render(tmp_path, gaps_ms=(200, 200, 200))
    end = GreetingEndTracker(GreetingEndParams(max_wait=3000)).feed(pcm)
    assert end is not None and (end.cause, end.end_ms) == (EndCause.TIMEOUT, 3000)


def test_fed_in_pieces_as_a_call_tap_grows(tmp_path: Path) -> None:
    pcm, _ = _render(tmp_path, beep_hz=850, beep_ms=400)
    whole = GreetingEndTracker().feed(pcm)
    tracker = GreetingEndTracker()
    found = None
    for start in range(0, len(pcm), 999):
        found = tracker.feed(pcm[start : start + 999])
        if found is not None:
            break
    assert found == whole
