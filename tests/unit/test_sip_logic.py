"""The sip dialer's pure parts: SIP status → outcome, netstrings, options, call decisions."""

from __future__ import annotations

import itertools
import wave
from pathlib import Path

import pytest

from outbound.campaigns.types import CampaignType
from outbound.channels.base import Dial
from outbound.channels.registry import InvalidOptions, validate_dialer_options
from outbound.channels.sip.calls import Call, Mode, Plan, on_deadline, on_event, plan_call
from outbound.channels.sip.config import SipDialerConfig
from outbound.channels.sip.netstring import Decoder, FramingError, encode
from outbound.channels.sip.outcomes import outcome_for_closed, outcome_for_status, status_code
from outbound.channels.sip.process import config_text
from outbound.channels.sip.relay import NOT_FOLLOWED, Seen, first_uri, sdp_codecs, usable
from outbound.strategies.outcomes import Outcome as O  # noqa: N817 (a short table)

CONFIG = SipDialerConfig(trunk="sip:10.0.0.5:5060", ring_timeout_seconds=20)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (486, O.BUSY),
        (600, O.BUSY),
        (480, O.NO_ANSWER),
        (408, O.NO_ANSWER),
        (487, O.NO_ANSWER),
        (404, O.INVALID_NUMBER),
        (484, O.INVALID_NUMBER),
        (604, O.INVALID_NUMBER),
        (410, O.INVALID_NUMBER),
        (503, O.NETWORK_ERROR),
        (500, O.NETWORK_ERROR),
        (502, O.NETWORK_ERROR),
        (504, O.NETWORK_ERROR),
        (603, O.DECLINED),
        # outside the table: other 6xx refuse, the rest failed on the way
        (606, O.DECLINED),
        (403, O.NETWORK_ERROR),
        (302, O.NETWORK_ERROR),
        (501, O.NETWORK_ERROR),
    ],
)
def test_final_responses_map_to_the_design_table(code: int, outcome: O) -> None:
    assert outcome_for_status(code) is outcome


def test_a_closing_reason_without_a_status_depends_on_whether_it_rang() -> None:
    assert status_code("486 Busy Here") == 486
    assert status_code("Connection timed out") is None
    assert outcome_for_closed("404 Not Found", rang=True) is O.INVALID_NUMBER
    assert outcome_for_closed("Connection timed out", rang=False) is O.NETWORK_ERROR
    assert outcome_for_closed("Connection timed out", rang=True) is O.NO_ANSWER


def test_netstrings_survive_any_split_and_refuse_garbage() -> None:
    stream = encode({"event": True, "type": "CALL_CLOSED", "param": "486 Busy Here"}) + encode(
        {"response": True, "ok": True, "data": "é,:", "token": "7"}
    )
    for cut in range(len(stream) + 1):
        decoder = Decoder()
        got = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [m.get("type", m.get("token")) for m in got] == ["CALL_CLOSED", "7"], cut
    for bad in (b"x2:{},", b"2:{}.", b"4:nope,", b"99999999999:"):
        with pytest.raises(FramingError):
            Decoder().feed(bad)


def test_options_are_checked_when_saved() -> None:
    stored = validate_dialer_options("sip", {"trunk": "sip:10.0.0.5:5060;transport=udp"})
    assert stored["processes"] == 1 and stored["calls_per_process"] == 250
    bad: list[tuple[dict[str, object], str]] = [
        ({}, "trunk"),
        ({"trunk": "sip:someone@10.0.0.5"}, "trunk"),
        ({"trunk": "http://10.0.0.5"}, "trunk"),
        ({"trunk": "sip:10.0.0.5:70000"}, "trunk"),
        ({"trunk": "sip:h", "calls_per_process": 256}, "calls_per_process"),
        ({"trunk": "sip:h", "processes": 16, "sip_port": 65530}, "sip_port"),
        ({"trunk": "sip:h", "baresip": "/nonexistent/baresip"}, "baresip"),
        ({"trunk": "sip:h", "listen_address": "lo"}, "listen_address"),
        ({"trunk": "sip:h", "colour": "blue"}, "colour"),
    ]
    for options, field in bad:
        with pytest.raises(InvalidOptions) as caught:
            validate_dialer_options("sip", options)
        assert any(field in str(loc) or field in msg for loc, msg in caught.value.problems), (
            options,
            caught.value.problems,
        )


