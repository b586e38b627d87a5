"""Is an agent's phone there? A SIP OPTIONS to its address, through the registrar/proxy.

baresip 1.0 hangs the customer up itself when a transfer fails (TRANSFER_FAILED), so the
dialer asks before it REFERs: kamailio answers 404 for an agent that is not registered and
relays the OPTIONS to a registered phone, which answers 200; a phone that died behind a
stale registration answers nothing (then the check times out, well before kamailio's own
408). One UDP request, retransmitted once.
"""

from __future__ import annotations

import re
import secrets
import socket
import time

_URI = re.compile(r"^sips?:(?:[^@\s;>]+@)?(?P<host>\[[^\]]+\]|[^:;>\s]+)(?::(?P<port>\d+))?")
_STATUS = re.compile(rb"^SIP/2\.0 (\d{3})")
RETRANSMIT = 0.15  # seconds (loopback and a LAN answer in milliseconds)


def options(uri: str, *, source: str, timeout: float = 0.5) -> int | None:
    """The final status the address answers an OPTIONS with, or None (no answer in time,
    an address that cannot be reached at all)."""
    found = _URI.match(uri)
    if found is None:
        return None
    host, port = found.group("host").strip("[]"), int(found.group("port") or 5060)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((source, 0))
            local = sock.getsockname()[1]
            call_id = secrets.token_hex(12)
            request = _request(uri, source, local, call_id)
            target = (socket.gethostbyname(host), port)
            sock.sendto(request, target)
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        resend = time.monotonic() + RETRANSMIT
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(max(0.001, min(left, resend - time.monotonic())))
            try:
                data = sock.recv(65536)
            except TimeoutError:
                if time.monotonic() >= resend:
                    resend = float("inf")
                    try:
                        sock.sendto(request, target)
                    except OSError:
                        return None
                continue
            except OSError:
                return None  # ICMP port unreachable: nothing listens there
            status = _STATUS.match(data)
            if status is None or call_id.encode() not in data:
                continue
            code = int(status.group(1))
            if code >= 200:
                return code
    return None


def reachable(uri: str, *, source: str, timeout: float = 0.5) -> bool:
    code = options(uri, source=source, timeout=timeout)
    return code is not None and 200 <= code < 300


def _request(uri: str, source: str, port: int, call_id: str) -> bytes:
    branch = "z9hG4bK" + secrets.token_hex(8)
    tag = secrets.token_hex(6)
    lines = [
        f"OPTIONS {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {source}:{port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:outbound@{source}>;tag={tag}",
        f"To: <{uri}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:outbound@{source}:{port}>",
        "Accept: application/sdp",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()
