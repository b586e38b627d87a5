"""What the audit log watches: each kind of object, how to read it, and which fields of it
are state the product keeps for itself rather than something a user changes.

A kind is read as a *snapshot* straight from the database (Core statements, never the
session's identity map, whose objects already hold the unsaved change): before the first
flush that touches it in a transaction, and again just before the commit. The log keeps
the difference, so a change undone within a request, or rows replaced by equal ones (a
schedule's windows are rewritten on every save), records nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, inspect, select
from sqlalchemy.orm import Session

from outbound.models import (
    Agent,
    AgentReason,
    ApiToken,
    Campaign,
    DncEntry,
    Schedule,
    ScheduleBlackout,
    ScheduleWindow,
    Setting,
    Strategy,
    StrategyAttempt,
    StrategyRule,
    TokenKind,
    User,
    WebhookSubscription,
    agent_campaigns,
)

Snapshot = dict[str, Any]
Key = tuple[str, str]  # (kind, object id as text)

_ALWAYS = frozenset({"id", "created_at", "updated_at"})
# Fields a user never sets: the engine's pacing counters and bucket, the import sequence,
# the log-in counters, an agent's live state, a token's last use. Changes to them alone
# make no entry, whoever's request caused them.
INTERNAL: dict[type, frozenset[str]] = {
    Campaign: _ALWAYS | {"in_flight", "rate_tokens", "rate_at", "import_seq"},
    Strategy: _ALWAYS,
    StrategyAttempt: frozenset({"id"}),
    StrategyRule: frozenset({"id"}),
    Schedule: _ALWAYS,
    ScheduleWindow: frozenset({"id"}),
    ScheduleBlackout: frozenset({"id"}),
    User: _ALWAYS | {"failed_logins", "login_blocked_until", "ui_preferences"},
    ApiToken: frozenset({"id", "created_at", "last_used_at", "token_hash"}),
    DncEntry: frozenset({"id", "created_at"}),
    WebhookSubscription: _ALWAYS,
    Setting: frozenset({"updated_at"}),
    Agent: _ALWAYS | {"state", "state_since", "reason_id", "reason", "last_heartbeat_at", "user"},
    AgentReason: frozenset({"id", "created_at"}),
}


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _table(model: type) -> Table:
    table: object = inspect(model).local_table
    assert isinstance(table, Table)
    return table


def _row(conn: Connection, model: type, where: ColumnElement[bool]) -> Snapshot | None:
    table = _table(model)
    columns = [c for c in table.c if c.name not in INTERNAL[model]]
    row = conn.execute(select(*columns).where(where)).mappings().first()
    return None if row is None else {k: jsonable(v) for k, v in row.items()}


def _by_id(model: type) -> Callable[[Connection, str], Snapshot | None]:
    def read(conn: Connection, key: str) -> Snapshot | None:
        return _row(conn, model, _table(model).c.id == int(key))

    return read


def _strategy(conn: Connection, key: str) -> Snapshot | None:
    snapshot = _row(conn, Strategy, Strategy.__table__.c.id == int(key))
    if snapshot is None:
        return None
    attempts = _table(StrategyAttempt)
    rows = conn.execute(
        select(attempts).where(attempts.c.strategy_id == int(key)).order_by(attempts.c.position)
    ).mappings()
    by_id: dict[int, Snapshot] = {}
    shown: Snapshot = {}
    for row in rows:
        attempt = {k: jsonable(v) for k, v in row.items() if k not in ("strategy_id", "position")}
        attempt["rules"] = {}
        by_id[row["id"]] = attempt
        shown[str(row["position"])] = attempt
    rules = _table(StrategyRule)
    if by_id:
        for rule in conn.execute(select(rules).where(rules.c.attempt_id.in_(list(by_id)))):
            by_id[rule.attempt_id]["rules"][jsonable(rule.outcome)] = {
                "action": jsonable(rule.action),
                "delay_minutes": rule.delay_minutes,
                "target_attempt_id": rule.target_attempt_id,
            }
    snapshot["attempts"] = shown
    return snapshot


def _schedule(conn: Connection, key: str) -> Snapshot | None:
    snapshot = _row(conn, Schedule, Schedule.__table__.c.id == int(key))
    if snapshot is None:
        return None
    windows = _table(ScheduleWindow)
    snapshot["windows"] = sorted(
        [w.weekday, w.start_minute, w.end_minute]
        for w in conn.execute(select(windows).where(windows.c.schedule_id == int(key)))
    )
    blackouts = _table(ScheduleBlackout)
    snapshot["blackouts"] = {
        jsonable(b.day): b.note
        for b in conn.execute(
            select(blackouts).where(blackouts.c.schedule_id == int(key)).order_by(blackouts.c.day)
        )
    }
    return snapshot


def _api_token(conn: Connection, key: str) -> Snapshot | None:
    snapshot = _row(conn, ApiToken, ApiToken.__table__.c.id == int(key))
    if snapshot is None or snapshot["kind"] != TokenKind.API.value:
        return None  # a log-in session is no configuration
    return snapshot


def _setting(conn: Connection, key: str) -> Snapshot | None:
    row = _row(conn, Setting, Setting.__table__.c.key == key)
    return None if row is None else {key: row["value"]}


def _agent(conn: Connection, key: str) -> Snapshot | None:
    snapshot = _row(conn, Agent, Agent.__table__.c.id == int(key))
    if snapshot is None:
        return None
    link = agent_campaigns
    snapshot["campaigns"] = sorted(
        conn.scalars(select(link.c.campaign_id).where(link.c.agent_id == int(key)))
    )
    return snapshot


@dataclass(frozen=True)
class Kind:
    name: str
    read: Callable[[Connection, str], Snapshot | None]
    label_field: str  # the snapshot field that names the object for people


KINDS: dict[type, Kind] = {
    Campaign: Kind("campaign", _by_id(Campaign), "name"),
    Strategy: Kind("strategy", _strategy, "name"),
    Schedule: Kind("schedule", _schedule, "name"),
    Setting: Kind("setting", _setting, ""),
    User: Kind("user", _by_id(User), "username"),
    ApiToken: Kind("api_token", _api_token, "name"),
    DncEntry: Kind("dnc_entry", _by_id(DncEntry), "number_e164"),
    WebhookSubscription: Kind("webhook", _by_id(WebhookSubscription), "url"),
    Agent: Kind("agent", _agent, "sip_address"),
    AgentReason: Kind("agent_reason", _by_id(AgentReason), "name"),
}
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS.values()}
KIND_NAMES: tuple[str, ...] = tuple(BY_NAME)


def read(conn: Connection, key: Key) -> Snapshot | None:
    return BY_NAME[key[0]].read(conn, key[1])


def label(key: Key, before: Snapshot | None, after: Snapshot | None) -> str | None:
    """How people name the object: a campaign's name, a user's name, a DNC number…"""
    kind = BY_NAME[key[0]]
    if not kind.label_field:
        return key[1]
    for snapshot in (after, before):
        if snapshot and snapshot.get(kind.label_field) is not None:
            return str(snapshot[kind.label_field])[:255]
    return None


def key_of(session: Session, obj: object) -> Key | None:
    """The audited object a changed ORM object belongs to (a strategy's rule: the strategy),
    or None when it is not audited or not yet known (a new root: known after its flush)."""
    if isinstance(obj, StrategyRule):
        attempt = obj.__dict__.get("attempt")
        if attempt is None and obj.attempt_id is not None:
            attempt = session.get(StrategyAttempt, obj.attempt_id)
        return None if attempt is None else key_of(session, attempt)
    if isinstance(obj, StrategyAttempt):
        parent = obj.__dict__.get("strategy")
        strategy_id = obj.strategy_id or (parent.id if parent is not None else None)
        return None if strategy_id is None else ("strategy", str(strategy_id))
    if isinstance(obj, ScheduleWindow | ScheduleBlackout):
        return None if obj.schedule_id is None else ("schedule", str(obj.schedule_id))
    if isinstance(obj, ApiToken) and obj.kind is not TokenKind.API:
        return None
    if isinstance(obj, Setting):
        return ("setting", obj.key)
    kind = KINDS.get(type(obj))
    object_id = getattr(obj, "id", None)
    return None if kind is None or object_id is None else (kind.name, str(object_id))


def user_changed(obj: object) -> bool:
    """Whether a changed object has a change in a field users set (not only internal ones)."""
    internal = INTERNAL.get(type(obj))
    if internal is None:
        return False
    return any(
        attr.history.has_changes() for attr in inspect(obj).attrs if attr.key not in internal
    )


def is_root(obj: object) -> bool:
    return type(obj) in KINDS


def audited(objects: Iterable[object]) -> bool:
    return any(type(obj) in INTERNAL for obj in objects)
