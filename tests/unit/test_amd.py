"""Answering-machine detection on generated call audio (espeak-ng + sox, see
tests/peers/amd/corpus.py): clear humans and machines get the verdict anyone listening would
give, with Asterisk's causes and at the moment the audio settles it."""

from __future__ import annotations

import math
import struct
import subprocess
import wave
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.amd import AmdParams, Cause, Detector, Verdict, classify_pcm
from outbound.amd.recommended import RECOMMENDED
from outbound.amd.wav import GrowingWav, WavFormatError, read_pcm
from tests.peers.amd.corpus import Item, render

GREETING = (
    "Hi, you've reached Sarah.",
    "I can't come to the phone right now.",
    "Please leave a message after the tone.",
)


def _item(label: str, phrases: tuple[str, ...], gaps: tuple[int, ...], **kw: object) -> Item:
    recipe: dict[str, object] = {
        "voice": "en-us",
        "speed": 165,
        "pitch": 50,
        "gain": 0.7,
        "noise": 0.0,
        "mulaw": False,
        "beep_hz": 0,
        "beep_ms": 0,
        "seed": 7,
    }
    recipe.update(kw)
    return Item(name="t", label=label, phrases=phrases, gaps_ms=gaps, **recipe)  # type: ignore[arg-type]


def _audio(tmp_path: Path, item: Item) -> bytes:
    render(item, tmp_path / "call.wav")
    return read_pcm(tmp_path / "call.wav")


def _speech_end_ms(pcm: bytes) -> int:
    """Where the last clearly audible sample is: the oracle for when a greeting ended."""
    samples = array("h", pcm)
    last = max(n for n, s in enumerate(samples) if abs(s) > 1000)
    return last * 1000 // 8000


def test_hello_then_silence_is_a_human_decided_after_the_pause(tmp_path: Path) -> None:
    pcm = _audio(tmp_path, _item("human", ("Hello?",), (600,)))
    decision = classify_pcm(pcm)
    assert (decision.verdict, decision.cause) == (Verdict.HUMAN, Cause.HUMAN)
    end = _speech_end_ms(pcm)
    # Decided once after_greeting_silence (800 ms) of silence followed the word; the word's
    # quiet tail and the 20 ms frames make up the slack.
    assert end + 800 - 40 <= decision.decision_ms <= end + 800 + 200


def test_a_long_voicemail_greeting_is_a_machine_decided_during_the_greeting(
    tmp_path: Path,
) -> None:
    pcm = _audio(tmp_path, _item("machine", GREETING, (400, 400, 500), beep_hz=1000, beep_ms=500))
    for params in (AmdParams(), RECOMMENDED):
        decision = classify_pcm(pcm, params)
        assert decision.verdict is Verdict.MACHINE
        assert decision.cause in (Cause.MAXWORDS, Cause.LONGGREETING)
        assert decision.decision_ms < _speech_end_ms(pcm)


def test_mu_law_round_trip_and_other_voices_keep_the_verdicts(tmp_path: Path) -> None:
    cases = [
        (_item("human", ("Yes?",), (400,), voice="en-gb+f3", mulaw=True, pitch=70), "human"),
        (_item("machine", GREETING, (300, 350, 400), voice="en-029+m3", mulaw=True), "machine"),
        (_item("human", ("Hello.",), (900,), voice="en+klatt", speed=140), "human"),
    ]
    for item, label in cases:
        verdict = classify_pcm(_audio(tmp_path, item), RECOMMENDED).verdict
        assert verdict is (Verdict.HUMAN if label == "human" else Verdict.MACHINE), item.voice


def test_three_words_are_a_machine_by_asterisk_defaults_and_a_human_by_the_recommended(
    tmp_path: Path,
) -> None:
    """Asterisk's maximum_number_of_words=2 takes a polite "Hi, this is Maria" for a machine:
    the reason the recommended settings allow 5."""
    pcm = _audio(tmp_path, _item("human", ("Hi, this is Maria.",), (500,)))
    default = classify_pcm(pcm)
    assert (default.verdict, default.cause) == (Verdict.MACHINE, Cause.MAXWORDS)
    assert classify_pcm(pcm, RECOMMENDED).verdict is Verdict.HUMAN


def test_a_loud_hiss_is_not_taken_for_a_greeting(tmp_path: Path) -> None:
    """A line hiss louder than silence_threshold is one endless word for Asterisk's fixed
    threshold; the threshold that follows the noise floor hears the pause after "Hello?"."""
    pcm = _audio(tmp_path, _item("human", ("Hello?",), (500,), noise=350.0, gain=1.0))
    assert classify_pcm(pcm, plain=True).verdict is Verdict.MACHINE
    decision = classify_pcm(pcm)
    assert (decision.verdict, decision.cause) == (Verdict.HUMAN, Cause.HUMAN)


def test_speech_from_the_first_frame_is_heard(tmp_path: Path) -> None:
    pcm = _audio(tmp_path, _item("human", ("Hello?",), (0,)))
    assert classify_pcm(pcm).verdict is Verdict.HUMAN


def test_long_initial_silence_is_a_machine_at_exactly_initial_silence(tmp_path: Path) -> None:
    pcm = _audio(tmp_path, _item("machine", GREETING[:1], (3500,)))
    decision = classify_pcm(pcm)
    assert (decision.verdict, decision.cause, decision.decision_ms) == (
        Verdict.MACHINE,
        Cause.INITIALSILENCE,
        2500,
    )
    later = classify_pcm(pcm, AmdParams(initial_silence=3000))
    assert (later.cause, later.decision_ms) == (Cause.INITIALSILENCE, 3000)


