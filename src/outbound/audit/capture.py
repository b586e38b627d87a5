"""Capture users' changes from the ORM session: no endpoint writes the audit log by hand.

A request that resolves its caller binds an ``Actor`` to its session (``bind``). From then
on, session events note every audited object the session changes: before the first flush
that touches it, its snapshot as stored; at commit, its snapshot again. The difference is
written to ``audit_log`` in the same transaction, so the log has an entry exactly when the
change was committed. Sessions with no actor (the engine, the import worker, the webhook
deliverer, sweeps) are never audited: their pacing counters and state changes cannot
flood the log. Fields the product keeps for itself are left out even in a user's request
(see ``kinds.INTERNAL``).

ORM-enabled bulk inserts (the DNC bulk add) are caught too, one entry per row; bulk UPDATE
or DELETE statements on audited tables are not (no request path issues one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction
from starlette.requests import Request

from outbound.audit import diff, kinds
from outbound.models import ApiToken, AuditEntry, TokenKind, User
from outbound.users.security import token_digest

_ACTOR = "audit_actor"
_PENDING = "audit_pending"  # key -> snapshot before the transaction's first change
_ROWS = "audit_rows"  # (key, before, after) caught from bulk statements
_lock = threading.Lock()
_installed = False


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Actor:
    """Who is changing things through one session, and from where."""

    user_id: int
    username: str
    address: str | None = None
    request_id: str | None = None
    token_digest: str | None = None  # the bearer token's digest: its name is read on write
    clock: Callable[[], datetime] = _utcnow
    _token_name: list[str | None] = field(default_factory=list)

    def token_name(self, session: Session) -> str | None:
        """The API token's name (None for a log-in session), looked up once, when needed."""
        if not self._token_name:
            name = None
            if self.token_digest is not None:
                row = session.connection().execute(
                    select(ApiToken.kind, ApiToken.name).where(
                        ApiToken.token_hash == self.token_digest
                    )
                )
                found = row.first()
                if found is not None and found.kind is TokenKind.API:
                    name = found.name
            self._token_name.append(name)
        return self._token_name[0]


def bind_request(session: Session, request: Request, *, user: User, token: str) -> None:
    """Audit this request's changes in the name of the user its bearer ``token`` belongs to,
    with the client address and the request id (``request.state.request_id`` where a
    middleware set one, else an ``X-Request-ID`` header)."""
    request_id = getattr(request.state, "request_id", None) or request.headers.get("x-request-id")
    actor = Actor(
        user_id=user.id,
        username=user.username,
        address=request.client.host[:64] if request.client else None,
        request_id=str(request_id)[:64] if request_id else None,
        token_digest=token_digest(token),
    )
    bind(session, actor)


def bind(session: Session, actor: Actor) -> None:
    """Audit what this session changes from now on, in ``actor``'s name."""
    install()
    session.info[_ACTOR] = actor


def actor_of(session: Session) -> Actor | None:
    actor = session.info.get(_ACTOR)
    return actor if isinstance(actor, Actor) else None


def install() -> None:
    """Listen to every session's events (once per process); idle without an actor."""
    global _installed
    with _lock:
        if _installed:
            return
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _on_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_transaction_end", _after_transaction_end)
        _installed = True


def _pending(session: Session) -> dict[kinds.Key, kinds.Snapshot | None]:
    pending: dict[kinds.Key, kinds.Snapshot | None] = session.info.setdefault(_PENDING, {})
    return pending


def _before_flush(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    if _ACTOR not in session.info:
        return
    dirty, deleted, new = list(session.dirty), list(session.deleted), list(session.new)
    if not kinds.audited(dirty + deleted + new):
        return
    pending = _pending(session)
    conn = session.connection()
    with session.no_autoflush:
        for obj in deleted + new + [o for o in dirty if kinds.user_changed(o)]:
            key = kinds.key_of(session, obj)
            if key is not None and key not in pending:
                pending[key] = kinds.read(conn, key)


def _after_flush(session: Session, _context: UOWTransaction) -> None:
    """New objects have their ids now: note each as created in this transaction."""
    if _ACTOR not in session.info:
        return
    new = [obj for obj in session.new if kinds.is_root(obj)]
    if not new:
        return
    pending = _pending(session)
    for obj in new:
        key = kinds.key_of(session, obj)
        if key is not None and key not in pending:
            pending[key] = None


def _on_execute(state: ORMExecuteState) -> None:
    """A bulk ``insert(Model)`` with a list of rows: one create entry per row."""
    session = state.session
    if _ACTOR not in session.info or not state.is_insert:
        return
    mapper = state.bind_mapper
    kind = kinds.KINDS.get(mapper.class_) if mapper is not None else None
    params = state.parameters
    if kind is None or not isinstance(params, list):
        return
    internal = kinds.INTERNAL[mapper.class_] if mapper is not None else frozenset()
    rows: list[tuple[kinds.Key, kinds.Snapshot | None, kinds.Snapshot]] = session.info.setdefault(
        _ROWS, []
    )
    for row in params:
        after = {k: kinds.jsonable(v) for k, v in row.items() if k not in internal}
        rows.append(((kind.name, ""), None, after))


def _before_commit(session: Session) -> None:
    actor = actor_of(session)
    if actor is None:
        return
    session.flush()  # the last changes, so their "before" is taken and they are in the rows
    pending: dict[kinds.Key, kinds.Snapshot | None] = session.info.pop(_PENDING, {})
    caught = session.info.pop(_ROWS, [])
    if not pending and not caught:
        return
    conn = session.connection()
    # In a stable order: by kind, then object id (as text).
    changed = [(key, before, kinds.read(conn, key)) for key, before in sorted(pending.items())]
    entries = []
    for key, before, after in changed + caught:
        action = diff.action_of(before, after)
        changes = diff.changes(before, after)
        if action is None or not changes:
            continue
        entries.append(
            {
                "kind": key[0],
                "object_id": key[1] or None,
                "object_name": kinds.label(key, before, after),
                "action": action,
                "changes": changes,
            }
        )
    if not entries:
        return
    who = {
        "at": actor.clock(),
        "user_id": actor.user_id,
        "username": actor.username,
        "token_name": actor.token_name(session),
        "address": actor.address,
        "request_id": actor.request_id,
    }
    conn.execute(insert(AuditEntry), [who | entry for entry in entries])


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """A transaction ended without commit (rolled back): what it noted did not happen."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_ROWS, None)
