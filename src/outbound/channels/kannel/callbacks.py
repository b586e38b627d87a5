"""The http SMS gateway's callbacks: delivery reports and customer replies.

They carry no user token: the gateway (Kannel) calls them. A report proves itself with the
token of its attempt, a reply with the shared secret; anything else is refused (401). What
they bring goes to ``sms_inbox``, where the engine's gateway takes it, in this process or
in a worker.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession, now_utc
from outbound.channels.kannel import inbox
from outbound.channels.kannel.auth import key_ok, receipt_token_ok
from outbound.channels.receipts import e164
from outbound.errors import Unauthorized
from outbound.settings.service import get_settings

router = APIRouter(prefix="/sms/http", tags=["sms gateway callbacks"])

MaxId = 2**63 - 1
# A plain-text answer for the gateway; errors are JSON as everywhere.
PLAIN: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/plain": {"schema": {"type": "string"}}}}
}


def callback_secret(session: Session) -> str:
    """The http gateway's shared secret; refused when no http gateway is configured."""
    gateway = get_settings(session).sms_gateway
    secret = gateway.options.get("secret") if gateway.kind == "http" else None
    if not isinstance(secret, str) or not secret:
        raise Unauthorized("no http SMS gateway is configured to call back")
    return secret


@router.get("/receipt", responses=PLAIN)
def delivery_report(
    session: DbSession,
    attempt: Annotated[int | None, Query(ge=1, le=MaxId)] = None,
    token: Annotated[str | None, Query(max_length=128)] = None,
    dlr_type: Annotated[int | None, Query(alias="type", ge=0, le=65_535)] = None,
    reply: Annotated[str | None, Query(max_length=2000)] = None,
) -> PlainTextResponse:
    """Kannel's ``dlr-url``: ``?attempt=…&token=…&type=%d&reply=%A``."""
    if attempt is None or token is None:
        raise Unauthorized("a delivery report needs its attempt and token")
    if not receipt_token_ok(callback_secret(session), attempt, token):
        raise Unauthorized("the token does not match the attempt")
    if dlr_type is not None:
        inbox.record_receipt(session, attempt, dlr_type, reply or "", now=now_utc())
    return PlainTextResponse("OK")


@router.get("/inbound", responses=PLAIN)
def inbound_message(
    session: DbSession,
    key: Annotated[str | None, Query(max_length=128)] = None,
    sender: Annotated[str | None, Query(alias="from", max_length=32)] = None,
    text: Annotated[str | None, Query(max_length=2000)] = None,
) -> PlainTextResponse:
    """Kannel's ``get-url``: ``?key=…&from=%p&text=%a``. The answer is empty: no reply SMS."""
    if key is None or not key_ok(callback_secret(session), key):
        raise Unauthorized("the key does not match the gateway's secret")
    number = e164(sender or "")
    if number is not None:
        inbox.record_inbound(session, number, text or "", now=now_utc())
    return PlainTextResponse("")
