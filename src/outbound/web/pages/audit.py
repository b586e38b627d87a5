"""Audit log page (admins): who changed what, filtered by kind, user, object and days, a
page at a time, and the same selection as a CSV file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError

from outbound.api.deps import DbSession, get_database
from outbound.audit import service
from outbound.audit.endpoints import csv_download
from outbound.audit.kinds import KIND_NAMES
from outbound.audit.schemas import AuditFilter
from outbound.db.engine import Database
from outbound.web.auth import AdminPage
from outbound.web.templating import render

router = APIRouter()

PAGE_SIZE = 50
FIELDS = ("kind", "user", "object", "since", "until")


def _day(raw: str, *, end: bool) -> datetime | None:
    """A day picked in the form (UTC): its start, or for ``until`` the next day's start."""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def _filter(request: Request) -> tuple[AuditFilter, dict[str, str]]:
    """The filters of the query string; one that cannot be read is left out, not an error."""
    raw = {k: (request.query_params.get(k) or "").strip() for k in FIELDS}
    given: dict[str, Any] = {k: v for k, v in raw.items() if v and k in ("user", "object")}
    if raw["kind"] in KIND_NAMES:
        given["kind"] = raw["kind"]
    for key in ("since", "until"):
        moment = _day(raw[key], end=key == "until") if raw[key] else None
        if moment is not None:
            given[key] = moment
    try:
        where = AuditFilter.model_validate(given)
    except ValidationError:
        where, raw = AuditFilter(), dict.fromkeys(FIELDS, "")
    return where, raw


@router.get("/audit")
def audit_page(request: Request, _caller: AdminPage, session: DbSession) -> Response:
    where, raw = _filter(request)
    try:
        after = int(request.query_params.get("after") or "") or None
    except ValueError:
        after = None
    rows, next_after = service.page(session, where, after=after, limit=PAGE_SIZE)
    keep = urlencode([(k, v) for k, v in raw.items() if v])
    context = {
        "entries": rows,
        "next_after": next_after,
        "first_page": after is not None,
        "kinds": KIND_NAMES,
        "filters": raw,
        "keep": keep,
    }
    return render(request, "audit/list.html", context)


@router.get("/audit.csv")
def audit_csv(
    request: Request, _caller: AdminPage, db: Annotated[Database, Depends(get_database)]
) -> StreamingResponse:
    where, _ = _filter(request)
    return csv_download(db, where)
