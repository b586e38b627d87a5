"""REST routes of the audit log: read and export, admins only. No route changes it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from outbound.api.deps import Admin, DbSession, get_database
from outbound.api.schemas import Page
from outbound.audit import service
from outbound.audit.schemas import AuditFilter, AuditOut, AuditQuery
from outbound.db.engine import Database
from outbound.imports.report import csv_rows

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=Page[AuditOut])
def list_entries(
    params: Annotated[AuditQuery, Query()], _admin: Admin, session: DbSession
) -> Page[AuditOut]:
    """Changes users made, newest first; pass ``next_after`` back as ``after`` for older ones."""
    where = AuditFilter.model_validate(params.model_dump(exclude={"after", "limit"}))
    rows, next_after = service.page(session, where, after=params.after, limit=params.limit)
    return Page[AuditOut](
        items=[AuditOut.model_validate(r, from_attributes=True) for r in rows],
        next_after=next_after,
    )


@router.get(
    ".csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "The entries as CSV"}},
)
def export(
    params: Annotated[AuditFilter, Query()],
    _admin: Admin,
    db: Annotated[Database, Depends(get_database)],
) -> StreamingResponse:
    """The filtered entries as CSV, newest first, one line per changed field."""
    return csv_download(db, params)


def csv_download(db: Database, where: AuditFilter) -> StreamingResponse:
    """Streamed from its own transaction (the request's closes before the body is sent)."""

    def lines() -> Iterator[str]:
        with db.transaction() as own:
            yield from csv_rows(
                service.CSV_HEADER, service.csv_records(service.iter_entries(own, where))
            )

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )
