"""Contact pages: a campaign's contacts (filter, search, columns, keyset paging, CSV export),
one contact with its attempts, and adding a contact."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession, get_database, now_utc
from outbound.api.schemas import BigIdPath, IdPath
from outbound.campaigns import service as campaigns
from outbound.contacts import repository, service
from outbound.contacts.schemas import ContactCreate
from outbound.contacts.states import LABELS, ContactState
from outbound.db.engine import Database
from outbound.errors import Invalid
from outbound.imports.report import csv_rows
from outbound.models import PARAM_SLOTS, PHONE_SLOTS, Campaign, Contact
from outbound.strategies import outcomes
from outbound.users import service as users
from outbound.web import forms
from outbound.web.auth import AnyPost, Form, SupervisorPost, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
PREFERENCE = "contact_columns"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | time | state | outcome | campaign (a value of its campaign)


COLUMNS: tuple[Column, ...] = (
    *(Column(f"phone{i}", f"Phone {i}") for i in PHONE_SLOTS),
    *(Column(f"param{i}", f"Param {i}") for i in PARAM_SLOTS),
    Column("crm_contact_id", "CRM id"),
    Column("state", "State", "state"),
    Column("number_to_call", "Number to call"),
    Column("dialer_target", "Dialer target", "campaign"),
    Column("last_outcome", "Last outcome", "outcome"),
    Column("attempt_count", "Attempts"),
    Column("created_at", "Added", "time"),
    Column("request_time", "Last attempt", "time"),
    Column("next_attempt_at", "Next attempt", "time"),
    Column("closed_at", "Closed", "time"),
)
BY_KEY = {c.key: c for c in COLUMNS}
DEFAULT_COLUMNS = ("phone1", "state", "last_outcome", "attempt_count", "request_time")
SEARCH_IN = (
    ("phone", "Phone 1"),
    *((f"param{i}", f"Param {i}") for i in PARAM_SLOTS),
    ("crm_contact_id", "CRM contact id"),
)
ADD_FIELDS: dict[str, forms.Converter] = {
    **{f"phone{i}": forms.text for i in PHONE_SLOTS},
    **{f"param{i}": forms.optional_text for i in PARAM_SLOTS},
    "crm_contact_id": forms.optional_text,
}


@dataclass(frozen=True)
class Filters:
    """A listing's filter as the query string carries it (links keep it across pages)."""

    states: tuple[ContactState, ...]
    search: str
    search_in: str
    size: int

    def query(self, **extra: int) -> str:
        pairs: list[tuple[str, str | int]] = [("state", s.value) for s in self.states]
        if self.search:
            pairs += [("q", self.search), ("in", self.search_in)]
        if self.size != PAGE_SIZE:
            pairs.append(("size", self.size))
        pairs += list(extra.items())
        return urlencode(pairs)

    def narrowing(self, session: Session) -> repository.Narrowing:
        if self.search_in == "phone":
            return service.narrowing(session, number=self.search, column=None, value=None)
        return service.narrowing(session, number=None, column=self.search_in, value=self.search)


def _int(raw: str | None, *, low: int, high: int) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if low <= value <= high else None


def filters_of(request: Request) -> Filters:
    """Read the filter leniently: an unknown state or column names no page, so it is an
    error page; a bad page size falls back to the default."""
    params = request.query_params
    states = service.parse_states(params.getlist("state"))
    search_in = params.get("in") or "phone"
    if search_in not in dict(SEARCH_IN):
        raise Invalid(("query", "in"), f"cannot search contacts by {search_in[:40]!r}")
    size = _int(params.get("size"), low=1, high=MAX_PAGE_SIZE) or PAGE_SIZE
    search = (params.get("q") or "").strip()[:255]
    return Filters(tuple(s for s in ContactState if s in states), search, search_in, size)


def chosen_columns(session: Session, user_id: int) -> list[Column]:
    stored = users.preferences(users.get_user(session, user_id)).get(PREFERENCE)
    keys = [k for k in stored if k in BY_KEY] if isinstance(stored, list) else []
    return [BY_KEY[k] for k in keys or DEFAULT_COLUMNS]


