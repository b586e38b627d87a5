"""REST routes for webhook subscriptions: admins write, everyone signed in reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import Admin, DbSession, Viewer, now_utc
from outbound.api.schemas import BigIdPath, IdPath, Page
from outbound.webhooks import service
from outbound.webhooks.schemas import (
    DeliveryOut,
    DeliveryQuery,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("", response_model=list[SubscriptionOut])
def list_subscriptions(_user: Viewer, session: DbSession) -> list[SubscriptionOut]:
    """Every subscription, with its counts of pending and failed events (no secrets)."""
    return service.describe(session, service.list_all(session))


@router.post("", response_model=SubscriptionCreated, status_code=status.HTTP_201_CREATED)
def create_subscription(
    body: SubscriptionCreate, _user: Admin, session: DbSession
) -> SubscriptionCreated:
    """Subscribe a URL to the events of every campaign, or of one.

    The response shows the secret this once (the one given, or a generated one): keep it
    to verify the ``X-Outbound-Signature`` of each request.
    """
    sub = service.create(session, body, now=now_utc())
    (out,) = service.describe(session, [sub])
    return SubscriptionCreated(**out.model_dump(), secret=sub.secret)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
def get_subscription(subscription_id: IdPath, _user: Viewer, session: DbSession) -> SubscriptionOut:
    (out,) = service.describe(session, [service.get(session, subscription_id)])
    return out


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
def update_subscription(
    subscription_id: IdPath, body: SubscriptionUpdate, _user: Admin, session: DbSession
) -> SubscriptionOut:
    """Change the given fields; a new ``secret`` is taken but never shown."""
    sub = service.update(session, subscription_id, body, now=now_utc())
    (out,) = service.describe(session, [sub])
    return out


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_subscription(subscription_id: IdPath, _user: Admin, session: DbSession) -> Response:
    """The subscription and its delivery log; events not yet delivered are dropped."""
    service.delete(session, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{subscription_id}/deliveries", response_model=Page[DeliveryOut])
def list_deliveries(
    subscription_id: IdPath,
    params: Annotated[DeliveryQuery, Query()],
    _user: Viewer,
    session: DbSession,
) -> Page[DeliveryOut]:
    """The delivery log: each event, its tries, the receiver's last answer, the next try."""
    rows, next_after = service.deliveries(session, subscription_id, params)
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(r) for r in rows], next_after=next_after
    )


@router.post(
    "/{subscription_id}/deliveries/{event_id}/redeliver",
    response_model=DeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def redeliver(
    subscription_id: IdPath, event_id: BigIdPath, _user: Admin, session: DbSession
) -> DeliveryOut:
    """Send a failed (or delivered) event again; 409 while it is still pending."""
    event = service.redeliver(session, subscription_id, event_id, now=now_utc())
    return DeliveryOut.model_validate(event)


@router.post(
    "/{subscription_id}/ping", response_model=DeliveryOut, status_code=status.HTTP_202_ACCEPTED
)
def ping(subscription_id: IdPath, _user: Admin, session: DbSession) -> DeliveryOut:
    """Queue a ``ping`` event for this subscription, delivered (and logged) like any other."""
    return DeliveryOut.model_validate(service.ping(session, subscription_id, now=now_utc()))
