"""Do-not-call lists: one global list and one per campaign.

A number on the global list is never contacted by any campaign; a number on a campaign's
list is never contacted by that campaign. Adding a number changes no contact by itself:
the engine asks ``is_listed`` at the gate, just before each attempt, and contacts added
later are created closed as "DNC Listed".
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, any_, bindparam, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outbound.campaigns.repository import get_by_ref
from outbound.contacts.phones import PhoneError, normalise, search_prefix
from outbound.dnc.schemas import DncScope
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import DncEntry
from outbound.settings.service import get_settings

# Numbers per IN (...) list: far below every backend's bound-parameter limit.
CHUNK = 1000


@dataclass
class BulkOutcome:
    added: int = 0
    already_listed: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # index, raw, reason


def campaign_id_of(session: Session, ref: str | None) -> int | None:
    """The campaign a request names (id or ``crm:<id>``), or None for the global list."""
    return None if ref is None else get_by_ref(session, ref).id


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _in_scope(campaign_id: int | None) -> ColumnElement[bool]:
    if campaign_id is None:
        return DncEntry.campaign_id.is_(None)
    return DncEntry.campaign_id == campaign_id


def _applies_to(campaign_id: int | None) -> ColumnElement[bool]:
    """Entries that block a number for this campaign: the global ones and its own."""
    if campaign_id is None:
        return DncEntry.campaign_id.is_(None)
    return or_(DncEntry.campaign_id.is_(None), DncEntry.campaign_id == campaign_id)


def is_listed(session: Session, numbers_e164: Collection[str], campaign_id: int) -> set[str]:
    """Which of these E.164 numbers the campaign must not contact (global or its own list)."""
    return listed_for(session, {campaign_id: numbers_e164})[campaign_id]


def listed_for(session: Session, wanted: Mapping[int, Collection[str]]) -> dict[int, set[str]]:
    """``is_listed`` for several campaigns at once (campaign id -> numbers): one query per
    chunk of numbers, whatever the number of campaigns."""
    numbers = sorted({n for group in wanted.values() for n in group})
    blocking = or_(DncEntry.campaign_id.is_(None), DncEntry.campaign_id.in_(list(wanted)))
    postgres = session.get_bind().dialect.name == "postgresql"
    hits: set[tuple[str, int | None]] = set()
    for chunk in _chunks(numbers):
        # PostgreSQL takes the numbers as one array: one statement text whatever their count.
        among = (
            DncEntry.number_e164 == any_(bindparam(None, list(chunk), type_=ARRAY(String)))
            if postgres
            else DncEntry.number_e164.in_(chunk)
        )
        query = select(DncEntry.number_e164, DncEntry.campaign_id).where(among, blocking)
        hits.update((number, campaign) for number, campaign in session.execute(query))
    everywhere = {number for number, campaign in hits if campaign is None}
    return {
        campaign: {n for n in group if n in everywhere or (n, campaign) in hits}
        for campaign, group in wanted.items()
    }


def entries_for(session: Session, number_e164: str, campaign_id: int | None) -> list[DncEntry]:
    query = (
        select(DncEntry)
        .where(DncEntry.number_e164 == number_e164, _applies_to(campaign_id))
        .order_by(DncEntry.id)
    )
    return list(session.scalars(query))


def _find(session: Session, number_e164: str, campaign_id: int | None) -> DncEntry | None:
    query = select(DncEntry).where(DncEntry.number_e164 == number_e164, _in_scope(campaign_id))
    return session.scalar(query)


def _scope_name(campaign_id: int | None) -> str:
    return "global" if campaign_id is None else f"campaign {campaign_id}'s"


def add_entry(
    session: Session,
    *,
    raw: str,
    campaign_id: int | None,
    note: str,
    created_by: str | None,
    now: datetime,
) -> DncEntry:
    """Put one number a user typed on a list; 422 if it is no number, 409 if already there."""
    region = get_settings(session).default_region
    try:
        number = normalise(raw, default_region=region)
    except PhoneError as exc:
        raise Invalid(("body", "number"), f"number: {exc.reason}") from None
    existing = _find(session, number, campaign_id)
    if existing is not None:
        raise Conflict(
            f"{number} is already on the {_scope_name(campaign_id)} do-not-call list"
            f" (entry {existing.id})"
        )
    entry = DncEntry(
        number_e164=number,
        raw=raw.strip(),
        campaign_id=campaign_id,
        source="manual",
        note=note,
        created_at=now,
        created_by=created_by,
    )
    session.add(entry)
    session.flush()
    return entry


def add_number(
    session: Session,
    number_e164: str,
    *,
    campaign_id: int | None,
    source: str,
    note: str,
    now: datetime,
) -> DncEntry:
    """Make sure a number is on a list; the existing entry is returned if it already is.

    For automatic sources (an SMS STOP reply), where a concurrent duplicate is no error.
    """
    existing = _find(session, number_e164, campaign_id)
    if existing is not None:
        return existing
    entry = DncEntry(
        number_e164=number_e164,
        raw=number_e164,
        campaign_id=campaign_id,
        source=source[:16],
        note=note[:255],
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        found = _find(session, number_e164, campaign_id)
        if found is None:
            raise
        return found
    return entry


def add_bulk(
    session: Session,
    numbers: Sequence[str],
    *,
    campaign_id: int | None,
    note: str,
    created_by: str | None,
    now: datetime,
) -> BulkOutcome:
    """Add every valid number not yet listed; report the others. One transaction, no 422."""
    region = get_settings(session).default_region
    outcome = BulkOutcome()
    fresh: dict[str, str] = {}  # E.164 -> raw, first occurrence wins
    for index, raw in enumerate(numbers):
        try:
            number = normalise(raw, default_region=region)
        except PhoneError as exc:
            outcome.rejected.append((index, raw, exc.reason))
            continue
        if number in fresh:
            outcome.already_listed += 1
        else:
            fresh[number] = raw.strip()
    for chunk in _chunks(list(fresh)):
        query = select(DncEntry.number_e164).where(
            DncEntry.number_e164.in_(chunk), _in_scope(campaign_id)
        )
        for number in session.scalars(query):
            del fresh[number]
            outcome.already_listed += 1
    rows: list[dict[str, Any]] = [
        {
            "number_e164": number,
            "raw": raw,
            "campaign_id": campaign_id,
            "source": "bulk",
            "note": note,
            "created_at": now,
            "created_by": created_by,
        }
        for number, raw in fresh.items()
    ]
    if rows:
        session.execute(insert(DncEntry), rows)
    outcome.added = len(rows)
    return outcome


def get_entry(session: Session, entry_id: int) -> DncEntry:
    entry = session.get(DncEntry, entry_id)
    if entry is None:
        raise NotFound(f"do-not-call entry {entry_id} not found")
    return entry


def delete_entry(session: Session, entry_id: int) -> None:
    session.delete(get_entry(session, entry_id))
    session.flush()


def check(session: Session, raw: str, *, campaign_id: int | None) -> tuple[str, list[DncEntry]]:
    """The E.164 form of ``raw`` and the entries that block it for that campaign (or globally)."""
    region = get_settings(session).default_region
    try:
        number = normalise(raw, default_region=region)
    except PhoneError as exc:
        raise Invalid(("query", "number"), f"number: {exc.reason}") from None
    return number, entries_for(session, number, campaign_id)


def list_entries(
    session: Session,
    *,
    campaign_ref: str | None,
    scope: DncScope | None,
    q: str | None,
    after: int | None,
    limit: int,
) -> tuple[list[DncEntry], int | None]:
    """One keyset page by id, and the ``after`` of the next page (None at the end)."""
    query = select(DncEntry)
    if campaign_ref is not None:
        campaign_id = get_by_ref(session, campaign_ref).id
        if scope is DncScope.GLOBAL:  # filters combine: global entries of a campaign, none
            return [], None
        query = query.where(DncEntry.campaign_id == campaign_id)
    elif scope is DncScope.GLOBAL:
        query = query.where(DncEntry.campaign_id.is_(None))
    elif scope is DncScope.CAMPAIGN:
        query = query.where(DncEntry.campaign_id.is_not(None))
    if q:
        prefix = search_prefix(q)
        match = DncEntry.raw.startswith(q.strip(), autoescape=True)
        if prefix:
            match = or_(match, DncEntry.number_e164.startswith(prefix, autoescape=True))
        query = query.where(match)
    if after is not None:
        query = query.where(DncEntry.id > after)
    rows = list(session.scalars(query.order_by(DncEntry.id).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None
