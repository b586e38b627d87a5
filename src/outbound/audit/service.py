"""Read the audit log: filtered pages, newest first, and the CSV export. Nothing here (or
anywhere in the product) updates or deletes an entry."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from outbound.audit.schemas import AuditFilter
from outbound.models import AuditEntry

CSV_HEADER = (
    "id",
    "at",
    "username",
    "token_name",
    "address",
    "request_id",
    "kind",
    "object_id",
    "object_name",
    "action",
    "field",
    "before",
    "after",
)


def _filtered(where: AuditFilter) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if where.kind is not None:
        query = query.where(AuditEntry.kind == where.kind.value)
    if where.user is not None:
        query = query.where(AuditEntry.username == where.user)
    if where.object is not None:
        query = query.where(
            or_(AuditEntry.object_id == where.object, AuditEntry.object_name == where.object)
        )
    if where.since is not None:
        query = query.where(AuditEntry.at >= where.since)
    if where.until is not None:
        query = query.where(AuditEntry.at < where.until)
    return query


def page(
    session: Session, where: AuditFilter, *, after: int | None, limit: int
) -> tuple[list[AuditEntry], int | None]:
    """One page, newest first; the ``after`` of the next (older) page, None at the end."""
    query = _filtered(where)
    if after is not None:
        query = query.where(AuditEntry.id < after)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def iter_entries(
    session: Session, where: AuditFilter, *, batch: int = 1000
) -> Iterator[AuditEntry]:
    after: int | None = None
    while True:
        rows, after = page(session, where, after=after, limit=batch)
        yield from rows
        session.expunge_all()
        if after is None:
            return


def _cell(value: Any) -> Any:
    """A value as a CSV cell: text as it is, numbers as numbers, the rest as JSON."""
    if (
        value is None
        or isinstance(value, str)
        or (isinstance(value, int | float) and not isinstance(value, bool))
    ):
        return value
    return json.dumps(value, sort_keys=True)


def csv_records(entries: Iterator[AuditEntry]) -> Iterator[Sequence[object]]:
    """One line per changed field, each line complete (who, when, what)."""
    for e in entries:
        head = (
            e.id,
            e.at.isoformat(),
            e.username,
            e.token_name,
            e.address,
            e.request_id,
            e.kind,
            e.object_id,
            e.object_name,
            e.action,
        )
        for change in e.changes:
            yield (*head, change["field"], _cell(change["before"]), _cell(change["after"]))
