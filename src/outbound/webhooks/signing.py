"""Signing a webhook body, and the receiver's check (the recipe in the README, as code).

The signed material is ``<timestamp>.<raw body>``: a captured request replayed later
carries an old timestamp, which a receiver refuses, and a new timestamp breaks the
signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime
from typing import Any

SIGNATURE = "X-Outbound-Signature"
TIMESTAMP = "X-Outbound-Timestamp"
EVENT_ID = "X-Outbound-Event-Id"
EVENT_TYPE = "X-Outbound-Event"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    *,
    body: bytes,
    timestamp: str,
    header: str,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: a fresh timestamp, and the signature over it and the body."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), header)


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
