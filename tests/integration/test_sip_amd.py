"""Answering-machine detection on live calls: the real engine, the sip dialer's baresip,
baresip far ends that answer and play a person's or a voicemail's greeting made by
tests/peers/amd/corpus.py (espeak-ng and sox), and a baresip IVR that takes transfers.

Oracles: the corpus's own timeline of each recording (where the speech and the beep end),
and what the far end received (its sndfile recording), never the classifier itself.
"""

from __future__ import annotations

import shutil
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.integration.test_agents_sip import _speech, sip_options_for
from tests.integration.test_sip_dialer import (
    ALWAYS,
    ONE_TRY,
    SERIAL,
    ShiftedClock,
    attempts,
    closed,
    drive,
    make_engine,
    start_dialer,
)
from tests.peers.amd.corpus import Item, Timeline, render
from tests.peers.sip.baresip import Baresip, Customers

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="needs espeak-ng and sox"
)
API = "/api/v1"
RECOMMENDED = {"enabled": True, "maximum_number_of_words": 5, "silence_threshold": 128}
CLEAN = {"pitch": 50, "gain": 0.8, "noise": 0.0, "mulaw": False, "speed": 160, "seed": 7}
HUMAN = Item(
    name="h", label="human", phrases=("Hello?",), gaps_ms=(400,), voice="en-us",
    beep_hz=0, beep_ms=0, **CLEAN,  # type: ignore[arg-type]
)  # fmt: skip
MACHINE = Item(
    name="m", label="machine", voice="en-us", beep_hz=1000, beep_ms=500,
    phrases=(
        "Hi, you've reached John.",
        "I can't come to the phone right now.",
        "Please leave a message after the tone.",
    ),
    gaps_ms=(300, 400, 400), **CLEAN,  # type: ignore[arg-type]
)  # fmt: skip


