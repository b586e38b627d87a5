"""API shapes of the audit log."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StringConstraints

from outbound.api.schemas import MAX_BIG_ID, NoNul, Strict
from outbound.audit.kinds import KIND_NAMES

AuditKind = StrEnum("AuditKind", {name.upper(): name for name in KIND_NAMES})  # type: ignore[misc]


def _iso_only(value: Any) -> Any:
    """A number is no instant here (pydantic would read it as seconds since 1970)."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9.eE+-]+\s*", value)
    ):
        raise ValueError("give a date and time with its zone (ISO 8601), e.g. 2026-01-31T09:00Z")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_only)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=255), NoNul]


class AuditFilter(Strict):
    """Which entries: every filter given must hold."""

    kind: Annotated[AuditKind | None, Field(description="Only changes of this kind of object")] = (
        None
    )
    user: Annotated[Text | None, Field(description="Only changes by this user name")] = None
    object: Annotated[
        Text | None,
        Field(description="Only this object: its id, or its name (campaign name, number…)"),
    ] = None
    since: Annotated[Instant | None, Field(description="At or after this instant")] = None
    until: Annotated[Instant | None, Field(description="Before this instant")] = None


class AuditQuery(AuditFilter):
    after: Annotated[
        int | None,
        Field(ge=1, le=MAX_BIG_ID, description="next_after of the previous page (older entries)"),
    ] = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class ChangeOut(BaseModel):
    field: str = Field(description="Dotted path of the field, e.g. dialer.options.trunk")
    before: Any = Field(description="Value before (null for a created object); secrets masked")
    after: Any = Field(description="Value after (null for a deleted object); secrets masked")


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str
    token_name: str | None = Field(description="The API token's name, if the change came with one")
    address: str | None = Field(description="The client's address")
    request_id: str | None
    kind: str
    object_id: str | None
    object_name: str | None
    action: str = Field(description="create, update or delete")
    changes: list[ChangeOut]
