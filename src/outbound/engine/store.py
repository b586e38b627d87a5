"""The engine's reads and writes. Each function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.models import Attempt, Campaign, Contact


def lock_campaign(session: Session, campaign_id: int) -> Campaign | None:
    """The campaign row, locked: claims for one campaign are serialised across workers."""
    query = select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    return session.scalar(query)


def claim_due(
    session: Session,
    campaign_id: int,
    *,
    fresh: bool,
    newest_first: bool,
    now: datetime,
    limit: int,
) -> list[Contact]:
    """Due pending contacts, locked (others' locked rows skipped), in the campaign's order."""
    if limit <= 0:
        return []
    query = select(Contact).where(
        Contact.campaign_id == campaign_id,
        Contact.state == ContactState.PENDING,
        Contact.next_attempt_at <= now,
    )
    if fresh:
        seq = Contact.import_seq.desc() if newest_first else Contact.import_seq.asc()
        query = query.where(Contact.attempt_count == 0).order_by(seq)
    else:
        query = query.where(Contact.attempt_count > 0).order_by(
            Contact.next_attempt_at, Contact.import_seq
        )
    return list(session.scalars(query.limit(limit).with_for_update(skip_locked=True)))


def open_attempts(session: Session, attempt_ids: Sequence[int]) -> dict[int, Attempt]:
    if not attempt_ids:
        return {}
    query = select(Attempt).where(Attempt.id.in_(attempt_ids)).with_for_update()
    return {a.id: a for a in session.scalars(query)}


def contacts_by_id(session: Session, contact_ids: Sequence[int]) -> dict[int, Contact]:
    if not contact_ids:
        return {}
    query = select(Contact).where(Contact.id.in_(set(contact_ids))).with_for_update()
    return {c.id: c for c in session.scalars(query)}


def release_in_flight(session: Session, counts: dict[int, int]) -> None:
    for campaign_id, count in counts.items():
        if count:
            session.execute(
                update(Campaign)
                .where(Campaign.id == campaign_id)
                .values(in_flight=Campaign.in_flight - count)
            )


def stale_attempts(session: Session, *, sent_before: datetime, limit: int) -> list[Attempt]:
    query = (
        select(Attempt)
        .where(Attempt.ended_at.is_(None), Attempt.sent_at <= sent_before)
        .order_by(Attempt.sent_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def attempts_of_workers(
    session: Session, worker_ids: Sequence[str], *, limit: int
) -> list[Attempt]:
    if not worker_ids:
        return []
    query = (
        select(Attempt)
        .where(Attempt.ended_at.is_(None), Attempt.worker_id.in_(worker_ids))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def expired_sms(session: Session, *, now: datetime, limit: int) -> list[Contact]:
    query = (
        select(Contact)
        .where(Contact.state == ContactState.SMS_SENT, Contact.next_attempt_at <= now)
        .order_by(Contact.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def latest_sms_attempt(session: Session, number: str) -> Attempt | None:
    from outbound.strategies.outcomes import Channel

    query = (
        select(Attempt)
        .where(Attempt.phone_number == number, Attempt.channel == Channel.SMS)
        .order_by(Attempt.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def next_due(session: Session, campaign_ids: Sequence[int]) -> datetime | None:
    """The earliest time a contact of these campaigns becomes due (attempt or SMS expiry)."""
    if not campaign_ids:
        return None
    query = select(func.min(Contact.next_attempt_at)).where(
        Contact.campaign_id.in_(campaign_ids),
        Contact.state.in_((ContactState.PENDING, ContactState.SMS_SENT)),
    )
    return session.scalar(query)


def oldest_open_attempt(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Attempt.sent_at)).where(Attempt.ended_at.is_(None)))
