"""A real HTTP receiver on loopback for webhook tests: it refuses each event's first tries.

Every request is recorded in arrival order with its headers and raw body; a request is
answered 500 while its event has been tried fewer than ``fail_first`` times, then 200.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    event_id: int
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


class Receiver:
    def __init__(self, *, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests: list[Received] = []
        self.tries: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.url = ""

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        event_id = int(headers.get("x-outbound-event-id", "0"))
        with self.lock:
            self.tries[event_id] += 1
            status = 500 if self.tries[event_id] <= self.fail_first else 200
            self.requests.append(Received(event_id, headers, body, status))
        return status

    def acknowledged(self) -> Counter[int]:
        with self.lock:
            return Counter(r.event_id for r in self.requests if r.answered == 200)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real CRM endpoint would

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = receiver.answer(headers, body)
            reply = b"ok" if status == 200 else b"try again"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def receiving(*, fail_first: int = 2) -> Iterator[Receiver]:
    receiver = Receiver(fail_first=fail_first)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/outbound"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
