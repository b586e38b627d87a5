"""A stateless SIP hop between the dialer's baresips and the trunk, for the INVITE transaction.

baresip 1.0 (libre 1.1) tells its controller little about the INVITE transaction: nothing for
a ``100 Trying``, nothing about a redirect, which it follows on its own to the Contact of any
3xx (a number we never checked against the DNC list), nor a 503's ``Retry-After``. Every
baresip account routes its INVITEs here (``outbound=`` this hop, loose routing); the relay
forwards them to the trunk under its own Via and forwards the responses back, noting for each
call what it saw. A 3xx is never passed on as a redirect: baresip gets ``499 Redirect Not
Followed`` instead and ends the call. In-dialog requests (ACK of a 2xx, BYE, REFER) go from
baresip to the far end directly, as the Contacts say.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FORGOTTEN = 4096  # Call-IDs of released calls whose INVITE may still be retransmitted
NOT_FOLLOWED = "499 Redirect Not Followed"
# The codecs the dialer's baresips load (g711.so): by static payload type and by name.
OUR_CODECS = {"PCMU", "PCMA"}
_STATIC = {"0": "PCMU", "8": "PCMA", "18": "G729", "3": "GSM", "4": "G723", "9": "G722"}
_ATTEMPT = re.compile(r";x-att=([0-9]+)")
_STATUS = re.compile(r"^SIP/2\.0 ([1-6][0-9]{2})(?: (.*))?$")
_RETRY_AFTER = re.compile(r"^\s*([0-9]{1,9})")
_VIA_ADDR = re.compile(r"^SIP/2\.0/UDP\s+([^\s;:]+)(?::([0-9]+))?(.*)$", re.IGNORECASE)
_RPORT = re.compile(r";rport=([0-9]+)")
_REQUEST_URI = re.compile(r"^[A-Z]+ sips?:(?:[^@\s]*@)?([^:;>\s]+)(?::([0-9]+))?")
_RPORT_ANY = re.compile(r";rport(?:=[0-9]*)?")
_BRANCH = re.compile(r";branch=([^;\s,]+)")
_ANGLED = re.compile(r"<([^>]+)>")
_BARE = re.compile(r"([^;,\s]+)")
_COMPACT = {"v": "via", "i": "call-id", "m": "contact", "l": "content-length", "c": "content-type"}


@dataclass
class Seen:
    """What the relay saw of one call's INVITE transaction."""

    call_id: str
    provisional: int | None = None  # the highest 1xx status
    final: str | None = None  # the far end's final status line ("302 Moved Temporarily")
    redirect: str | None = None  # a 3xx's Contact
    retry_after: int | None = None  # seconds, from a final response's Retry-After
    codecs: list[str] | None = field(default=None)  # of the 2xx's SDP audio line


def _name(line: str) -> str:
    name = line.split(":", 1)[0].strip().lower()
    return _COMPACT.get(name, name)


def _value(line: str) -> str:
    return line.split(":", 1)[1].strip() if ":" in line else ""


def sdp_codecs(body: str) -> list[str]:
    """The audio codecs an SDP body offers, by name (``PCMU``, ``G729``), in its order."""
    kinds: list[str] = []
    names: dict[str, str] = {}
    for line in body.splitlines():
        if line.startswith("m=audio "):
            words = line.split()
            kinds = words[3:] if words[1] != "0" else []  # port 0: audio declined
        elif line.startswith("a=rtpmap:"):
            pt, _, rest = line[len("a=rtpmap:") :].partition(" ")
            names[pt] = rest.split("/", 1)[0].upper()
    return [names.get(pt, _STATIC.get(pt, f"PT{pt}")) for pt in kinds]


def first_uri(contact: str) -> str | None:
    """The first URI of a Contact value (``"Name" <sip:a@b>;q=1, <sip:c@d>`` → ``sip:a@b``)."""
    found = _ANGLED.search(contact) or _BARE.match(contact.strip())
    return found.group(1) if found else None


def usable(codecs: list[str]) -> bool:
    return bool(OUR_CODECS.intersection(codecs))


