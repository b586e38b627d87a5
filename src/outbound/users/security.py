"""Password hashing (argon2) and bearer-token generation. Pure, no I/O."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_PREFIX = "ob_"  # noqa: S105 (a marker, not a secret)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verifying against this when the user does not exist keeps the answer time the same,
# so a caller cannot tell unknown user names from wrong passwords.
DUMMY_HASH = hash_password("not-a-real-password")


def new_token() -> tuple[str, str, str]:
    """Return (plaintext, sha256 hex digest, display prefix). Only the digest is stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return plain, token_digest(plain), plain[:10]


def token_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def random_password() -> str:
    return secrets.token_urlsafe(18)