def _recording(item: Item, folder: Path) -> tuple[Path, Timeline]:
    """The item as a far end plays it: its greeting, then silence for long enough that the
    far end never runs out of audio (aufile ends the call at the end of its file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{item.name}.wav"
    timeline = render(item, path)
    with wave.open(str(path), "rb") as audio:
        frames = audio.readframes(audio.getnframes())
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(frames + b"\0\0" * 8000 * 40)
    return path, timeline


@pytest.fixture
def ivr(tmp_path: Path) -> Iterator[Baresip]:
    """Where the people go: a baresip that answers every call by itself."""
    peer = Baresip(
        tmp_path / "ivr", ["<sip:ivr@127.0.0.1:{port}>;regint=0;answermode=auto"], max_calls=4
    )
    yield peer
    peer.stop()


def _campaign(
    client: TestClient, admin: Account, target: str, phones: list[str], amd: dict[str, object]
) -> int:
    """An IVR campaign listening to its answered calls, started."""
    h = admin.headers
    name = f"amd-{next(SERIAL)}"
    strategy = client.post(f"{API}/strategies", json=ONE_TRY | {"name": name}, headers=h)
    schedule = client.post(f"{API}/schedules", json=ALWAYS | {"name": name}, headers=h)
    body = {
        "name": name,
        "type": "ivr",
        "dialer_target": target,
        "strategy_id": strategy.json()["id"],
        "schedule_id": schedule.json()["id"],
        "amd": amd,
    }
    created = client.post(f"{API}/campaigns", json=body, headers=h)
    assert created.status_code == 201, created.text
    campaign = int(created.json()["id"])
    contacts = {"contacts": [{"phone1": p} for p in phones]}
    batch = client.post(f"{API}/campaigns/{campaign}/imports/batch", json=contacts, headers=h)
    assert batch.json()["rows_imported"] == len(phones), batch.text
    assert client.post(f"{API}/campaigns/{campaign}/start", headers=h).status_code == 200
    return campaign


def test_a_person_is_transferred_after_the_verdict_and_a_machine_is_hung_up(
    client: TestClient, admin: Account, db: Database, tmp_path: Path, ivr: Baresip
) -> None:
    person, machine = "+14155557001", "+14155557002"
    human_wav, human_line = _recording(HUMAN, tmp_path / "audio")
    machine_wav, machine_line = _recording(MACHINE, tmp_path / "audio")
    far = Customers(
        tmp_path / "far",
        {person: 0.2, machine: 0.2},
        audio={person: human_wav, machine: machine_wav},
    )
    target = f"sip:ivr@127.0.0.1:{ivr.sip_port}"
    clock = ShiftedClock()
    dialer = start_dialer(sip_options_for(far, tmp_path), clock)
    try:
        campaign = _campaign(client, admin, target, [person, machine], RECOMMENDED)
        engine = make_engine(db, dialer, clock)
        drive(engine, closed(db, campaign), within=30)
    finally:
        dialer.close()
        far.stop()
    made = attempts(db)
    human, robot = made[person][0], made[machine][0]
    assert (human.outcome and human.outcome.value, human.raw_result) == (
        "connected",
        "200 OK; transferred",
    )
    assert human.amd_verdict == "HUMAN" and human.amd_ms is not None
    # A person is known by the pause after "Hello?" (after_greeting_silence, 800 ms).
    assert human.amd_ms >= human_line.speech_end_ms + 800 - 100
    assert robot.outcome is not None and robot.outcome.value == "answering_machine"
    assert robot.raw_result is not None and robot.raw_result.endswith("hung up")
    assert robot.amd_verdict == "MACHINE" and robot.amd_ms is not None
    assert robot.amd_ms < machine_line.speech_end_ms  # before the greeting is over
    # Only the person reached the IVR.
    assert [e.peer.split("@")[0] for e in ivr.ctl.of("CALL_ESTABLISHED")] == [f"sip:{person}"]
    report = client.get(f"{API}/campaigns/{campaign}/report", headers=admin.headers).json()
    assert report["machines"]["count"] == 1
    assert report["machines"]["median_detection_ms"] is not None
    print(f"detection: human {human.amd_ms} ms, machine {robot.amd_ms} ms")


class FirstSound:
    """Watches the far end's recording of the one call it takes; the monotonic time the
    first loud 20 ms arrived, and how much audio arrived from then on."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.at: float | None = None
        self.loud_from: int | None = None  # byte offset in the data
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.01):
            dumps = sorted(self.folder.glob("dump-*-dec.wav"))
            if not dumps:
                continue
            data = dumps[0].read_bytes()[44:]
            for offset in range(0, len(data) - 320, 320):
                chunk = data[offset : offset + 320]
                loud = max(
                    abs(int.from_bytes(chunk[i : i + 2], "little", signed=True))
                    for i in range(0, 320, 2)
                )
                if loud > 1000:
                    self.at, self.loud_from = time.monotonic(), offset
                    return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def test_a_message_is_left_on_a_machine_once_its_greeting_is_over(
    client: TestClient, admin: Account, db: Database, tmp_path: Path, ivr: Baresip
) -> None:
    machine = "+14155557003"
    machine_wav, line = _recording(MACHINE, tmp_path / "audio")
    message = _speech(tmp_path / "audio" / "left.wav", "This is Acme. Please call us back.")
    with wave.open(str(message), "rb") as audio:
        message_bytes = audio.getnframes() * 2
    far = Customers(tmp_path / "far", {machine: 0.2}, audio={machine: machine_wav}, snd=True)
    assert far.snd is not None
    heard = FirstSound(far.snd)
    clock = ShiftedClock()
    dialer = start_dialer(sip_options_for(far, tmp_path), clock)
    target = f"sip:ivr@127.0.0.1:{ivr.sip_port}"
    try:
        amd = RECOMMENDED | {"machine_treatment": "leave_message", "machine_message": str(message)}
        campaign = _campaign(client, admin, target, [machine], amd)
        engine = make_engine(db, dialer, clock)
        drive(engine, closed(db, campaign), within=30)
    finally:
        dialer.close()
        heard.stop()
        far.stop()
    left = attempts(db)[machine][0]
    assert left.outcome is not None and left.outcome.value == "answering_machine"
    assert left.raw_result is not None
    assert left.raw_result.startswith("200 OK; message left on the answering machine")
    assert "BEEP" in left.raw_result
    # The far end heard the message only after its own beep had ended (it plays its
    # greeting in real time from its answer: nothing can come back earlier than that) ...
    assert heard.at is not None and heard.loud_from is not None
    answered = far.answered[machine]
    assert heard.at - answered >= line.beep_end_ms / 1000 - 0.1
    # ... and recorded it whole.
    dump = sorted(far.snd.glob("dump-*-dec.wav"))[0]
    received = len(dump.read_bytes()) - 44 - heard.loud_from
    assert received >= message_bytes - 8000  # at most 0.5 s of trailing quiet cut
    assert [e for e in ivr.ctl.of("CALL_ESTABLISHED")] == []
    print(f"detection {left.amd_ms} ms; message heard {heard.at - answered:.2f} s after answer")
