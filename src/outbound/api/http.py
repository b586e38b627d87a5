"""The HTTP/1.1 connection the server runs: uvicorn's h11 protocol, with a lingering close
after a request it cannot parse.

uvicorn answers a malformed request (a control character in a header, say) with 400 and
closes the socket at once. When the request's body arrives after its head, as most clients
send them, it may still be unread at that moment, and the kernel then resets the connection
instead of closing it: the client sees "connection reset" and never the 400. Here the answer
is followed by a half-close (our side is done), whatever still comes is read and dropped, and
the socket is closed once the client closes its side, or after ``LINGER_SECONDS``.
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

LINGER_SECONDS = 2.0


class LingeringH11Protocol(H11Protocol):
    _lingering = False

    def send_400_response(self, msg: str) -> None:
        body = msg.encode("ascii")
        head = h11.Response(
            status_code=400,
            reason=b"Bad Request",
            headers=[
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        )
        for event in (head, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event) or b"")
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if not self._lingering:  # after the 400, the rest of the request is dropped
            super().data_received(data)

    def eof_received(self) -> None:
        if self._lingering:
            self.transport.close()
