"""The sip dialer against a far end that misbehaves: late answers, redirects, an answer in a
codec we lack, a 503 asking for a pause. Real engine, real baresip, SIPp (tests/peers/sip/uas.xml
picks each behaviour by the number's last three digits and logs what it receives)."""

from __future__ import annotations

import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from outbound.db.engine import Database
from tests.conftest import Account
from tests.integration.test_sip_dialer import (
    API,
    ShiftedClock,
    attempts,
    closed,
    drive,
    make_engine,
    sip_options,
    start_campaign,
    start_dialer,
)
from tests.peers.sip.far_end import FarEnd


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[FarEnd]:
    far_end = FarEnd(tmp_path / "sipp")
    yield far_end
    far_end.stop()


def wait_for(done: Callable[[], bool], *, within: float) -> None:
    """Wait for a condition (the far end's log) while the dialer's baresip runs."""
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "the far end never saw it"
        time.sleep(0.2)


def results(db: Database) -> dict[str, tuple[str | None, str | None]]:
    return {
        number: (made[0].outcome.value if made[0].outcome else None, made[0].raw_result)
        for number, made in attempts(db).items()
    }


def test_a_call_given_up_on_is_ended_on_the_wire_and_a_late_answer_never_left_up(
    client: TestClient, admin: Account, db: Database, peer: FarEnd
) -> None:
    """Ring timeout 2 s. …971: no response, then 200 OK at 4 s; …972: 100 Trying, then
    nothing (a 200 OK at 4 s unless CANCELled). The first must get an ACK and a BYE at once,
    the second a CANCEL; neither customer is left on a silent line."""
    silent, trying = "+14155550971", "+14155550972"
    campaign = start_campaign(client, admin, kind="agent", target="agents", phones=[silent, trying])
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(peer), clock)
    try:
        drive(make_engine(db, dialer, clock), closed(db, campaign), within=30)

        # The far end logs the BYE of a late answer, or "LEFT UP" after 10 s without one.
        def settled() -> bool:
            bye, cancel, left = peer.logged("BYE"), peer.logged("CANCEL"), peer.logged("LEFT UP")
            return (silent in bye or silent in left) and (trying in cancel or trying in left)

        wait_for(settled, within=40)
    finally:
        dialer.close()
    assert peer.logged("BYE") == {silent: 1}  # the late answer hung up by us
    assert peer.logged("CANCEL") == {trying: 1}  # the call that had a 100 Trying cancelled
    assert not peer.logged("LEFT UP")
    assert results(db) == {
        silent: ("network_error", "no response within 2 s"),
        trying: ("no_answer", "100 Trying, no ringing within 2 s (CANCEL)"),
    }
    assert peer.invites() == {silent: 1, trying: 1}


def test_a_redirect_is_not_followed_so_it_cannot_reach_a_dnc_number(
    client: TestClient, admin: Account, db: Database, peer: FarEnd
) -> None:
    """…302 answers 302 Moved Temporarily to +14155559200, which is on the DNC list (and
    which the far end would answer and take the transfer for)."""
    dnc = client.post(f"{API}/dnc", json={"number": "+14155559200"}, headers=admin.headers)
    assert dnc.status_code == 201, dnc.text
    campaign = start_campaign(client, admin, kind="agent", target="agents", phones=["+14155550302"])
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(peer), clock)
    try:
        drive(make_engine(db, dialer, clock), closed(db, campaign), within=30)
    finally:
        dialer.close()
    contact = f"sip:+14155559200@127.0.0.1:{peer.port}"
    assert results(db) == {
        "+14155550302": (
            "network_error",
            f"302 Moved Temporarily; redirect to {contact} not followed",
        )
    }
    assert peer.invites() == {"+14155550302": 1}  # the DNC number never got an INVITE


def test_an_answer_without_a_common_codec_is_a_failure_hung_up_at_once(
    client: TestClient, admin: Account, db: Database, peer: FarEnd, tmp_path: Path
) -> None:
    """…729 answers with G.729 only: baresip has no media for it. The Automated message can
    never play: the call is hung up at once (not after max_call_seconds) and not connected."""
    message = tmp_path / "message.wav"
    with wave.open(str(message), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00" * 8000)
    campaign = start_campaign(
        client, admin, kind="automated", target=str(message), phones=["+14155550729"]
    )
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(peer, max_call_seconds=25), clock)
    try:
        drive(make_engine(db, dialer, clock), closed(db, campaign), within=60)
        wait_for(lambda: bool(peer.logged("BYE") | peer.logged("LEFT UP")), within=30)
    finally:
        dialer.close()
    assert results(db) == {
        "+14155550729": ("network_error", "200 OK; no common codec (the answer offers G729)")
    }
    assert peer.logged("BYE") == {"+14155550729": 1}  # within 10 s of the answer
    assert not peer.logged("LEFT UP")


def _status(client: TestClient, admin: Account, campaign: int) -> dict[str, Any]:
    got = client.get(f"{API}/campaigns/{campaign}/status", headers=admin.headers)
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def test_a_503_with_retry_after_pauses_the_trunk_and_why_idle_says_so(
    client: TestClient, admin: Account, db: Database, peer: FarEnd
) -> None:
    """…513 answers 503 with Retry-After: 20. No call goes out for 20 s, "why idle" names
    the pause, and calls resume after it."""
    first = start_campaign(client, admin, kind="agent", target="agents", phones=["+14155550513"])
    clock = ShiftedClock()
    dialer = start_dialer(sip_options(peer), clock)
    try:
        engine = make_engine(db, dialer, clock)
        drive(engine, closed(db, first), within=30)
        paused_at = time.monotonic()
        assert results(db) == {
            "+14155550513": ("network_error", "503 Service Unavailable; Retry-After 20 s")
        }
        later = start_campaign(
            client, admin, kind="agent", target="agents", phones=["+14155550486"]
        )
        seen: dict[str, Any] = {}

        def explained() -> bool:
            seen.update(_status(client, admin, later))
            return seen["reason"] == "channel_down"

        drive(engine, explained, within=15)
        assert "Retry-After 20 s" in seen["detail"], seen
        assert "+14155550486" not in peer.invites()
        drive(engine, closed(db, later), within=60)  # dialled once the pause is over
        assert time.monotonic() - paused_at >= 15  # 20 s, less the time to record it
    finally:
        dialer.close()
    assert results(db)["+14155550486"] == ("busy", "486 Busy Here")
    assert peer.invites() == {"+14155550513": 1, "+14155550486": 1}
