"""The sip dialer's relay on real loopback sockets: who may use it, what it passes on."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from outbound.channels.sip.relay import NOT_FOLLOWED, Relay
from tests.peers.sip.far_end import free_block


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    return sock


def _invite(sender: socket.socket, number: str, attempt: int) -> bytes:
    host, port = sender.getsockname()
    return (
        f"INVITE sip:{number}@127.0.0.1:5060;x-att={attempt} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{attempt}x;rport\r\n"
        f"Call-ID: call-{attempt}\r\n"
        "CSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture
def sockets() -> Iterator[tuple[socket.socket, socket.socket, socket.socket]]:
    trunk, ours, stranger = _udp(), _udp(), _udp()
    yield trunk, ours, stranger
    for sock in (trunk, ours, stranger):
        sock.close()


def test_only_our_baresips_reach_the_trunk_and_a_redirect_comes_back_refused(
    sockets: tuple[socket.socket, socket.socket, socket.socket],
) -> None:
    trunk, ours, stranger = sockets
    relay = Relay(("127.0.0.1", free_block(1)), trunk.getsockname(), {ours.getsockname()})
    try:
        # One relay thread, in order: were the stranger's INVITE forwarded, it would come first.
        stranger.sendto(_invite(stranger, "+15550001", 1), relay.address)
        ours.sendto(_invite(ours, "+15550002", 2), relay.address)
        data, relay_address = trunk.recvfrom(65536)
        forwarded = data.decode()
        assert forwarded.startswith("INVITE sip:+15550002@")
        vias = [line for line in forwarded.split("\r\n") if line.startswith("Via:")]
        assert f"127.0.0.1:{relay.address[1]}" in vias[0] and len(vias) == 2
        # The far end redirects: our baresip gets a refusal it will not follow.
        redirect = "\r\n".join(
            [
                "SIP/2.0 302 Moved Temporarily",
                "Via: " + ", ".join(v[len("Via: ") :] for v in vias),  # one line, as SIPp does
                "Call-ID: call-2",
                "CSeq: 1 INVITE",
                "Contact: <sip:+15559999@10.9.9.9>",
                "Content-Length: 0",
            ]
        )
        trunk.sendto(redirect.encode() + b"\r\n\r\n", relay_address)
        back = ours.recv(65536).decode()
        assert back.startswith(f"SIP/2.0 {NOT_FOLLOWED}\r\n")
        assert f":{relay.address[1]}" not in back  # the relay's own Via is taken off
        seen = relay.seen(2)
        assert seen is not None and seen.redirect == "sip:+15559999@10.9.9.9"
        assert relay.seen(1) is None
    finally:
        relay.stop()
