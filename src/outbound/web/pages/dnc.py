"""Do-not-call page: search the lists, add a number, remove one, upload a file of numbers."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from outbound.api.deps import DbSession, now_utc
from outbound.api.schemas import BigIdPath
from outbound.campaigns import service as campaigns
from outbound.dnc import service
from outbound.dnc.schemas import MAX_BULK, DncCreate, DncScope
from outbound.web import forms
from outbound.web.auth import Form, SupervisorPost, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

PAGE_SIZE = 50
MAX_FILE_BYTES = 5 * 1024 * 1024
ADD_FIELDS: dict[str, forms.Converter] = {
    "number": forms.secret,  # as typed: the service strips and explains what is wrong
    "campaign": forms.choice,
    "note": forms.text,
}


@dataclass
class BulkReport:
    added: int = 0
    already_listed: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, reason


def _campaigns(session: Session) -> list[tuple[str, str]]:
    return [(str(c.id), c.name) for c in campaigns.list_campaigns(session)]


def _page(
    request: Request,
    session: Session,
    *,
    add: forms.FormState | None = None,
    bulk: forms.FormState | None = None,
    report: BulkReport | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params
    q = (params.get("q") or "").strip()[:28] or None
    scope_raw = params.get("scope") or ""
    scope = DncScope(scope_raw) if scope_raw in {s.value for s in DncScope} else None
    try:
        after = int(params.get("after") or "") or None
    except ValueError:
        after = None
    rows, next_after = service.list_entries(
        session, campaign_ref=None, scope=scope, q=q, after=after, limit=PAGE_SIZE
    )
    choices = _campaigns(session)
    query = [("q", q or ""), ("scope", scope.value if scope else "")]
    context: dict[str, Any] = {
        "entries": rows,
        "next_after": next_after,
        "first_page": after is not None,
        "q": q or "",
        "scope": scope.value if scope else "",
        "keep": urlencode([(k, v) for k, v in query if v]),
        "campaigns": choices,
        "campaign_names": dict(choices),
        "add": add or forms.FormState.initial(prefix="add"),
        "bulk": bulk or forms.FormState.initial(prefix="bulk"),
        "report": report,
        "done": params.get("done"),
    }
    return render(request, "dnc/list.html", context, status_code=status_code)


@router.get("/dnc")
def dnc_page(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    return _page(request, session)


@router.post("/dnc")
def add_entry(request: Request, caller: SupervisorPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, ADD_FIELDS, prefix="add")
    payload = form.bind(DncCreate, ADD_FIELDS)
    if payload is not None:
        with form.catching(session):
            entry = service.add_entry(
                session,
                raw=payload.number,
                campaign_id=service.campaign_id_of(session, payload.campaign),
                note=payload.note,
                created_by=caller.user.username,
                now=now_utc(),
            )
            return see_other(request, f"/dnc?done=added&q={entry.number_e164.lstrip('+')}")
    return _page(request, session, add=form, status_code=422)


@router.post("/dnc/{entry_id}/delete")
def remove_entry(
    request: Request, entry_id: BigIdPath, _caller: SupervisorPost, session: DbSession
) -> Response:
    service.delete_entry(session, entry_id)
    return see_other(request, "/dnc?done=removed")


def numbers_in(text: str) -> list[tuple[int, str]]:
    """The numbers of a text or CSV file with their line numbers: the first cell of each
    non-blank line; a first line without any digit is a header and is skipped."""
    found: list[tuple[int, str]] = []
    for line_no, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell:
            continue
        if line_no == 1 and not any(ch.isdigit() for ch in cell):
            continue
        found.append((line_no, cell))
    return found


@router.post("/dnc/bulk")
def add_bulk(request: Request, caller: SupervisorPost, data: Form, session: DbSession) -> Response:
    fields: dict[str, forms.Converter] = {"campaign": forms.choice, "note": forms.text}
    form = forms.FormState.submitted(data, fields, prefix="bulk")
    upload = data.get("file")
    lines: list[tuple[int, str]] = []
    if not isinstance(upload, UploadFile) or not upload.filename:
        form.add("file", "choose a text or CSV file with one number per line")
    else:
        raw = upload.file.read(MAX_FILE_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
            form.add("file", "the file is not UTF-8 text")
        if len(raw) > MAX_FILE_BYTES:
            form.add("file", f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        elif text is not None:
            lines = numbers_in(text)
            if not lines:
                form.add("file", "the file holds no number")
            elif len(lines) > MAX_BULK:
                form.add("file", f"at most {MAX_BULK:,} numbers per file")
    note = form.value("note").strip()
    if len(note) > 255:
        form.add("note", "at most 255 characters")
    report = None
    if form.ok:
        with form.catching(session):
            outcome = service.add_bulk(
                session,
                [number for _, number in lines],
                campaign_id=service.campaign_id_of(session, form.value("campaign") or None),
                note=note,
                created_by=caller.user.username,
                now=now_utc(),
            )
            report = BulkReport(
                added=outcome.added,
                already_listed=outcome.already_listed,
                invalid=[(lines[i][0], raw, why) for i, raw, why in outcome.rejected],
            )
    status_code = 200 if report is not None else 422
    return _page(request, session, bulk=form, report=report, status_code=status_code)
