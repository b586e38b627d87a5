"""A TCP relay in front of a peer that can cut every connection at once (a reset, as when
a link or a process dies), then refuses new ones for a while."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time


class Cutter:
    def __init__(self, port: int, target: int, *, down_seconds: float = 0.5) -> None:
        self.port, self.target, self.down_seconds = port, target, down_seconds
        self.cuts = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._down_until = 0.0
        self._listener = socket.create_server(("127.0.0.1", port), backlog=64)
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def start(self) -> Cutter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._listener.close()
        self.cut(down=False)

    def cut(self, *, down: bool = True) -> None:
        with self._lock:
            sockets, self._open = self._open, []
            if down:
                self.cuts += 1
                self._down_until = time.monotonic() + self.down_seconds
        for sock in sockets:
            try:  # linger 0: a reset, nothing flushed; shutdown wakes the relay's readers
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if time.monotonic() < self._down_until:
                client.close()
                continue
            try:
                backend = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, backend]
            for a, b in ((client, backend), (backend, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.close()
