"""Who may read the metrics, the text they get, and a process's own metrics listener.

``/metrics`` on the service answers only when ``OUTBOUND_METRICS_TOKEN`` is set, and then
only to ``Authorization: Bearer <that token>``: with no token configured it is 404, as if
it did not exist (no credential could open it, so nothing invites a guess), a wrong or
missing token is 401. A process may also serve its metrics on an address of its own
(``OUTBOUND_METRICS_LISTEN``, host:port; the only way for ``outbound worker``, which has no
web service): open without a token only on a loopback address, elsewhere it needs the token
(a process told to listen on another address without one refuses to start).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

log = logging.getLogger(__name__)


class MetricsConfigError(ValueError):
    """The metrics settings would open the metrics to anyone: refused at start."""


def token_matches(expected: str | None, authorization: str | None) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time."""
    if not expected or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def render(registries: Iterable[CollectorRegistry]) -> bytes:
    """The Prometheus text format of every registry, one after the other."""
    return b"".join(generate_latest(r) for r in registries)


def parse_listen(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9100`` for IPv6); port 0 takes a free one."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise MetricsConfigError(
            f"OUTBOUND_METRICS_LISTEN must be host:port (e.g. 127.0.0.1:9464), not {value!r}"
        )
    return host, int(port)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access line per scrape."""


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class MetricsListener:
    """``GET /metrics`` of ``registries`` on ``listen``, in a daemon thread."""

    def __init__(
        self,
        listen: str,
        *,
        token: str | None,
        registries: Callable[[], Sequence[CollectorRegistry]],
    ) -> None:
        self.host, port = parse_listen(listen)
        if not token and not _loopback(self.host):
            raise MetricsConfigError(
                f"metrics on {self.host} (not a loopback address) need OUTBOUND_METRICS_TOKEN: "
                "set one, or listen on 127.0.0.1"
            )
        self.token = token
        self.registries = registries
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET

        class Server(_Server):
            address_family = family

        self.server = make_server(
            self.host, port, self._app, server_class=Server, handler_class=_Quiet
        )
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="metrics", daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def start(self) -> MetricsListener:
        self._thread.start()
        log.info("metrics on %s%s", self.url, " (token required)" if self.token else "")
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found: metrics are at /metrics\n"]
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        if self.token and not token_matches(self.token, environ.get("HTTP_AUTHORIZATION")):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
            )
            return [b"a bearer token is required (the metrics token)\n"]
        body = render(self.registries())
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [body]