def _bursts(on_ms: int, off_ms: int, total_ms: int) -> bytes:
    """Digital silence and tone bursts, silence first: words and pauses of exact lengths."""
    out = array("h")
    for n in range(total_ms * 8):
        at = (n // 8) % (on_ms + off_ms)
        out.append(round(4000 * math.sin(2 * math.pi * 700 * n / 8000)) if at >= off_ms else 0)
    return out.tobytes()


def test_undecided_by_total_analysis_time_is_notsure_toolong() -> None:
    talkative = AmdParams(maximum_number_of_words=100, greeting=60_000)
    decision = classify_pcm(_bursts(300, 400, 8000), talkative)
    assert (decision.verdict, decision.cause, decision.decision_ms) == (
        Verdict.NOTSURE,
        Cause.TOOLONG,
        5000,
    )


def test_words_are_counted_by_the_pauses_between_them() -> None:
    decision = classify_pcm(_bursts(200, 200, 8000))
    # 200 ms of silence, the first burst is word 1 at its 100th ms (300), the second one
    # word 2 at 600 + 100 ms: MAXWORDS once the second word is long enough to count.
    assert (decision.verdict, decision.cause, decision.words) == (
        Verdict.MACHINE,
        Cause.MAXWORDS,
        2,
    )
    assert decision.decision_ms == 700


def test_audio_that_ends_first_is_notsure_hangup() -> None:
    detector = Detector()
    assert detector.feed(bytes(1600 * 2)) is None  # 200 ms of silence
    decision = detector.finish()
    assert (decision.verdict, decision.cause, decision.decision_ms) == (
        Verdict.NOTSURE,
        Cause.HANGUP,
        200,
    )


def test_streaming_in_odd_chunks_decides_as_the_whole_file_and_as_soon_as_known(
    tmp_path: Path,
) -> None:
    pcm = _audio(tmp_path, _item("human", ("Yes, speaking.",), (700,), noise=40.0))
    whole = classify_pcm(pcm)
    detector = Detector()
    fed = 0
    first = None
    for start in range(0, len(pcm), 333):  # odd sizes: frames and samples split
        chunk = pcm[start : start + 333]
        fed += len(chunk)
        first = detector.feed(chunk)
        if first is not None:
            break
    assert first == whole
    # Answered within the chunk that completed the deciding frame.
    assert whole.decision_ms * 16 <= fed < whole.decision_ms * 16 + 333


def test_parameters_out_of_range_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="greeting must be between 100 and 60000"):
        AmdParams(greeting=0)
    with pytest.raises(ValueError, match="maximum_number_of_words"):
        AmdParams(maximum_number_of_words=0)


def _wav(path: Path, *, rate: int = 8000, width: int = 2, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(bytes(rate // 10 * width * channels))
    return path


def test_wrong_wav_formats_say_which_file_and_what_is_wrong(tmp_path: Path) -> None:
    cases = {
        "wide.wav": (_wav(tmp_path / "wide.wav", rate=16000), "sample rate is 16000 Hz"),
        "stereo.wav": (_wav(tmp_path / "stereo.wav", channels=2), "2 channels, mono needed"),
        "byte.wav": (_wav(tmp_path / "byte.wav", width=1), "samples are 8-bit"),
    }
    law = tmp_path / "law.wav"
    subprocess.run(["sox", str(_wav(tmp_path / "x.wav")), "-e", "mu-law", str(law)], check=True)
    cases["law.wav"] = (law, "not a PCM WAV file")
    text = tmp_path / "text.wav"
    text.write_text("a text file, not audio at all")
    cases["text.wav"] = (text, "not a PCM WAV file")
    cases["stub.wav"] = (tmp_path / "stub.wav", "too short for a WAV header")
    cases["stub.wav"][0].write_bytes(b"RIFF")
    for name, (path, problem) in cases.items():
        with pytest.raises(WavFormatError) as caught:
            read_pcm(path)
        assert name in str(caught.value)
        assert problem in str(caught.value)


def test_a_growing_wav_is_read_as_it_grows(tmp_path: Path) -> None:
    """As a call's tap writes it: the header's sizes still 0, the samples arriving in bursts."""
    pcm = bytes(range(256)) * 25
    header = b"RIFF" + struct.pack("<I", 0) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    header += b"data" + struct.pack("<I", 0)
    path = tmp_path / "tap.wav"
    path.write_bytes(header[:20])  # the writer has not finished the header yet
    tap = GrowingWav(path)
    assert tap.read() == b""
    got = b""
    with path.open("ab") as out:
        out.write(header[20:])
        for start in range(0, len(pcm), 1001):
            out.write(pcm[start : start + 1001])
            out.flush()
            got += tap.read()
    got += tap.read()
    assert got == pcm
    stereo = tmp_path / "stereo.wav"
    stereo.write_bytes(header.replace(struct.pack("<HH", 1, 1), struct.pack("<HH", 1, 2), 1))
    with pytest.raises(WavFormatError, match="2 channels"):
        GrowingWav(stereo).read()


_TALK = _bursts(260, 140, 3000) + bytes(16_000) + _bursts(500, 300, 4000)


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=4000), min_size=1, max_size=40),
    params=st.builds(
        AmdParams,
        maximum_number_of_words=st.integers(2, 8),
        greeting=st.integers(300, 4000),
        after_greeting_silence=st.integers(200, 1500),
    ),
)
def test_any_cutting_of_the_stream_gives_the_same_decision(
    cuts: list[int], params: AmdParams
) -> None:
    """However the audio is cut into pieces (odd bytes, half samples, many frames at once),
    the decision and its time are those of the audio fed whole."""
    whole = classify_pcm(_TALK, params)
    detector = Detector(params)
    at = 0
    for size in cuts:
        detector.feed(_TALK[at : at + size])
        at += size
    detector.feed(_TALK[at:])
    assert detector.finish() == whole
