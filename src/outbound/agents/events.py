"""The agent's event stream (Server-Sent Events) for CRM-embedded desktops.

The stream reads the agent's row about once a second and sends an event when something the
desktop shows changed: ``state`` (the agent's profile and state, as ``GET /agents/me``) and
``call`` (a new call's screen-pop with its dispositions, as ``GET /agents/me/call``; ``null``
when the call is over). An open stream counts as the desktop's heartbeat. It ends after
``max_seconds``; EventSource reconnects by itself (the stream asks for a 2 s ``retry``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from outbound.agents import desk, repository, service
from outbound.db.engine import Database

POLL_SECONDS = 1.0
BEAT_EVERY = timedelta(seconds=5)  # how often an open stream stamps the heartbeat
KEEP_ALIVE_SECONDS = 15.0


def _frame(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _snapshot(db: Database, agent_id: int, now: datetime) -> tuple[Any, Any, Any] | None:
    """(the state's key, the state event's data, the current call's data or None)."""
    with db.transaction() as session:
        agent = repository.get(session, agent_id)
        if agent is None:
            return None
        if agent.last_heartbeat_at is None or agent.last_heartbeat_at <= now - BEAT_EVERY:
            agent.last_heartbeat_at = now
        state = service.describe(agent).model_dump(mode="json")
        call = desk.current_call(session, agent)
        pop = desk.describe_call(session, agent, call).model_dump(mode="json") if call else None
        key = (state["state"], state["state_since"], state["reason_id"], state["campaign_ids"])
        return (key, state, pop)


def stream(
    db: Database,
    agent_id: int,
    *,
    max_seconds: int,
    clock: Callable[[], datetime],
    poll: float = POLL_SECONDS,
) -> Iterator[str]:
    """The frames of one connection (a sync iterator: Starlette runs it in a thread)."""
    started = time.monotonic()
    yield "retry: 2000\n\n"
    last_key: Any = object()
    last_call: Any = object()
    quiet_since = started
    while True:
        snap = _snapshot(db, agent_id, clock())
        if snap is None:
            yield _frame("gone", {"detail": "the agent profile was deleted"})
            return
        key, state, call = snap
        if key != last_key:
            yield _frame("state", state)
            last_key = key
            quiet_since = time.monotonic()
        call_key = (
            None if call is None else (call["screen_pop"]["attempt"]["id"], call["disposition"])
        )
        if call_key != last_call:
            yield _frame("call", call)
            last_call = call_key
            quiet_since = time.monotonic()
        if time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        if time.monotonic() - started + poll > max_seconds:
            return
        time.sleep(poll)
