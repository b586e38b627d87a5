"""Contact queries that must stay fast with millions of rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, union_all
from sqlalchemy.orm import Session

from outbound.contacts.phones import search_prefix
from outbound.contacts.states import ContactState
from outbound.models import PARAM_SLOTS, Attempt, Campaign, Contact


def open_life_cycle(session: Session, campaign_id: int, phone1_e164: str) -> int | None:
    """The id of the contact whose life cycle for this Phone 1 is still open, if any."""
    query = select(Contact.id).where(
        Contact.campaign_id == campaign_id,
        Contact.phone1_e164 == phone1_e164,
        Contact.closed_at.is_(None),
    )
    return session.scalar(query.limit(1))


def take_import_seq(campaign: Campaign, count: int = 1) -> int:
    """Reserve ``count`` consecutive import sequence numbers; return the first.

    The caller must hold the campaign row lock (``get_by_ref(..., for_update=True)``) so
    that two uploads never hand out the same numbers.
    """
    first = campaign.import_seq + 1
    campaign.import_seq += count
    return first


@dataclass(frozen=True)
class Narrowing:
    """What a listing keeps besides its states; every part given must match.

    - ``q``: the start of Phone 1 as typed, or of its E.164 form (separators ignored);
    - ``phone1_e164``: Phone 1 exactly (a search that reads as a whole number): an equality
      on ``ix_contacts_phone1``, fast however large the campaign;
    - ``column``/``value``: a business parameter (``param1``..``param12``) or the CRM contact
      id equal to ``value``. No index: the page's range scan filters, so its cost grows with
      the rows read until a page is full (see bench/contacts_paging.py).
    """

    q: str | None = None
    phone1_e164: str | None = None
    column: str | None = None
    value: str | None = None


SEARCHABLE_COLUMNS = (*(f"param{i}" for i in PARAM_SLOTS), "crm_contact_id")


def _phone1_match(q: str) -> ColumnElement[bool]:
    match = Contact.phone1.startswith(q, autoescape=True)
    prefix = search_prefix(q)
    if prefix:
        match = or_(match, Contact.phone1_e164.startswith(prefix, autoescape=True))
    return match


def _narrowed(query: Select[Any], narrowing: Narrowing) -> Select[Any]:
    if narrowing.phone1_e164:
        query = query.where(Contact.phone1_e164 == narrowing.phone1_e164)
    elif narrowing.q:
        query = query.where(_phone1_match(narrowing.q))
    if narrowing.column is not None and narrowing.value is not None:
        if narrowing.column not in SEARCHABLE_COLUMNS:
            raise ValueError(f"cannot search contacts by {narrowing.column!r}")
        query = query.where(getattr(Contact, narrowing.column) == narrowing.value)
    return query


def _ids_in_state(
    campaign_id: int,
    state: ContactState,
    *,
    after: int | None,
    before: int | None,
    narrowing: Narrowing,
    limit: int,
) -> Select[Any]:
    """A range scan of ix_contacts_campaign_state_id: (campaign, state) fixed, id in order
    (ascending after ``after``, descending before ``before``)."""
    query = select(Contact.id).where(Contact.campaign_id == campaign_id, Contact.state == state)
    if after is not None:
        query = query.where(Contact.id > after)
    if before is not None:
        query = query.where(Contact.id < before)
    query = _narrowed(query, narrowing)
    order = Contact.id.desc() if before is not None else Contact.id
    return query.order_by(order).limit(limit)


def page(
    session: Session,
    campaign_id: int,
    *,
    states: Collection[ContactState],
    after: int | None,
    q: str | None = None,
    limit: int,
    before: int | None = None,
    narrowing: Narrowing | None = None,
) -> list[Contact]:
    """Up to ``limit`` contacts of a campaign with id > ``after``, by id; or, given
    ``before``, the ``limit`` contacts just before it (still returned by ascending id).

    Each state is read as its own ordered range of the (campaign, state, id) index and the
    ranges are merged, so a page costs at most ``limit`` index entries per state however
    large the campaign, whichever states are asked for.
    """
    if narrowing is None:
        narrowing = Narrowing(q=q)
    wanted = sorted(states or ContactState)
    parts = [
        _ids_in_state(campaign_id, s, after=after, before=before, narrowing=narrowing, limit=limit)
        .subquery()
        .select()
        for s in wanted
    ]
    ids = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    order = Contact.id.desc() if before is not None else Contact.id
    query = select(Contact).join(ids, Contact.id == ids.c.id).order_by(order).limit(limit)
    rows = list(session.scalars(query))
    return rows[::-1] if before is not None else rows


def attempts_of(session: Session, contact_id: int) -> list[Attempt]:
    query = select(Attempt).where(Attempt.contact_id == contact_id)
    return list(session.scalars(query.order_by(Attempt.number, Attempt.id)))
