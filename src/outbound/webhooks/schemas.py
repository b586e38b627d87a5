"""API shapes for webhook subscriptions and their delivery log."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from outbound.api.schemas import JSON_INTEGER, MAX_BIG_ID, MAX_ID, NoNul, Strict, not_null
from outbound.models import DeliveryStatus

EventType = Literal["contact.state_changed", "attempt.result"]
ALL_EVENTS: list[EventType] = ["contact.state_changed", "attempt.result"]


# The rules of _http_url as one pattern, for the document (and checked last by it too): a
# host name or address, a port 1-65535, then a path and query without spaces or #.
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = re.compile(
    rf"^https?://[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?(?::{_PORT})?"
    r"(?:[/?][\x21-\x22\x24-\x7e]*)?$"
)


def _http_url(value: str) -> str:
    """An absolute http(s) URL with a host; no credentials, spaces or fragments."""
    if any(c.isspace() for c in value) or "\x00" in value:
        raise ValueError("the URL may not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the URL must name a host")
    if parts.username or parts.password:
        raise ValueError("the URL may not carry credentials; the signature authenticates")
    if parts.fragment:
        raise ValueError("the URL may not have a #fragment")
    if port == 0:
        raise ValueError("the URL's port must be 1-65535")
    if not URL_PATTERN.fullmatch(value):
        raise ValueError("not a valid URL: its host or port is malformed")
    return value


Url = Annotated[
    str,
    StringConstraints(min_length=8, max_length=2000),
    AfterValidator(_http_url),
    WithJsonSchema(
        {"type": "string", "minLength": 8, "maxLength": 2000, "pattern": URL_PATTERN.pattern}
    ),
    Field(description="http:// or https:// URL that receives the events (POST, JSON)"),
]
Secret = Annotated[
    str,
    StringConstraints(min_length=16, max_length=128, pattern=r"^[\x21-\x7e]+$"),
    Field(description="HMAC key, 16-128 printable characters; generated if omitted"),
]
Name = Annotated[str, StringConstraints(max_length=100), NoNul]
Events = Annotated[
    list[EventType],
    Field(
        min_length=1,
        max_length=2,
        description="Which events to send",
        json_schema_extra={"uniqueItems": True},
    ),
]
CampaignId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), JSON_INTEGER]


def _unique(events: list[EventType]) -> list[EventType]:
    if len(set(events)) != len(events):
        raise ValueError("each event type at most once")
    return events


UniqueEvents = Annotated[Events, AfterValidator(_unique)]


class SubscriptionCreate(Strict):
    url: Url
    name: Name = ""
    campaign_id: CampaignId | None = Field(
        default=None, description="Only this campaign's events; all campaigns when omitted"
    )
    events: UniqueEvents = Field(default_factory=lambda: list(ALL_EVENTS))
    secret: Secret | None = None
    active: StrictBool = True


class SubscriptionUpdate(Strict):
    """Only the fields given change; ``campaign_id: null`` means every campaign."""

    url: Url | None = Field(default=None, json_schema_extra=not_null)
    name: Name | None = Field(default=None, json_schema_extra=not_null)
    campaign_id: CampaignId | None = None
    events: UniqueEvents | None = Field(default=None, json_schema_extra=not_null)
    secret: Secret | None = Field(
        default=None, description="A new secret (write-only)", json_schema_extra=not_null
    )
    active: StrictBool | None = Field(default=None, json_schema_extra=not_null)


class SubscriptionOut(BaseModel):
    """The secret is never shown again after creation."""

    id: int
    name: str
    url: str
    campaign_id: int | None
    events: list[EventType]
    active: bool
    created_at: datetime
    updated_at: datetime
    pending: int = Field(description="Events waiting for delivery")
    failed: int = Field(description="Events given up on (redeliverable)")


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Shown this once: keep it to verify signatures")


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The event id, as sent in X-Outbound-Event-Id")
    event_type: str
    occurred_at: datetime
    contact_id: int | None
    campaign_id: int | None
    attempt_id: int | None
    state: str | None
    outcome: str | None
    status: DeliveryStatus
    tries: int
    next_try_at: datetime | None
    last_try_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


class DeliveryQuery(Strict):
    status: DeliveryStatus | None = None
    event_type: Literal["contact.state_changed", "attempt.result", "ping"] | None = None
    contact_id: Annotated[int, Field(ge=1, le=MAX_BIG_ID)] | None = None
    after: Annotated[int, Field(ge=0, le=MAX_BIG_ID)] | None = Field(
        default=None, description="next_after of the previous page"
    )
    limit: Annotated[int, Field(ge=1, le=500)] = 100
