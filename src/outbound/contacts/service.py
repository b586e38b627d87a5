"""Contacts: adding one, listing a campaign's, reading one with its history.

A contact row is one life cycle of a person (Phone 1) in a campaign. While it is open
(``closed_at`` is NULL) the same Phone 1 cannot be added again; once closed, adding it
again starts a new life cycle in a new row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from outbound.campaigns.repository import get_by_ref
from outbound.contacts import repository
from outbound.contacts.phones import PhoneError, normalise, search_prefixes
from outbound.contacts.schemas import ContactCreate
from outbound.contacts.states import ContactState
from outbound.dnc.service import is_listed
from outbound.errors import Conflict, Invalid, NotFound
from outbound.models import PARAM_SLOTS, PHONE_SLOTS, Attempt, Campaign, Contact, SmsReply
from outbound.settings.service import get_settings
from outbound.webhooks import outbox

NO_NUMBER = "+0"  # what a search without a digit looks for: no country code starts with 0


@dataclass(frozen=True)
class Added:
    contact: Contact
    dnc_numbers: list[str]  # its numbers on a DNC list; non-empty means closed as DNC Listed


def _blank_to_none(value: str | None) -> str | None:
    return None if value is None or not value.strip() else value


def _phones(body: ContactCreate, region: str) -> dict[str, str | None]:
    """Raw and E.164 value of every phone slot; 422 naming the first bad one."""
    values: dict[str, str | None] = {}
    for slot in PHONE_SLOTS:
        name = f"phone{slot}"
        raw = getattr(body, name)
        if slot > 1:
            raw = _blank_to_none(raw)
        e164 = None
        if raw is not None:
            try:
                e164 = normalise(raw, default_region=region)
            except PhoneError as exc:
                raise Invalid(("body", name), f"{name}: {exc.reason}") from None
            raw = raw.strip()
        values[name] = raw
        values[f"{name}_e164"] = e164
    return values


def add_contact(
    session: Session, campaign_ref: str, body: ContactCreate, *, now: datetime
) -> Added:
    """Add one contact to a campaign, due now; closed at once as DNC Listed if blocked."""
    campaign = get_by_ref(session, campaign_ref, for_update=True)
    phones = _phones(body, get_settings(session).default_region)
    phone1 = phones["phone1_e164"]
    assert phone1 is not None
    open_id = repository.open_life_cycle(session, campaign.id, phone1)
    if open_id is not None:
        raise Conflict(f"duplicate: contact {open_id} already has an open life cycle")
    numbers = [n for k, n in phones.items() if k.endswith("_e164") and n is not None]
    listed = is_listed(session, numbers, campaign.id)
    params = {f"param{i}": _blank_to_none(getattr(body, f"param{i}")) for i in PARAM_SLOTS}
    contact = Contact(
        campaign_id=campaign.id,
        import_seq=repository.take_import_seq(campaign),
        crm_contact_id=_blank_to_none(body.crm_contact_id),
        **phones,
        **params,
        state=ContactState.DNC_LISTED if listed else ContactState.PENDING,
        next_attempt_at=None if listed else now,
        next_position=1,
        attempt_count=0,
        closed_at=now if listed else None,
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    session.flush()
    if listed:  # created closed: a state change a CRM is told of
        outbox.contacts_changed(session, [contact.id], now=now)
    return Added(contact, [n for n in numbers if n in listed])


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


def contact_detail(session: Session, contact_id: int) -> tuple[Contact, Campaign, list[Attempt]]:
    contact = get_contact(session, contact_id)
    campaign = session.get(Campaign, contact.campaign_id)
    assert campaign is not None  # the foreign key guarantees it
    return contact, campaign, repository.attempts_of(session, contact.id)


def replies_of(session: Session, contact_id: int) -> list[SmsReply]:
    """The customer's SMS replies, oldest first, late ones included (the contact exists)."""
    return repository.replies_of(session, contact_id)


