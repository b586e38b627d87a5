"""A connection to one baresip's ``ctrl_tcp``: lock-step commands, events from a reader thread.

baresip 1.0 takes one control connection at a time and mis-frames a netstring split across
two reads, so exactly one command is in flight: ``command`` sends and waits for its
response before the next may go. baresip writes an event and a response as small separate
segments; ``TCP_QUICKACK`` around each read keeps our delayed ACK from holding the second
one back ~40 ms.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from outbound.channels.sip.netstring import Decoder, FramingError, encode

log = logging.getLogger(__name__)
QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class CtrlClosed(ConnectionError):
    """The connection (or the process behind it) is gone."""


class Ctrl:
    def __init__(self, sock: socket.socket, on_event: Callable[[dict[str, Any]], None]) -> None:
        self._sock = sock
        self._on_event = on_event
        self._responses: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._token = 0
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, name="baresip-ctrl", daemon=True)
        self._reader.start()

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        on_event: Callable[[dict[str, Any]], None],
        *,
        within: float,
        alive: Callable[[], bool],
    ) -> Ctrl:
        """Connect as soon as the process listens; give up after ``within`` seconds."""
        deadline = time.monotonic() + within
        while True:
            try:
                sock = socket.create_connection((host, port), timeout=2)
            except OSError as exc:
                if time.monotonic() > deadline or not alive():
                    raise CtrlClosed(f"cannot reach ctrl_tcp at {host}:{port}: {exc}") from None
                time.sleep(0.05)
                continue
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return cls(sock, on_event)

    def command(self, name: str, params: str = "", *, timeout: float = 10.0) -> dict[str, Any]:
        """Send one command and wait for its response (never two in flight)."""
        if self.closed.is_set():
            raise CtrlClosed("ctrl connection closed")
        self._token += 1
        token = str(self._token)
        try:
            self._sock.sendall(encode({"command": name, "params": params, "token": token}))
        except OSError as exc:
            self.close()
            raise CtrlClosed(f"send failed: {exc}") from None
        while True:
            try:
                response = self._responses.get(timeout=timeout)
            except queue.Empty:
                self.close()
                raise CtrlClosed(f"no response to {name!r} within {timeout} s") from None
            if response is None:
                raise CtrlClosed("ctrl connection closed")
            if response.get("token") == token:
                return response
            log.warning("baresip: response to an older command ignored: %s", response)

    def _read(self) -> None:
        decoder = Decoder()
        try:
            while True:
                self._quickack()
                data = self._sock.recv(65536)
                self._quickack()
                if not data:
                    return
                for message in decoder.feed(data):
                    if message.get("response"):
                        self._responses.put(message)
                    elif message.get("event"):
                        self._on_event(message)
        except (OSError, FramingError) as exc:
            if not self.closed.is_set():
                log.warning("baresip ctrl connection lost: %s", exc)
        finally:
            self.closed.set()
            self._responses.put(None)

    def _quickack(self) -> None:
        if QUICKACK is not None:
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def close(self) -> None:
        self.closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
