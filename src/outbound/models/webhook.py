"""Webhook subscriptions of CRMs, and the outbox of events to deliver to each of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outbound.db.base import Base, BigId, UTCDateTime
from outbound.models._columns import Timestamps, enum_column


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its (next) try
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up: too many tries or too old; may be redelivered by hand


class WebhookSubscription(Timestamps, Base):
    """A CRM's URL for events of every campaign (``campaign_id`` NULL) or of one."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(128))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    state_changes: Mapped[bool] = mapped_column(default=True)
    attempt_results: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)


class WebhookEvent(Base):
    """One event for one subscription: written in the transaction of the change it reports
    (the outbox), then delivered, retried and logged here.

    The id orders a contact's events: every writer changes the contact row before it
    inserts its events, so a later change of a contact always gets a larger id.
    """

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index(
            "ix_webhook_events_due",
            "next_try_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_events_contact", "subscription_id", "contact_id", "id"),
        Index("ix_webhook_events_subscription", "subscription_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contact_id: Mapped[int | None] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    attempt_id: Mapped[int | None] = mapped_column(BigInteger)
    crm_contact_id: Mapped[str | None] = mapped_column(String(128))
    crm_campaign_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(24))
    phone_number: Mapped[str | None] = mapped_column(String(16))
    attempt_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempt_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An agent call's disposition and the agent form's values (attempt.result events).
    disposition: Mapped[str | None] = mapped_column(String(64))
    form_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Delivery.
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, 12))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
