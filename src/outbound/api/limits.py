"""Request bodies: the token is checked before a body is read, and none is read past its limit.

FastAPI reads and parses a body before it runs the route's dependencies, so without this an
anonymous client could make the server hold and parse any amount of JSON (a few 50 MB
bodies took it from 150 to 800 MB). This ASGI middleware runs first: an API request that
carries a body needs a valid bearer token (401 before a byte of the body is read), a
declared ``Content-Length`` over the limit is refused at once (413), and a body sent in
chunks is counted as it arrives and cut off with a 413 as soon as it passes the limit.

The limits are settings: ``max_upload_bytes`` for multipart uploads (contact files),
``max_json_body_bytes`` for every other body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outbound.db.engine import Database
from outbound.errors import Unauthorized
from outbound.settings.service import get_settings
from outbound.users.service import resolve_token

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# API routes that take no user token: the log-in, and Kannel's callbacks (their own key).
PUBLIC_PREFIXES = ("/api/v1/auth/login", "/api/v1/sms/")
TOKEN_REQUIRED = "a bearer token is required (Authorization: Bearer <token>)"  # noqa: S105 (a message)


@dataclass(frozen=True)
class Admission:
    limit: int
    setting: str
    refused: str | None  # why the token is refused, if it is


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _admit(db: Database, token: str | None, upload: bool) -> Admission:
    """The body limit in force and, for a token, why it is refused (one short read)."""
    with db.sessions() as session:
        settings = get_settings(session)
        refused = None
        if token is not None:
            try:
                resolve_token(session, token, now=datetime.now(UTC))
            except Unauthorized as exc:
                refused = exc.message
        session.rollback()  # a read: nothing it touched is kept
    if upload:
        return Admission(settings.max_upload_bytes, "max_upload_bytes", refused)
    return Admission(settings.max_json_body_bytes, "max_json_body_bytes", refused)


def too_large(admission: Admission) -> str:
    what = "uploaded file" if admission.setting == "max_upload_bytes" else "request body"
    return (
        f"the {what} is larger than the limit of {admission.limit} bytes "
        f"(setting {admission.setting})"
    )


# A refused body up to this size is read and dropped before the answer: a client still
# sending it would otherwise meet a connection reset instead of the 401/413.
DRAIN_BYTES = 1 << 20


async def _drain(receive: Receive, headers: Headers) -> None:
    declared = headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > DRAIN_BYTES:
        return
    left = int(declared)
    while left > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        left -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    # The body is not read past DRAIN_BYTES: the connection is not reused for another request.
    raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path: str = scope["path"]
        needs_token = path.startswith("/api/") and not path.startswith(PUBLIC_PREFIXES)
        token = _bearer(headers) if needs_token else None
        if needs_token and token is None:
            await _drain(receive, headers)
            await _answer(send, 401, TOKEN_REQUIRED, {"WWW-Authenticate": "Bearer"})
            return
        upload = headers.get("content-type", "").lower().startswith("multipart/")
        db: Database = scope["app"].state.db
        admission = await anyio.to_thread.run_sync(_admit, db, token, upload)
        if admission.refused is not None:
            await _drain(receive, headers)
            await _answer(send, 401, admission.refused, {"WWW-Authenticate": "Bearer"})
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > admission.limit:
            await _drain(receive, headers)
            await _answer(send, 413, too_large(admission), {})
            return
        await self.app(scope, _counted(receive, admission), send)


def _counted(receive: Receive, admission: Admission) -> Receive:
    """``receive`` that stops a body (sent in chunks) as soon as it passes the limit."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > admission.limit:
                raise HTTPException(413, too_large(admission), {"Connection": "close"})
        return message

    return counted
