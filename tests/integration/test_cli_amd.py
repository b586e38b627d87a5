"""``outbound amd classify``: one line per recording with Asterisk's defaults, a campaign's
settings or the ones given, and a clear refusal of a file in the wrong format."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outbound.cli import app
from outbound.db.engine import Database
from outbound.models import Campaign
from tests.factories import make_campaign
from tests.peers.amd.corpus import Item, render


def _speech(path: Path, *phrases: str, gaps: tuple[int, ...]) -> Path:
    item = Item(
        name="cli",
        label="",
        phrases=phrases,
        gaps_ms=gaps,
        voice="en-us",
        speed=165,
        pitch=50,
        gain=0.7,
        noise=0.0,
        mulaw=False,
        beep_hz=0,
        beep_ms=0,
        seed=3,
    )
    render(item, path)
    return path


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    home = tmp_path_factory.mktemp("amd-cli")
    return {
        "hello": _speech(home / "hello.wav", "Hello?", gaps=(500,)),
        "maria": _speech(home / "maria.wav", "Hi, this is Maria.", gaps=(500,)),
        "greeting": _speech(
            home / "greeting.wav",
            "Hi, you've reached Sarah.",
            "Please leave a message after the tone.",
            gaps=(300, 400),
        ),
    }


def _lines(output: str) -> list[list[str]]:
    return [line.split() for line in output.splitlines()]


def test_classify_prints_one_line_per_file(recordings: dict[str, Path]) -> None:
    files = [str(recordings[k]) for k in ("hello", "greeting")]
    ran = CliRunner().invoke(app, ["amd", "classify", *files])
    assert ran.exit_code == 0, ran.output
    (hello, greeting) = _lines(ran.output)
    assert hello[:3] == [files[0], "HUMAN", "HUMAN"]
    assert greeting[:3] == [files[1], "MACHINE", "MAXWORDS"]
    assert int(hello[3]) > 500 + 800 and int(greeting[3]) < 5000


def test_given_parameters_and_a_campaigns_settings_are_used(
    recordings: dict[str, Path], db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    maria = str(recordings["maria"])
    by_default = CliRunner().invoke(app, ["amd", "classify", maria])
    assert _lines(by_default.output)[0][1:3] == ["MACHINE", "MAXWORDS"]
    more_words = CliRunner().invoke(
        app, ["amd", "classify", "--maximum-number-of-words", "5", maria]
    )
    assert _lines(more_words.output)[0][1:3] == ["HUMAN", "HUMAN"]
    campaign_id = make_campaign(db, "amd-tuned")
    with db.transaction() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        campaign.amd = {"enabled": True, "maximum_number_of_words": 5}
    monkeypatch.setenv("OUTBOUND_DATABASE_URL", db.url)
    tuned = CliRunner().invoke(app, ["amd", "classify", "--campaign", "amd-tuned", maria])
    assert tuned.exit_code == 0, tuned.output
    assert _lines(tuned.output)[0][1:3] == ["HUMAN", "HUMAN"]
    # An option given on top of the campaign's settings wins.
    stricter = CliRunner().invoke(
        app,
        ["amd", "classify", "--campaign", "amd-tuned", "--maximum-number-of-words", "2", maria],
    )
    assert _lines(stricter.output)[0][1:3] == ["MACHINE", "MAXWORDS"]
    unknown = CliRunner().invoke(app, ["amd", "classify", "--campaign", "nope-nope", maria])
    assert unknown.exit_code == 1
    assert "campaign 'nope-nope' not found" in unknown.output


def test_a_wrong_format_names_the_file_and_the_problem(
    recordings: dict[str, Path], tmp_path: Path
) -> None:
    wide = tmp_path / "wide.wav"
    subprocess.run(["sox", str(recordings["hello"]), "-r", "16000", str(wide)], check=True)
    stereo = tmp_path / "stereo.wav"
    subprocess.run(["sox", str(recordings["hello"]), "-c", "2", str(stereo)], check=True)
    hello = str(recordings["hello"])
    ran = CliRunner().invoke(app, ["amd", "classify", str(wide), hello, str(stereo)])
    assert ran.exit_code == 1
    assert f"error: {wide}: sample rate is 16000 Hz, 8000 Hz needed" in ran.output
    assert f"error: {stereo}: 2 channels, mono needed" in ran.output
    assert f"{hello} HUMAN HUMAN" in ran.output  # the good file is still classified
    bad = CliRunner().invoke(app, ["amd", "classify", "--greeting", "5", hello])
    assert bad.exit_code == 2
    assert "greeting must be between 100 and 60000 (got 5)" in bad.output