def test_each_process_gets_its_own_ports() -> None:
    config = SipDialerConfig(trunk="sip:h", processes=3, sip_port=6000, ctrl_port=7000)
    texts = [config_text(config, i) for i in range(3)]
    assert "127.0.0.1:6004" in texts[2] and "127.0.0.1:7002" in texts[2]
    assert "net_interface       127.0.0.1" in texts[0]
    rtp = [t.split("rtp_ports", 1)[1].split()[0] for t in texts]
    ranges = [tuple(map(int, r.split("-"))) for r in rtp]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert CONFIG.dial_uri("+14155550200", 42) == "sip:+14155550200@10.0.0.5:5060;x-att=42"


def _dial(kind: CampaignType, target: str) -> Dial:
    return Dial(1, "+14155550200", 1, kind, target)


def _wav(path: Path, *, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\0\0" * rate * channels)
    return path


def test_targets_by_campaign_type(tmp_path: Path) -> None:
    agent = plan_call(_dial(CampaignType.AGENT, "sip:queue@pbx.example"), CONFIG)
    assert agent == Plan(Mode.TRANSFER, "sip:queue@pbx.example")
    assert plan_call(_dial(CampaignType.IVR, "7001"), CONFIG) == Plan(
        Mode.TRANSFER, "sip:7001@10.0.0.5:5060"
    )
    assert "no transfer target" in str(plan_call(_dial(CampaignType.AGENT, " "), CONFIG))
    assert "neither" in str(plan_call(_dial(CampaignType.AGENT, "a queue"), CONFIG))
    good = _wav(tmp_path / "hello.wav")
    assert plan_call(_dial(CampaignType.AUTOMATED, str(good)), CONFIG) == Plan(Mode.PLAY, str(good))
    in_dir = SipDialerConfig(trunk="sip:h", audio_dir=str(tmp_path))
    assert plan_call(_dial(CampaignType.AUTOMATED, "hello.wav"), in_dir) == Plan(
        Mode.PLAY, str(good)
    )
    problems = {
        "relative.wav": "absolute",
        str(tmp_path / "missing.wav"): "does not exist",
        str(_wav(tmp_path / "cd.wav", rate=44100)): "8000 Hz mono",
        str(_wav(tmp_path / "stereo.wav", channels=2)): "8000 Hz mono",
        str(tmp_path / "a b.wav"): "spaces",
    }
    (tmp_path / "text.wav").write_text("not audio")
    problems[str(tmp_path / "text.wav")] = "not a readable WAV"
    for target, why in problems.items():
        assert why in str(plan_call(_dial(CampaignType.AUTOMATED, target), CONFIG)), target
    assert "does not make calls" in str(plan_call(_dial(CampaignType.SMS, "x"), CONFIG))


def _call(mode: Mode = Mode.TRANSFER) -> Call:
    return Call(7, "sip:+14155550200@10.0.0.5:5060;x-att=7", Plan(mode, "sip:q@pbx"), dialled=True)


def test_a_call_reports_once_and_frees_its_line_when_baresip_closes_it() -> None:
    call = _call()
    assert on_event(call, "CALL_RINGING", "", now=0, config=CONFIG).result is None
    step = on_deadline(call, now=20, config=CONFIG)
    assert step.result == (O.NO_ANSWER, "ring timeout 20 s (CANCEL)")
    assert step.command == "hangup" and not step.released
    closed = on_event(call, "CALL_CLOSED", "487 Request Terminated", now=21, config=CONFIG)
    assert closed.result is None and closed.released  # reported already: only the line
    silent = _call()
    assert on_deadline(silent, now=20, config=CONFIG).result == (
        O.NETWORK_ERROR,
        "no response within 20 s",
    )
    assert on_deadline(silent, now=84, config=CONFIG).released  # never closed: freed anyway


def test_answered_calls_transfer_or_play() -> None:
    call = _call()
    assert on_event(call, "CALL_ESTABLISHED", "", now=1, config=CONFIG).command == "transfer"
    refused = on_event(call, "TRANSFER_FAILED", "603 Decline", now=1, config=CONFIG)
    assert refused.result == (O.DIALER_ABANDONED, "200 OK; transfer failed: 603 Decline")
    assert refused.released
    done = _call()
    on_event(done, "CALL_ESTABLISHED", "", now=1, config=CONFIG)
    assert on_event(done, "CALL_CLOSED", "Call transfered", now=2, config=CONFIG).result == (
        O.CONNECTED,
        "200 OK; transferred",
    )
    stuck = _call()
    on_event(stuck, "CALL_ESTABLISHED", "", now=1, config=CONFIG)
    assert on_deadline(stuck, now=31, config=CONFIG).result == (
        O.DIALER_ABANDONED,
        "200 OK; no answer to the transfer",
    )
    message = _call(Mode.PLAY)
    assert on_event(message, "CALL_ESTABLISHED", "", now=1, config=CONFIG).command is None
    assert on_event(message, "CALL_CLOSED", "end of file", now=9, config=CONFIG).result == (
        O.CONNECTED,
        "200 OK; message played",
    )
    gone = _call(Mode.PLAY)
    on_event(gone, "CALL_ESTABLISHED", "", now=1, config=CONFIG)
    result = on_event(gone, "CALL_CLOSED", "Connection reset by peer", now=2, config=CONFIG)
    assert result.result is not None and result.result[0] is O.CUSTOMER_ABANDONED
    busy = _call()
    assert on_event(busy, "CALL_CLOSED", "486 Busy Here", now=1, config=CONFIG).result == (
        O.BUSY,
        "486 Busy Here",
    )


def test_only_udp_trunks_are_accepted() -> None:
    """The dialer relays each INVITE transaction itself (relay.py), over UDP."""
    assert validate_dialer_options("sip", {"trunk": "sip:10.0.0.5;transport=UDP"})
    for trunk in ("sip:10.0.0.5;transport=tcp", "sips:10.0.0.5:5061", "sip:h;transport=tls"):
        with pytest.raises(InvalidOptions) as caught:
            validate_dialer_options("sip", {"trunk": trunk})
        assert "UDP" in str(caught.value.problems), trunk


def test_the_answer_codecs_are_read_from_the_sdp() -> None:
    g729 = "v=0\r\nm=audio 4000 RTP/AVP 18 101\r\na=rtpmap:18 G729/8000\r\n"
    assert sdp_codecs(g729) == ["G729", "PT101"] and not usable(sdp_codecs(g729))
    dynamic = "v=0\r\nm=audio 4000 RTP/AVP 96 8\r\na=rtpmap:96 opus/48000/2\r\n"
    assert sdp_codecs(dynamic) == ["OPUS", "PCMA"] and usable(sdp_codecs(dynamic))
    assert sdp_codecs("v=0\r\nm=video 4000 RTP/AVP 96\r\n") == []


def test_what_the_relay_saw_decides_silent_calls_redirects_and_codecs() -> None:
    trying = _call()
    step = on_deadline(trying, now=20, config=CONFIG, seen=Seen("c1", provisional=100))
    assert step.result == (O.NO_ANSWER, "100 Trying, no ringing within 20 s (CANCEL)")
    assert step.command == "hangup"
    moved = Seen("c2", final="302 Moved Temporarily", redirect="sip:+1999@x")
    step = on_event(_call(), "CALL_CLOSED", NOT_FOLLOWED, now=1, config=CONFIG, seen=moved)
    assert step.result == (
        O.NETWORK_ERROR,
        "302 Moved Temporarily; redirect to sip:+1999@x not followed",
    )
    mute = _call(Mode.PLAY)
    seen = Seen("c3", final="200 OK", codecs=["G729"])
    step = on_event(mute, "CALL_ESTABLISHED", "", now=1, config=CONFIG, seen=seen)
    assert step.result == (O.NETWORK_ERROR, "200 OK; no common codec (the answer offers G729)")
    assert step.command == "hangup"
    pause = Seen("c4", final="503 Service Unavailable", retry_after=120)
    step = on_event(
        _call(), "CALL_CLOSED", "503 Service Unavailable", now=1, config=CONFIG, seen=pause
    )
    assert step.retry_after == 120
    assert step.result == (O.NETWORK_ERROR, "503 Service Unavailable; Retry-After 120 s")


def test_an_automated_call_is_connected_only_if_its_message_played() -> None:
    endless = _call(Mode.PLAY)
    on_event(endless, "CALL_ESTABLISHED", "", now=1, config=CONFIG)
    step = on_deadline(endless, now=1802, config=CONFIG)
    assert step.result == (O.NETWORK_ERROR, "200 OK; the message did not finish within 1800 s")
    assert step.command == "hangup"


def test_a_declined_audio_stream_has_no_codec_and_a_contact_gives_itsfirst_uri() -> None:
    assert sdp_codecs("v=0\r\nm=audio 0 RTP/AVP 0\r\n") == []
    assert first_uri('"Sales" <sip:+1555@10.0.0.9;user=phone>;q=0.5, <sip:b@c>') == (
        "sip:+1555@10.0.0.9;user=phone"
    )
    assert first_uri("sip:+1555@10.0.0.9;expires=60") == "sip:+1555@10.0.0.9"
