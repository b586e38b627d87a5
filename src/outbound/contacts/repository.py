"""Contact queries that must stay fast with millions of rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, union_all
from sqlalchemy.orm import Session

from outbound.contacts.phones import prefix_upper_bound
from outbound.contacts.states import ContactState
from outbound.models import PARAM_SLOTS, Attempt, Campaign, Contact, SmsReply


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

    - ``phone1_e164``: Phone 1 exactly (a search that reads as a whole number);
    - ``phone1_prefixes``: Phone 1 (its E.164 form) starts with one of these (the readings
      of a partial number, ``phones.search_prefixes``);
    - ``column``/``value``: a business parameter (``param1``..``param12``) or the CRM contact
      id equal to ``value``.

    Costs of the page (``browse_contacts``: the page and its two neighbour probes), from
    bench/contacts_paging.py: medians on PostgreSQL, a campaign of 1,000,000 contacts
    against one of 10,000 in the same database (SQLite: 200,000 against 10,000):

    - first, next, previous page, by one state or several: 7-30 ms at both sizes (ratio
      about 1), each state being an ordered range of ``ix_contacts_campaign_state_id``;
    - a whole number: an equality on ``ix_contacts_phone1``, ~20 ms at both sizes;
    - a partial number: range conditions on ``ix_contacts_phone1`` (never ``LIKE``, which
      that index cannot serve outside the C collation, nor on SQLite): a rare prefix 13 ms
      (it was 2.2 s, 69x the small campaign, as a filter of the state ranges); a common one
      (an area code) 45 ms. SQLite keeps the state ranges for it: 0.28 s at 200,000;
    - the CRM id: an equality on ``ix_contacts_campaign_crm``, 20 ms (it was 2.0 s, 56x);
    - a parameter: no index (twelve would slow the import); the state ranges are read
      until a page is full, so a common value (one in three) costs 40 ms, and a rare one
      reads the whole campaign: 3.0 s at 1M (100x; SQLite 0.42 s at 200,000).
    """

    phone1_e164: str | None = None
    phone1_prefixes: tuple[str, ...] = ()
    column: str | None = None
    value: str | None = None


SEARCHABLE_COLUMNS = (*(f"param{i}" for i in PARAM_SLOTS), "crm_contact_id")


def _starts_with(prefix: str) -> ColumnElement[bool]:
    bound = prefix_upper_bound(prefix)
    low = Contact.phone1_e164 >= prefix
    return low if bound is None else and_(low, Contact.phone1_e164 < bound)


def _narrowed(query: Select[Any], narrowing: Narrowing) -> Select[Any]:
    if narrowing.phone1_e164:
        query = query.where(Contact.phone1_e164 == narrowing.phone1_e164)
    elif narrowing.phone1_prefixes:
        query = query.where(or_(*map(_starts_with, narrowing.phone1_prefixes)))
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
        narrowing = Narrowing()
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


def replies_of(session: Session, contact_id: int) -> list[SmsReply]:
    query = select(SmsReply).where(SmsReply.contact_id == contact_id)
    return list(session.scalars(query.order_by(SmsReply.received_at, SmsReply.id)))
