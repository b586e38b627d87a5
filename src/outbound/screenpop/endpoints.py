"""REST routes of the agent screen-pop; agents are viewers, so viewers may read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from outbound.api.deps import DbSession, Viewer
from outbound.api.schemas import PHONE_CHARS, BigIdPath
from outbound.contacts.phones import MAX_RAW_LENGTH
from outbound.screenpop import service
from outbound.screenpop.schemas import ScreenPop

router = APIRouter(prefix="/screen-pop", tags=["screen-pop"])
Number = Annotated[
    str,
    Query(
        min_length=1,
        max_length=MAX_RAW_LENGTH,
        json_schema_extra={"format": "phone"},
        description=f"The number dialled, E.164 (+14155550200); pattern {PHONE_CHARS}",
    ),
]


@router.get("", response_model=ScreenPop)
def by_number(number: Number, _user: Viewer, session: DbSession) -> ScreenPop:
    """The newest connected or in-progress call to this number: its contact and campaign."""
    return service.by_number(session, number)


@router.get("/attempts/{attempt_id}", response_model=ScreenPop)
def by_attempt(attempt_id: BigIdPath, _user: Viewer, session: DbSession) -> ScreenPop:
    """The call of this attempt (as the dialer knows it): its contact and campaign."""
    return service.by_attempt(session, attempt_id)