class Relay:
    def __init__(
        self, listen: tuple[str, int], trunk: tuple[str, int], baresips: set[tuple[str, int]]
    ) -> None:
        self.address = listen
        self._trunk = trunk
        # Only our baresips and the trunk's host may use the relay: never an open relay.
        self._baresips = frozenset(baresips)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock.bind(listen)
        self._lock = threading.Lock()
        self._by_attempt: dict[int, Seen] = {}
        self._by_call_id: dict[str, Seen] = {}
        self._forgotten: OrderedDict[str, None] = OrderedDict()  # retransmitted INVITEs
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sip-relay", daemon=True)
        self._thread.start()

    @property
    def route(self) -> str:
        return f"sip:{self.address[0]}:{self.address[1]}"

    def seen(self, attempt_id: int) -> Seen | None:
        with self._lock:
            return self._by_attempt.get(attempt_id)

    def forget(self, attempt_id: int) -> None:
        with self._lock:
            found = self._by_attempt.pop(attempt_id, None)
            if found is not None:
                self._by_call_id.pop(found.call_id, None)
                self._forgotten[found.call_id] = None
                while len(self._forgotten) > FORGOTTEN:
                    self._forgotten.popitem(last=False)

    def stop(self) -> None:
        self._stopped = True
        with contextlib.suppress(OSError):
            self._sock.sendto(b"", self.address)  # wakes the reader
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stopped:
            try:
                data, source = self._sock.recvfrom(65536)
            except OSError:
                return
            if self._stopped:
                return
            try:
                self._handle(data, source)
            except Exception:  # a malformed datagram must not stop the relay
                log.exception("sip relay: message dropped")

    def _handle(self, data: bytes, source: tuple[str, int]) -> None:
        head, sep, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        if not sep or not lines[0]:
            return
        if lines[0].startswith("SIP/2.0 "):
            self._response(lines, body)  # from wherever: it only ever goes to a peer
            return
        ours = source in self._baresips
        if not ours and source[0] != self._trunk[0]:
            return  # neither a baresip of ours nor the trunk
        hop = self._next_hop(lines[0])
        if ours == (hop in self._baresips):
            return  # a baresip's request goes to the trunk, the trunk's to a baresip
        self._request(lines, body, source, hop)

    def _request(
        self, lines: list[str], body: bytes, source: tuple[str, int], hop: tuple[str, int]
    ) -> None:
        """Drop our Route, put our Via on top, send on: to the trunk, or to the baresip its
        Request-URI names (a far end that sends in-dialog requests back the way the INVITE
        came, as SIPp does)."""
        out = [lines[0]]
        call_id = ""
        branch = ""
        for line in lines[1:]:
            name = _name(line)
            if name == "route" and self._is_us(line):
                continue
            if name == "call-id":
                call_id = _value(line)
            if name == "via" and not branch:
                found = _BRANCH.search(line)
                branch = found.group(1) if found else ""
                if ";received=" not in line:
                    line = _RPORT_ANY.sub(f";received={source[0]};rport={source[1]}", line, 1)
            out.append(line)
        digest = hashlib.blake2s(f"{branch}|{source}".encode(), digest_size=10).hexdigest()
        host, port = self.address
        out.insert(1, f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{digest}")
        if lines[0].startswith("INVITE "):
            found = _ATTEMPT.search(lines[0])
            if found and call_id:
                with self._lock:
                    seen = self._by_call_id.get(call_id)
                    if seen is None and call_id not in self._forgotten:
                        seen = self._by_call_id[call_id] = Seen(call_id)
                    if seen is not None:
                        self._by_attempt[int(found.group(1))] = seen
        self._send(out, body, hop)

    def _next_hop(self, request_line: str) -> tuple[str, int]:
        found = _REQUEST_URI.match(request_line)
        if found is None or _ATTEMPT.search(request_line):
            return self._trunk
        hop = (found.group(1), int(found.group(2) or 5060))
        return hop if hop in self._baresips else self._trunk

    def _is_us(self, line: str) -> bool:
        host, port = self.address
        return f"{host}:{port}" in line

    def _response(self, lines: list[str], body: bytes) -> None:
        """Take our Via off, note what it says, send to the next Via: a baresip or the
        trunk, never anywhere else."""
        status = _STATUS.match(lines[0])
        if status is None:
            return
        code = int(status.group(1))
        target = self._pop_via(lines)
        if target is None or (target not in self._baresips and target[0] != self._trunk[0]):
            return
        headers = {_name(line): _value(line) for line in lines[1:]}
        if headers.get("cseq", "").split()[-1:] == ["INVITE"]:
            self._note(headers, code, status.group(0)[len("SIP/2.0 ") :], body)
            if 300 <= code < 400:
                lines[0] = f"SIP/2.0 {NOT_FOLLOWED}"
        self._send(lines, body, target)

    def _note(self, headers: dict[str, str], code: int, status: str, body: bytes) -> None:
        with self._lock:
            seen = self._by_call_id.get(headers.get("call-id", ""))
            if seen is None:
                return
            if code < 200:
                seen.provisional = max(code, seen.provisional or 0)
                return
            if seen.final is None:
                seen.final = status
            if 300 <= code < 400:
                seen.redirect = first_uri(headers.get("contact", ""))
            after = _RETRY_AFTER.match(headers.get("retry-after", ""))
            if after:
                seen.retry_after = int(after.group(1))
            if code < 300 and body:
                seen.codecs = sdp_codecs(body.decode("utf-8", "replace"))

    def _pop_via(self, lines: list[str]) -> tuple[str, int] | None:
        """Take our Via value off (a line may hold several, comma-separated); where the
        next one says the response goes."""
        vias = [i for i, line in enumerate(lines) if _name(line) == "via"]
        if not vias:
            return None
        values = [v.strip() for v in _value(lines[vias[0]]).split(",")]
        if not self._is_us(values[0]):
            # A response to a request baresip sent the far end directly, sent back to us
            # (the address the far end knows): it goes where its Via says.
            return self._via_target(values[0])
        if len(values) > 1:
            lines[vias[0]] = "Via: " + ", ".join(values[1:])
            return self._via_target(values[1])
        del lines[vias[0]]
        if len(vias) < 2:
            return None
        return self._via_target(_value(lines[vias[1] - 1]).split(",")[0].strip())

    @staticmethod
    def _via_target(via: str) -> tuple[str, int] | None:
        found = _VIA_ADDR.match(via)
        if found is None:
            return None
        host, port, params = found.group(1), int(found.group(2) or 5060), found.group(3)
        received = re.search(r";received=([^;\s,]+)", params)
        rport = _RPORT.search(params)
        return (received.group(1) if received else host, int(rport.group(1)) if rport else port)

    def _send(self, lines: list[str], body: bytes, target: tuple[str, int]) -> None:
        data = "\r\n".join(lines).encode() + b"\r\n\r\n" + body
        with contextlib.suppress(OSError):
            self._sock.sendto(data, target)