def parse_states(values: Iterable[str]) -> set[ContactState]:
    """``?state=a&state=b`` and ``?state=a,b`` alike; an unknown name is a 422."""
    # Names come from a closed set and the query's size is bounded by its schema (items and
    # their length), so a repeated name costs nothing: no count to refuse.
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    states: set[ContactState] = set()
    for name in names:
        try:
            states.add(ContactState(name))
        except ValueError:
            known = ", ".join(s.value for s in ContactState)
            raise Invalid(
                ("query", "state"), f"unknown state {name[:40]!r}; known: {known}"
            ) from None
    return states


def list_contacts(
    session: Session,
    campaign_ref: str,
    *,
    states: Iterable[str],
    q: str | None,
    after: int | None,
    limit: int,
) -> tuple[list[Contact], int | None]:
    """One keyset page by id, and the ``after`` of the next page (None at the end);
    ``q`` searches Phone 1 as the page's search box does."""
    wanted = parse_states(states)
    campaign = get_by_ref(session, campaign_ref)
    narrowed = narrowing(session, number=q, column=None, value=None)
    rows = repository.page(
        session, campaign.id, states=wanted, after=after, narrowing=narrowed, limit=limit + 1
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


@dataclass(frozen=True)
class Browse:
    """One page of a campaign's contacts as the web UI shows it, with its neighbours."""

    rows: list[Contact]
    has_previous: bool
    has_next: bool

    @property
    def first_id(self) -> int | None:
        return self.rows[0].id if self.rows else None

    @property
    def last_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None


def narrowing(
    session: Session, *, number: str | None, column: str | None, value: str | None
) -> repository.Narrowing:
    """What a search box means: a number that reads as a whole one (in the default region)
    is matched exactly, in E.164; anything else as the start of Phone 1 (in E.164, read
    internationally or nationally: ``search_prefixes``). Text without a digit matches no
    number."""
    query = number.strip() if number else None
    exact = None
    prefixes: tuple[str, ...] = ()
    if query:
        region = get_settings(session).default_region
        try:
            exact = normalise(query, default_region=region)
        except PhoneError:
            prefixes = search_prefixes(query, default_region=region) or (NO_NUMBER,)
    if column is not None and column not in repository.SEARCHABLE_COLUMNS:
        raise Invalid(("query", "column"), f"cannot search contacts by {column[:40]!r}")
    return repository.Narrowing(
        phone1_e164=exact,
        phone1_prefixes=prefixes,
        column=column if value else None,
        value=value if value else None,
    )


def browse_contacts(
    session: Session,
    campaign_id: int,
    *,
    states: Iterable[ContactState],
    narrowed: repository.Narrowing,
    after: int | None = None,
    before: int | None = None,
    limit: int,
) -> Browse:
    """A keyset page by id (after ``after``, or just before ``before``), never OFFSET; and
    whether anything lies on either side of it (one index probe each)."""
    wanted = set(states)

    def read(**where: int | None) -> list[Contact]:
        return repository.page(
            session,
            campaign_id,
            states=wanted,
            narrowing=narrowed,
            after=where.get("after"),
            before=where.get("before"),
            limit=where.get("limit") or limit,
        )

    rows = read(before=before) if before is not None else read(after=after)
    if not rows:
        return Browse(rows=[], has_previous=False, has_next=False)
    return Browse(
        rows=rows,
        has_previous=bool(read(before=rows[0].id, limit=1)),
        has_next=bool(read(after=rows[-1].id, limit=1)),
    )


def iter_contacts(
    session: Session,
    campaign_id: int,
    *,
    states: Iterable[ContactState],
    narrowed: repository.Narrowing,
    batch: int = 1000,
) -> Iterator[Contact]:
    """Every contact the filter keeps, by id, a keyset page at a time (for exports)."""
    wanted = set(states)
    after: int | None = None
    while rows := repository.page(
        session, campaign_id, states=wanted, narrowing=narrowed, after=after, limit=batch
    ):
        yield from rows
        after = rows[-1].id
        session.expunge_all()  # a million rows must not pile up in the identity map
