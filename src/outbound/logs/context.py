"""The request id of the work in progress, carried by a context variable.

Set for an HTTP request by the middleware (and copied with the context into the threads
FastAPI runs endpoints in); set again around background work a request caused (an import
job keeps the id of the request that queued it).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("outbound_request_id", default=None)
# An incoming X-Request-ID is kept when it is sane: 1-64 of letters, digits and . _ : / + = -
# (a UUID, a trace id, a load balancer's id); anything else is replaced by a new one.
SANE = re.compile(r"[A-Za-z0-9._:/+=-]{1,64}")


def current() -> str | None:
    return REQUEST_ID.get()


def new_id() -> str:
    return uuid.uuid4().hex


def accept(incoming: str | None) -> str:
    """The id for a request: its ``X-Request-ID`` if sane, else a new one."""
    if incoming is not None and SANE.fullmatch(incoming):
        return incoming
    return new_id()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Log what runs inside with ``request_id`` (nothing changes when it is None)."""
    if request_id is None:
        yield
        return
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
