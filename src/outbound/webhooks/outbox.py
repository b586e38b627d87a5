"""Writing webhook events into the outbox, in the transaction of the change they report.

Every writer calls these right after it changed contacts or attempts, in the same
transaction: a rollback takes the events with it, a commit makes them deliverable. Each
call is one ``INSERT … SELECT`` for the whole batch: the event rows are built by the
database from the rows just written, joined with the subscriptions that want them (one
row per subscription). The contact row is always changed (hence locked) before its events
are inserted, so a contact's events get increasing ids in the order of its changes.

When no subscription is active nothing is written and nothing is asked of the database
but one cached look-up every ``GATE_SECONDS``: the engine pays nothing for webhooks it
does not use. A subscription created in this process is seen at once; one created by
another process within ``GATE_SECONDS``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    and_,
    event,
    insert,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.db.base import UTCDateTime
from outbound.engine.store import among
from outbound.models import Attempt, Campaign, Contact, DeliveryStatus, WebhookEvent
from outbound.models import WebhookSubscription as Sub

STATE_CHANGED = "contact.state_changed"
ATTEMPT_RESULT = "attempt.result"
PING = "ping"
EVENT_TYPES = (STATE_CHANGED, ATTEMPT_RESULT)
GATE_SECONDS = 2.0
EVENTS = cast(Table, WebhookEvent.__table__)
# The columns every INSERT … SELECT fills, in this order.
COLUMNS = (
    "subscription_id",
    "event_type",
    "occurred_at",
    "contact_id",
    "campaign_id",
    "attempt_id",
    "crm_contact_id",
    "crm_campaign_id",
    "state",
    "outcome",
    "phone_number",
    "attempt_sent_at",
    "attempt_ended_at",
    "disposition",
    "form_values",
    "status",
    "tries",
    "next_try_at",
)

_lock = threading.Lock()
# Per database engine: (valid until, any subscription active). Weak: a disposed engine's
# entry goes with it, and a new engine never inherits an old one's answer.
_gate: weakref.WeakKeyDictionary[Engine, tuple[float, bool]] = weakref.WeakKeyDictionary()


def invalidate() -> None:
    """Forget what the gate knows: a subscription changed in this process."""
    with _lock:
        _gate.clear()


def invalidate_after_commit(session: Session) -> None:
    """The gate is asked again once this transaction's subscription change is visible."""
    event.listen(session, "after_commit", lambda _s: invalidate(), once=True)


def enabled(session: Session) -> bool:
    """Whether any subscription is active (cached for ``GATE_SECONDS`` per database)."""
    key = session.get_bind().engine
    now = time.monotonic()
    with _lock:
        known = _gate.get(key)
    if known is not None and known[0] > now:
        return known[1]
    found = session.scalar(select(Sub.id).where(Sub.active.is_(True)).limit(1)) is not None
    with _lock:
        _gate[key] = (now + GATE_SECONDS, found)
    return found


def _wants(kind: ColumnElement[bool], campaign_id: Any) -> ColumnElement[bool]:
    return and_(
        Sub.active.is_(True),
        kind,
        or_(Sub.campaign_id.is_(None), Sub.campaign_id == campaign_id),
    )


def _fixed(now: datetime) -> tuple[Any, ...]:
    """The delivery columns of a new event: pending, due at once."""
    return (
        literal(DeliveryStatus.PENDING.value, String()),
        literal(0, Integer()),
        literal(now, UTCDateTime()),
    )


def _states(condition: ColumnElement[bool], now: datetime) -> Select[*tuple[Any, ...]]:
    """A state-change event per changed contact and subscription: its state as written."""
    return (
        select(
            Sub.id,
            literal(STATE_CHANGED, String()),
            literal(now, UTCDateTime()),
            Contact.id,
            Contact.campaign_id,
            Contact.last_attempt_id,
            Contact.crm_contact_id,
            Campaign.crm_campaign_id,
            Contact.state,
            Contact.last_outcome,
            Contact.number_to_call,
            Attempt.sent_at,
            Attempt.ended_at,
            sql_cast(null(), String(64)),  # disposition, form values: attempt results only
            sql_cast(null(), JSON()),
            *_fixed(now),
        )
        .select_from(Contact)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .join(Sub, _wants(Sub.state_changes.is_(True), Contact.campaign_id))
        .outerjoin(Attempt, Attempt.id == Contact.last_attempt_id)
        .where(condition)
        .order_by(Contact.id, Sub.id)
    )


def _attempts(condition: ColumnElement[bool], now: datetime) -> Select[*tuple[Any, ...]]:
    """An attempt-result event per ended attempt and subscription."""
    return (
        select(
            Sub.id,
            literal(ATTEMPT_RESULT, String()),
            literal(now, UTCDateTime()),
            Attempt.contact_id,
            Attempt.campaign_id,
            Attempt.id,
            Contact.crm_contact_id,
            Campaign.crm_campaign_id,
            Contact.state,
            Attempt.outcome,
            Attempt.phone_number,
            Attempt.sent_at,
            Attempt.ended_at,
            Attempt.disposition,
            Attempt.form_values,
            *_fixed(now),
        )
        .select_from(Attempt)
        .join(Contact, Contact.id == Attempt.contact_id)
        .join(Campaign, Campaign.id == Attempt.campaign_id)
        .join(Sub, _wants(Sub.attempt_results.is_(True), Attempt.campaign_id))
        .where(condition)
        .order_by(Attempt.contact_id, Attempt.id, Sub.id)
    )


def _insert(session: Session, query: Select[*tuple[Any, ...]]) -> None:
    session.execute(insert(EVENTS).from_select(COLUMNS, query))


def contacts_changed(session: Session, contact_ids: Sequence[int], *, now: datetime) -> None:
    """These contacts changed state (already written, flushed): one event each."""
    if not contact_ids or not enabled(session):
        return
    session.flush()
    _insert(session, _states(among(session, Contact.id, sorted(set(contact_ids))), now))


def attempts_ended(session: Session, attempt_ids: Sequence[int], *, now: datetime) -> None:
    """These attempts took a result (or a later receipt): one event each."""
    if not attempt_ids or not enabled(session):
        return
    session.flush()
    _insert(session, _attempts(among(session, Attempt.id, sorted(set(attempt_ids))), now))


def imported_closed(
    session: Session, *, campaign_id: int, seqs: tuple[int, int], now: datetime
) -> None:
    """An import created contacts (``import_seq`` in ``seqs``, inclusive) closed at once as
    DNC Listed: that is their state change. Pending ones are no event (a file would send a
    million of them); their first attempt is."""
    if not enabled(session):
        return
    condition = and_(
        Contact.campaign_id == campaign_id,
        Contact.import_seq.between(*seqs),
        Contact.state == ContactState.DNC_LISTED,
    )
    _insert(session, _states(condition, now))


def ping(session: Session, subscription_id: int, *, now: datetime) -> WebhookEvent:
    """A test event for one subscription, delivered like any other."""
    row = WebhookEvent(
        subscription_id=subscription_id,
        event_type=PING,
        occurred_at=now,
        status=DeliveryStatus.PENDING,
        tries=0,
        next_try_at=now,
    )
    session.add(row)
    session.flush()
    return row


__all__ = [
    "ATTEMPT_RESULT",
    "EVENT_TYPES",
    "PING",
    "STATE_CHANGED",
    "attempts_ended",
    "contacts_changed",
    "enabled",
    "imported_closed",
    "invalidate",
    "invalidate_after_commit",
    "ping",
]
