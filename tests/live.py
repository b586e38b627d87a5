"""The app served over real HTTP by uvicorn in a thread, for tests a TestClient cannot make
(many concurrent clients, bodies sent in pieces, answers before the body is sent)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from outbound.api.http import LingeringH11Protocol


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` on a free loopback port; yields its base URL, stops on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # Idle connections are kept for the whole test: a server that closes one after a few
    # seconds races a client reusing it at that moment (the client's request meets a reset),
    # and test clients such as schemathesis' pause for long between requests.
    config = uvicorn.Config(
        app,
        log_level="warning",
        backlog=2048,
        timeout_keep_alive=3600,
        http=LingeringH11Protocol,  # as `outbound serve` runs it
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()
