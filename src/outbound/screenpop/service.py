"""Finding the call an agent has on the line: by attempt id, or by the number dialled."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from outbound.contacts.phones import PhoneError, normalise
from outbound.errors import Invalid, NotFound
from outbound.models import Attempt, Campaign, Contact
from outbound.screenpop.schemas import ScreenPop
from outbound.settings.service import get_settings
from outbound.strategies.outcomes import Channel, Outcome


def pop_for(session: Session, attempt: Attempt) -> ScreenPop:
    """The screen-pop of a call already found (the agent desk's current call)."""
    return _pop(session, attempt)


def _pop(session: Session, attempt: Attempt) -> ScreenPop:
    contact = session.get(Contact, attempt.contact_id)
    campaign = session.get(Campaign, attempt.campaign_id)
    assert contact is not None and campaign is not None  # foreign keys, cascading deletes
    return ScreenPop.build(attempt, contact, campaign)


def by_attempt(session: Session, attempt_id: int) -> ScreenPop:
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.channel is not Channel.VOICE:
        raise NotFound(f"no call with attempt id {attempt_id}")
    return _pop(session, attempt)


def by_number(session: Session, raw: str) -> ScreenPop:
    """The newest call to this number that is connected or still in progress."""
    try:
        number = normalise(raw, default_region=get_settings(session).default_region)
    except PhoneError as exc:
        raise Invalid(("query", "number"), f"number: {exc.reason}") from None
    query = (
        select(Attempt)
        .where(
            Attempt.phone_number == number,
            Attempt.channel == Channel.VOICE,
            or_(Attempt.ended_at.is_(None), Attempt.outcome == Outcome.CONNECTED),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )
    attempt = session.scalar(query)
    if attempt is None:
        raise NotFound(f"no connected or in-progress call to {number}")
    return _pop(session, attempt)
