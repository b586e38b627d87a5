"""Contact queries that must stay fast with millions of rows."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, Select, or_, select, union_all
from sqlalchemy.orm import Session

from outbound.contacts.phones import search_prefix
from outbound.contacts.states import ContactState
from outbound.models import Attempt, Campaign, Contact


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


def _phone1_match(q: str) -> ColumnElement[bool]:
    match = Contact.phone1.startswith(q, autoescape=True)
    prefix = search_prefix(q)
    if prefix:
        match = or_(match, Contact.phone1_e164.startswith(prefix, autoescape=True))
    return match


def _ids_in_state(
    campaign_id: int, state: ContactState, *, after: int | None, q: str | None, limit: int
) -> Select[int]:
    """A range scan of ix_contacts_campaign_state_id: (campaign, state) fixed, id ascending."""
    query = select(Contact.id).where(Contact.campaign_id == campaign_id, Contact.state == state)
    if after is not None:
        query = query.where(Contact.id > after)
    if q:
        query = query.where(_phone1_match(q))
    return query.order_by(Contact.id).limit(limit)


def page(
    session: Session,
    campaign_id: int,
    *,
    states: Collection[ContactState],
    after: int | None,
    q: str | None,
    limit: int,
) -> list[Contact]:
    """Up to ``limit`` contacts of a campaign with id > ``after``, by id.

    Each state is read as its own ordered range of the (campaign, state, id) index and the
    ranges are merged, so a page costs at most ``limit`` index entries per state however
    large the campaign, whichever states are asked for.
    """
    wanted = sorted(states or ContactState)
    parts = [
        _ids_in_state(campaign_id, s, after=after, q=q, limit=limit).subquery().select()
        for s in wanted
    ]
    ids = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    query = select(Contact).join(ids, Contact.id == ids.c.id).order_by(Contact.id).limit(limit)
    return list(session.scalars(query))


def attempts_of(session: Session, contact_id: int) -> list[Attempt]:
    query = select(Attempt).where(Attempt.contact_id == contact_id)
    return list(session.scalars(query.order_by(Attempt.number, Attempt.id)))
