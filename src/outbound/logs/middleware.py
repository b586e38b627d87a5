"""Every HTTP request gets a request id and one log line.

The id is the request's ``X-Request-ID`` when sane (``context.accept``), else a new one; it
is set in ``request.state.request_id`` (the audit log reads it there), in the context
variable that every log line of the request reads, and echoed in the response's
``X-Request-ID``. The line says method, path (never the query string), status, duration
and client address.
"""

from __future__ import annotations

import logging
import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound.logs import context

log = logging.getLogger("outbound.http")
HEADER = "X-Request-ID"


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = context.accept(Headers(scope=scope).get(HEADER))
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500  # unless the app answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                MutableHeaders(scope=message)[HEADER] = request_id  # in place, as Starlette does
            await send(message)

        token = context.REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            client = scope.get("client")
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method", ""),
                        "path": scope.get("path", ""),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                        "client": client[0] if client else None,
                    }
                },
            )
            context.REQUEST_ID.reset(token)
