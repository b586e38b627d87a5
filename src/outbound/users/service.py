"""Users, log-in with throttling, and bearer tokens."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from outbound.models import ApiToken, TokenKind, User
from outbound.users import security
from outbound.users.roles import Role
from outbound.users.throttle import Throttle, clear_throttle, forgive, user_key


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def create_user(session: Session, *, username: str, password: str, role: Role) -> User:
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"user name {username!r} is taken", loc=("body", "username"))
    user = User(
        username=username,
        password_hash=security.hash_password(password),
        role=role,
        is_active=True,
        failed_logins=0,
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user: User,
    *,
    actor: User,
    role: Role | None = None,
    is_active: bool | None = None,
    password: str | None = None,
    now: datetime,
) -> User:
    demotes_self = user.id == actor.id and (
        (role is not None and role is not Role.ADMIN) or is_active is False
    )
    if demotes_self:
        raise Conflict("you cannot demote or deactivate your own account")
    if role is not None:
        user.role = role
    if is_active is not None:
        user.is_active = is_active
        if not is_active:
            _revoke_all(session, user, now)
    if password is not None:
        user.password_hash = security.hash_password(password)
        clear_throttle(session, user_key(user.id))
    session.flush()
    return user


def delete_user(session: Session, user: User, *, actor: User) -> None:
    if user.id == actor.id:
        raise Conflict("you cannot delete your own account")
    session.delete(user)
    session.flush()


def change_own_password(session: Session, user: User, *, current: str, new: str) -> None:
    if not security.verify_password(user.password_hash, current):
        # 403, not 422: the request is well formed, the caller failed to prove who they are.
        raise Forbidden("the current password is wrong")
    user.password_hash = security.hash_password(new)
    session.flush()


def login(
    session: Session,
    *,
    username: str,
    password: str,
    address: str | None,
    throttle: Throttle,
    now: datetime,
    session_hours: float,
) -> tuple[str, datetime]:
    """Check the password and open a session token; repeated failures are slowed down.

    The try is counted (per account and per client address) before the password is
    checked, so concurrent guesses cannot all slip in before the count catches up.
    """
    keys = throttle.reserve(username, address, now=now)
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None or not security.verify_password(user.password_hash, password):
        if user is None:
            security.verify_password(security.DUMMY_HASH, password)
        raise Unauthorized("wrong user name or password")
    forgive(session, keys)
    if not user.is_active:
        raise Forbidden("this account is deactivated")
    expires = now + timedelta(hours=session_hours)
    plain, _ = _issue(
        session, user, kind=TokenKind.SESSION, name="log-in", expires=expires, now=now
    )
    return plain, expires


def _issue(
    session: Session,
    user: User,
    *,
    kind: TokenKind,
    name: str,
    expires: datetime | None,
    now: datetime,
) -> tuple[str, ApiToken]:
    plain, digest, prefix = security.new_token()
    token = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=digest,
        prefix=prefix,
        created_at=now,
        expires_at=expires,
    )
    session.add(token)
    session.flush()
    return plain, token


def resolve_token(session: Session, plain: str, *, now: datetime) -> User:
    """The active user behind a bearer token, or 401."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == security.token_digest(plain))
    )
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the token is unknown or revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("the token has expired; log in again")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the token's user is deactivated")
    # Only touch the row once a minute so that reads stay reads.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return user


def logout(session: Session, plain: str, *, now: datetime) -> None:
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == security.token_digest(plain))
    )
    if token is not None and token.revoked_at is None:
        token.revoked_at = now


def create_api_token(
    session: Session, user: User, *, name: str, expires_in_days: int | None, now: datetime
) -> tuple[str, ApiToken]:
    expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    return _issue(session, user, kind=TokenKind.API, name=name, expires=expires, now=now)


def list_api_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.kind == TokenKind.API)
            .order_by(ApiToken.id)
        )
    )


def revoke_api_token(session: Session, user: User, token_id: int, *, now: datetime) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.kind is not TokenKind.API:
        raise NotFound(f"API token {token_id} not found for user {user.username!r}")
    if token.revoked_at is None:
        token.revoked_at = now


def _revoke_all(session: Session, user: User, now: datetime) -> None:
    for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
        token.revoked_at = token.revoked_at or now


def ensure_first_admin(session: Session) -> str | None:
    """Create user ``admin`` with a random password if no admin exists; return the password."""
    if session.scalar(select(User.id).where(User.role == Role.ADMIN).limit(1)) is not None:
        return None
    password = security.random_password()
    create_user(session, username="admin", password=password, role=Role.ADMIN)
    return password


PREFERENCES_MAX = 4000  # the column's size


def preferences(user: User) -> dict[str, Any]:
    """The user's remembered UI choices (columns shown, ...); {} if none or unreadable."""
    try:
        stored = json.loads(user.ui_preferences or "{}")
    except ValueError:
        return {}
    return stored if isinstance(stored, dict) else {}


def set_preference(session: Session, user: User, key: str, value: Any) -> None:
    """Remember one UI choice for this user, keeping the others."""
    merged = preferences(user) | {key: value}
    text = json.dumps(merged, separators=(",", ":"), sort_keys=True)
    if len(text) > PREFERENCES_MAX:
        raise Invalid(("body", key), "too many preferences to remember")
    user.ui_preferences = text
    session.flush()
