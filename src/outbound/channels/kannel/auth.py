"""How the gateway's callbacks prove they come from the gateway: a receipt carries a token
bound to its attempt (HMAC of the shared secret), an inbound message the secret itself."""

from __future__ import annotations

import hashlib
import hmac


def receipt_token(secret: str, attempt_id: int) -> str:
    digest = hmac.new(secret.encode(), f"receipt:{attempt_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def receipt_token_ok(secret: str, attempt_id: int, token: str) -> bool:
    return hmac.compare_digest(receipt_token(secret, attempt_id), token)


def key_ok(secret: str, key: str) -> bool:
    return hmac.compare_digest(secret.encode(), key.encode())