def cell(contact: Contact, column: Column, campaign: Campaign) -> str:
    """A contact's value in a column, as text (the list, the detail page, the export)."""
    value = getattr(campaign if column.kind == "campaign" else contact, column.key)
    if value is None:
        return ""
    if column.kind == "state":
        return LABELS[value]
    if column.kind == "outcome":
        return outcomes.label(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _list(
    request: Request,
    session: Session,
    user_id: int,
    campaign: Campaign,
    *,
    add_form: forms.FormState | None = None,
    status_code: int = 200,
) -> Response:
    shown = filters_of(request)
    params = request.query_params
    after = _int(params.get("after"), low=0, high=2**63 - 1)
    before = _int(params.get("before"), low=1, high=2**63 - 1)
    found = service.browse_contacts(
        session,
        campaign.id,
        states=shown.states,
        narrowed=shown.narrowing(session),
        after=None if before is not None else after,
        before=before,
        limit=shown.size,
    )
    context = {
        "campaign": campaign,
        "found": found,
        "filters": shown,
        "states": [(s.value, LABELS[s]) for s in ContactState],
        "search_in": SEARCH_IN,
        "columns": chosen_columns(session, user_id),
        "all_columns": COLUMNS,
        "cell": lambda contact, column: cell(contact, column, campaign),
        "add_form": add_form or forms.FormState.initial(prefix="add"),
        "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    return render(request, "contacts/list.html", context, status_code=status_code)


@router.get("/campaigns/{campaign_id}/contacts")
def contact_list(
    request: Request, campaign_id: IdPath, caller: ViewerPage, session: DbSession
) -> Response:
    campaign = campaigns.get_campaign(session, str(campaign_id))
    return _list(request, session, caller.user.id, campaign)


@router.post("/campaigns/{campaign_id}/contacts/columns")
def choose_columns(
    request: Request, campaign_id: IdPath, caller: AnyPost, data: Form, session: DbSession
) -> Response:
    """Remember the columns this user wants (any role: it is their own view)."""
    keys = [k for k in data.getlist("column") if isinstance(k, str) and k in BY_KEY]
    ordered = [c.key for c in COLUMNS if c.key in keys]
    users.set_preference(session, users.get_user(session, caller.user.id), PREFERENCE, ordered)
    back = data.get("back")
    prefix = f"/campaigns/{campaign_id}/contacts"
    target = back if isinstance(back, str) and back.startswith(prefix) else prefix
    return see_other(request, target)


@router.post("/campaigns/{campaign_id}/contacts/new")
def add_contact(
    request: Request, campaign_id: IdPath, caller: SupervisorPost, data: Form, session: DbSession
) -> Response:
    campaign = campaigns.get_campaign(session, str(campaign_id))
    form = forms.FormState.submitted(data, ADD_FIELDS, prefix="add")
    payload = form.bind(ContactCreate, ADD_FIELDS)
    if payload is not None:
        with form.catching(session):
            added = service.add_contact(session, str(campaign.id), payload, now=now_utc())
            return see_other(request, f"/contacts/{added.contact.id}?added=1")
        campaign = campaigns.get_campaign(session, str(campaign_id))
    return _list(request, session, caller.user.id, campaign, add_form=form, status_code=422)


# The keys are the importer's column names (phone1, param1, crm_contact_id): an export
# imports back as it is, its other columns ignored (and named in the job's warnings).
EXPORT_HEADER = ("id", *(c.key for c in COLUMNS))


@router.get("/campaigns/{campaign_id}/contacts.csv")
def export(
    request: Request,
    campaign_id: IdPath,
    _caller: ViewerPage,
    session: DbSession,
    db: Annotated[Database, Depends(get_database)],
) -> StreamingResponse:
    """Every contact the current filter keeps (all pages, all columns), streamed."""
    campaign = campaigns.get_campaign(session, str(campaign_id))
    shown = filters_of(request)
    narrowed = shown.narrowing(session)

    def rows(own: Session) -> Iterator[tuple[object, ...]]:
        for contact in service.iter_contacts(
            own, campaign.id, states=shown.states, narrowed=narrowed
        ):
            yield (contact.id, *(cell(contact, c, campaign) for c in COLUMNS))

    def chunks() -> Iterator[str]:
        with db.transaction() as own:  # the request's session is closed while this streams
            yield from csv_rows(EXPORT_HEADER, rows(own))

    name = f"contacts-{campaign.name}.csv"
    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/contacts/{contact_id}")
def contact_detail(
    request: Request, contact_id: BigIdPath, _caller: ViewerPage, session: DbSession
) -> Response:
    contact, campaign, attempts = service.contact_detail(session, contact_id)
    context: dict[str, Any] = {
        "contact": contact,
        "campaign": campaign,
        "attempts": attempts,
        "replies": service.replies_of(session, contact.id),
        # The detail page shows these two below, always (with a dash when empty).
        "columns": [c for c in COLUMNS if c.key not in ("number_to_call", "dialer_target")],
        "cell": lambda contact, column: cell(contact, column, campaign),
        "state_label": LABELS[contact.state],
    }
    return render(request, "contacts/detail.html", context)
