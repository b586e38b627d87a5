"""Webhook subscriptions: create, change, delete; their delivery log; redeliver; ping.

Services never commit. A change of subscriptions tells the outbox gate after the commit,
so this process's engine starts (or stops) writing events at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import Campaign, DeliveryStatus, WebhookEvent, WebhookSubscription
from outbound.webhooks import outbox, signing
from outbound.webhooks.schemas import (
    DeliveryQuery,
    EventType,
    SubscriptionCreate,
    SubscriptionOut,
    SubscriptionUpdate,
)


def events_of(sub: WebhookSubscription) -> list[EventType]:
    events: list[EventType] = []
    if sub.state_changes:
        events.append("contact.state_changed")
    if sub.attempt_results:
        events.append("attempt.result")
    return events


def _check_campaign(session: Session, campaign_id: int | None) -> None:
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        # Which campaigns exist is the server's state, not the request's shape: 409.
        raise Conflict(
            f"campaign_id: campaign {campaign_id} not found", loc=("body", "campaign_id")
        )


def get(session: Session, subscription_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound(f"webhook subscription {subscription_id} not found")
    return sub


def create(session: Session, body: SubscriptionCreate, *, now: datetime) -> WebhookSubscription:
    _check_campaign(session, body.campaign_id)
    sub = WebhookSubscription(
        name=body.name,
        url=body.url,
        secret=body.secret or signing.new_secret(),
        campaign_id=body.campaign_id,
        state_changes="contact.state_changed" in body.events,
        attempt_results="attempt.result" in body.events,
        active=body.active,
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    session.flush()
    outbox.invalidate_after_commit(session)
    return sub


def update(
    session: Session, subscription_id: int, body: SubscriptionUpdate, *, now: datetime
) -> WebhookSubscription:
    sub = get(session, subscription_id)
    given = body.model_fields_set
    for name in ("url", "name", "secret", "active"):
        value = getattr(body, name)
        if name in given and value is None:
            raise Invalid(("body", name), f"{name} may not be null")
        if value is not None:
            setattr(sub, name, value)
    if "campaign_id" in given:
        _check_campaign(session, body.campaign_id)
        sub.campaign_id = body.campaign_id
    if "events" in given:
        if body.events is None:
            raise Invalid(("body", "events"), "events may not be null")
        sub.state_changes = "contact.state_changed" in body.events
        sub.attempt_results = "attempt.result" in body.events
    sub.updated_at = now
    session.flush()
    outbox.invalidate_after_commit(session)
    return sub


def delete(session: Session, subscription_id: int) -> None:
    """The subscription and its whole delivery log go."""
    session.delete(get(session, subscription_id))
    session.flush()
    outbox.invalidate_after_commit(session)


def list_all(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def describe(session: Session, subs: Sequence[WebhookSubscription]) -> list[SubscriptionOut]:
    """Each subscription with its counts of pending and failed events."""
    counts: dict[tuple[int, DeliveryStatus], int] = {}
    if subs:
        query = (
            select(WebhookEvent.subscription_id, WebhookEvent.status, func.count())
            .where(
                WebhookEvent.subscription_id.in_([s.id for s in subs]),
                WebhookEvent.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED]),
            )
            .group_by(WebhookEvent.subscription_id, WebhookEvent.status)
        )
        counts = {(sid, status): n for sid, status, n in session.execute(query)}
    return [
        SubscriptionOut(
            id=s.id,
            name=s.name,
            url=s.url,
            campaign_id=s.campaign_id,
            events=events_of(s),
            active=s.active,
            created_at=s.created_at,
            updated_at=s.updated_at,
            pending=counts.get((s.id, DeliveryStatus.PENDING), 0),
            failed=counts.get((s.id, DeliveryStatus.FAILED), 0),
        )
        for s in subs
    ]


def deliveries(
    session: Session, subscription_id: int, params: DeliveryQuery
) -> tuple[list[WebhookEvent], int | None]:
    """One keyset page of a subscription's events, oldest first."""
    get(session, subscription_id)
    query = select(WebhookEvent).where(WebhookEvent.subscription_id == subscription_id)
    if params.status is not None:
        query = query.where(WebhookEvent.status == params.status)
    if params.event_type is not None:
        query = query.where(WebhookEvent.event_type == params.event_type)
    if params.contact_id is not None:
        query = query.where(WebhookEvent.contact_id == params.contact_id)
    if params.after is not None:
        query = query.where(WebhookEvent.id > params.after)
    rows = list(session.scalars(query.order_by(WebhookEvent.id).limit(params.limit + 1)))
    if len(rows) > params.limit:
        return rows[: params.limit], rows[params.limit - 1].id
    return rows, None


def redeliver(
    session: Session, subscription_id: int, event_id: int, *, now: datetime
) -> WebhookEvent:
    """Send a failed (or already delivered) event again, at once, with a fresh count of
    tries (an event older than the maximum age gets one try)."""
    event = session.get(WebhookEvent, event_id, with_for_update=True)
    if event is None or event.subscription_id != subscription_id:
        raise NotFound(f"event {event_id} of webhook subscription {subscription_id} not found")
    if event.status is DeliveryStatus.PENDING:
        raise Conflict(f"event {event_id} is still pending: its next try is already planned")
    event.status = DeliveryStatus.PENDING
    event.tries = 0
    event.next_try_at = now
    event.claimed_until = None
    event.delivered_at = None
    session.flush()
    return event


def ping(session: Session, subscription_id: int, *, now: datetime) -> WebhookEvent:
    get(session, subscription_id)
    return outbox.ping(session, subscription_id, now=now)
