"""A call's detection from its growing tap file to the campaign's treatment: what the dialer
will do with each verdict, and when."""

from __future__ import annotations

import math
import struct
from array import array
from pathlib import Path

import pytest

from outbound.amd.detector import Verdict
from outbound.amd.greeting_end import EndCause
from outbound.amd.schemas import AmdSettings, MachineTreatment
from outbound.amd.session import Action, AmdSession, Step, action_for, message_to_leave
from outbound.amd.wav import GrowingWav, read_pcm
from tests.peers.amd.corpus import Item, Timeline, render

GREETING = ("Hi, you've reached Sarah.", "Please leave a message after the tone.")


def _call(
    tmp_path: Path, label: str, phrases: tuple[str, ...], **kw: object
) -> tuple[Path, Timeline]:
    recipe: dict[str, object] = {
        "voice": "en-gb+m3",
        "speed": 160,
        "pitch": 45,
        "gain": 0.6,
        "noise": 30.0,
        "mulaw": True,
        "beep_hz": 0,
        "beep_ms": 0,
        "seed": 5,
    }
    recipe.update(kw)
    gaps = (500,) + (400,) * (len(phrases) - 1)
    path = tmp_path / f"{label}.wav"
    item = Item(name=label, label=label, phrases=phrases, gaps_ms=gaps, **recipe)  # type: ignore[arg-type]
    return path, render(item, path)


@pytest.mark.parametrize(
    ("treatment", "notsure", "verdict", "action"),
    [
        ("hang_up", "human", Verdict.HUMAN, Action.CONNECT),
        ("hang_up", "human", Verdict.MACHINE, Action.HANG_UP),
        ("hang_up", "human", Verdict.NOTSURE, Action.CONNECT),
        ("hang_up", "machine", Verdict.NOTSURE, Action.HANG_UP),
        ("leave_message", "machine", Verdict.NOTSURE, Action.LEAVE_MESSAGE),
        ("leave_message", "human", Verdict.MACHINE, Action.LEAVE_MESSAGE),
        ("pass_to_agent", "machine", Verdict.MACHINE, Action.CONNECT),
        ("pass_to_agent", "machine", Verdict.HUMAN, Action.CONNECT),
    ],
)
def test_each_verdict_gets_the_campaigns_treatment(
    treatment: str, notsure: str, verdict: Verdict, action: Action
) -> None:
    settings = AmdSettings.model_validate(
        {"enabled": True, "machine_treatment": treatment, "notsure_as": notsure}
    )
    assert action_for(settings, verdict) is action


def test_the_message_left_is_the_settings_own_else_the_automated_one() -> None:
    assert message_to_leave(AmdSettings(machine_message="vm.wav"), automated_message="a.wav") == (
        "vm.wav"
    )
    assert message_to_leave(AmdSettings(), automated_message="a.wav") == "a.wav"


def _grow(source: Path, tap: Path, session: AmdSession, piece: int) -> tuple[int, Step | None]:
    """Copy ``source`` into ``tap`` as a call's recorder would: header first (sizes 0), then
    the samples in pieces; poll the session after each. Returns the bytes written and the
    step."""
    pcm = read_pcm(source)
    header = b"RIFF" + struct.pack("<I", 0) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    header += b"data" + struct.pack("<I", 0)
    tap.write_bytes(header)
    written = 0
    with tap.open("ab") as out:
        for start in range(0, len(pcm), piece):
            out.write(pcm[start : start + piece])
            out.flush()
            written += len(pcm[start : start + piece])
            step = session.poll()
            if step is not None:
                return written, step
    return written, None


def test_a_human_is_connected_as_soon_as_decided_from_the_growing_tap(tmp_path: Path) -> None:
    source, _ = _call(tmp_path, "human", ("Hello?",))
    tap = tmp_path / "tap.wav"
    session = AmdSession(AmdSettings(enabled=True), tap=GrowingWav(tap))
    written, step = _grow(source, tap, session, 320)  # 20 ms a write, as RTP comes
    assert step is not None and step.action is Action.CONNECT
    assert step.decision.verdict is Verdict.HUMAN
    assert written == step.decision.decision_ms * 16


def test_a_message_is_left_once_the_beep_is_over(tmp_path: Path) -> None:
    source, timeline = _call(tmp_path, "machine", GREETING, beep_hz=1000, beep_ms=400)
    settings = AmdSettings(
        enabled=True, machine_treatment=MachineTreatment.LEAVE_MESSAGE, machine_message="x"
    )
    tap = tmp_path / "tap.wav"
    written, step = _grow(source, tap, AmdSession(settings, tap=GrowingWav(tap)), 800)
    assert step is not None
    assert step.action is Action.LEAVE_MESSAGE
    end = step.greeting_end
    assert end is not None and end.cause is EndCause.BEEP
    assert abs(end.end_ms - timeline.beep_end_ms) <= 40
    assert step.decision.decision_ms < timeline.speech_end_ms
    assert written < (end.end_ms + 200) * 16  # acted on within the piece after the beep


def test_a_machine_is_hung_up_on_at_the_verdict(tmp_path: Path) -> None:
    source, timeline = _call(tmp_path, "machine", GREETING)
    session = AmdSession(AmdSettings(enabled=True, maximum_number_of_words=5))
    step = session.feed(read_pcm(source))
    assert step is not None and step.action is Action.HANG_UP and step.greeting_end is None
    assert step.decision.decision_ms < timeline.speech_end_ms


def test_a_session_without_a_tap_says_so() -> None:
    with pytest.raises(RuntimeError, match="no tap file"):
        AmdSession(AmdSettings()).poll()
    silence = array("h", [round(10 * math.sin(n)) for n in range(8000)]).tobytes()
    assert AmdSession(AmdSettings()).feed(silence) is None  # 0.5 s: nothing decided yet
