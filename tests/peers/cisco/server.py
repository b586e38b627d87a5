"""A Starlette app served by uvicorn in a thread on loopback: a real HTTP server that can be
stopped and started again on the same port (a restart of Cisco's service)."""

from __future__ import annotations

import base64
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def basic_auth(username: str, password: str) -> Callable[[Handler], Handler]:
    """HTTP basic auth of the administrator, as both products require; 401 otherwise."""

    def wrap(handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            given = request.headers.get("authorization", "")
            expected = base64.b64encode(f"{username}:{password}".encode()).decode()
            if not secrets.compare_digest(given, f"Basic {expected}"):
                return Response(
                    "<apiErrors><apiError><errorType>authentication</errorType>"
                    "</apiError></apiErrors>",
                    status_code=401,
                    media_type="application/xml",
                    headers={"WWW-Authenticate": 'Basic realm="cisco"'},
                )
            return await handler(request)

        return checked

    return wrap


class HttpPeer:
    def __init__(self, app: Starlette, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the simulator's HTTP server did not start")
            time.sleep(0.01)
        self._server, self._thread, self._sock = server, thread, sock

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=20)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None
        self._sock = None
