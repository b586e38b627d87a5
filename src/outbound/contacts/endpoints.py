"""REST routes for contacts: a campaign's contacts, and one contact by id."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from outbound.api.deps import DbSession, Supervisor, Viewer, now_utc
from outbound.api.schemas import BigIdPath, CampaignRefPath, Page
from outbound.contacts import service
from outbound.contacts.schemas import (
    ContactAdded,
    ContactCreate,
    ContactDetail,
    ContactListQuery,
    ContactOut,
)

# Two prefixes (/campaigns/{campaign}/contacts and /contacts), hence full paths below.
router = APIRouter(tags=["contacts"])

CampaignRef = CampaignRefPath


@router.post(
    "/campaigns/{campaign}/contacts",
    response_model=ContactAdded,
    status_code=status.HTTP_201_CREATED,
)
def add_contact(
    campaign: CampaignRef, body: ContactCreate, _user: Supervisor, session: DbSession
) -> ContactAdded:
    """Add one contact, due at once.

    If any of its numbers is on the global or this campaign's do-not-call list, it is
    created closed as DNC Listed (``dnc_numbers`` says which) and never dialled.
    """
    added = service.add_contact(session, campaign, body, now=now_utc())
    return ContactAdded.build(added.contact, added.dnc_numbers)


@router.get("/campaigns/{campaign}/contacts", response_model=Page[ContactOut])
def list_contacts(
    campaign: CampaignRef,
    params: Annotated[ContactListQuery, Query()],
    _user: Viewer,
    session: DbSession,
) -> Page[ContactOut]:
    """A campaign's contacts by id, a page at a time; pass ``next_after`` back as ``after``."""
    rows, next_after = service.list_contacts(
        session,
        campaign,
        states=params.state,
        q=params.q,
        after=params.after,
        limit=params.limit,
    )
    return Page[ContactOut](
        items=[ContactOut.model_validate(c) for c in rows], next_after=next_after
    )


@router.get("/contacts/{contact_id}", response_model=ContactDetail)
def get_contact(contact_id: BigIdPath, _user: Viewer, session: DbSession) -> ContactDetail:
    """One contact with its state, its campaign's dialer target, its attempts so far and
    its SMS replies."""
    contact, campaign, attempts = service.contact_detail(session, contact_id)
    return ContactDetail.build(contact, campaign, attempts, service.replies_of(session, contact.id))
