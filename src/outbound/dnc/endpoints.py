"""REST routes for the do-not-call lists: any user reads, a supervisor changes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import DbSession, Supervisor, Viewer, now_utc
from outbound.api.schemas import BigIdPath, Page
from outbound.dnc import service
from outbound.dnc.schemas import (
    DncBulkCreate,
    DncBulkResult,
    DncCheckQuery,
    DncCheckResult,
    DncCreate,
    DncListQuery,
    DncOut,
    DncRejected,
)

router = APIRouter(prefix="/dnc", tags=["dnc"])

EntryId = BigIdPath


@router.get("", response_model=Page[DncOut])
def list_entries(
    params: Annotated[DncListQuery, Query()], _user: Viewer, session: DbSession
) -> Page[DncOut]:
    """Entries by id, a page at a time; pass ``next_after`` back as ``after``."""
    rows, next_after = service.list_entries(
        session,
        campaign_ref=params.campaign,
        scope=params.scope,
        q=params.q,
        after=params.after,
        limit=params.limit,
    )
    return Page[DncOut](items=[DncOut.of(e) for e in rows], next_after=next_after)


@router.post("", response_model=DncOut, status_code=status.HTTP_201_CREATED)
def add_entry(body: DncCreate, user: Supervisor, session: DbSession) -> DncOut:
    """Put one number on the global list, or on one campaign's list if ``campaign`` is given."""
    entry = service.add_entry(
        session,
        raw=body.number,
        campaign_id=service.campaign_id_of(session, body.campaign),
        note=body.note,
        created_by=user.username,
        now=now_utc(),
    )
    return DncOut.of(entry)


@router.post("/bulk", response_model=DncBulkResult)
def add_bulk(body: DncBulkCreate, user: Supervisor, session: DbSession) -> DncBulkResult:
    """Add many numbers at once: valid new ones are added, the others reported by index."""
    outcome = service.add_bulk(
        session,
        body.numbers,
        campaign_id=service.campaign_id_of(session, body.campaign),
        note=body.note,
        created_by=user.username,
        now=now_utc(),
    )
    return DncBulkResult(
        added=outcome.added,
        already_listed=outcome.already_listed,
        rejected=[DncRejected(index=i, number=n, reason=r) for i, n, r in outcome.rejected],
    )


@router.get("/check", response_model=DncCheckResult)
def check(
    params: Annotated[DncCheckQuery, Query()], _user: Viewer, session: DbSession
) -> DncCheckResult:
    """Whether a number is blocked: on the global list, or on that campaign's list if given."""
    e164, entries = service.check(
        session, params.number, campaign_id=service.campaign_id_of(session, params.campaign)
    )
    return DncCheckResult(
        number=e164, listed=bool(entries), entries=[DncOut.of(e) for e in entries]
    )


@router.get("/{entry_id}", response_model=DncOut)
def get_entry(entry_id: EntryId, _user: Viewer, session: DbSession) -> DncOut:
    return DncOut.of(service.get_entry(session, entry_id))


@router.delete("/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_entry(entry_id: EntryId, _user: Supervisor, session: DbSession) -> Response:
    service.delete_entry(session, entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
