"""Applying a decision to a contact row, the one place a contact changes state in the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.dnc.service import add_number
from outbound.engine.decisions import Decision
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Outcome


class ContactFields(Protocol):
    """What a decision changes: an ORM ``Contact``, or the plain copy the result path keeps."""

    state: ContactState
    last_outcome: str | None
    closed_at: datetime | None
    next_attempt_at: datetime | None
    next_position: int


def apply_decision(
    session: Session,
    contact: ContactFields,
    decision: Decision,
    *,
    outcome: Outcome | None,
    number: str | None,
    now: datetime,
) -> None:
    contact.state = decision.state
    if outcome is not None:
        contact.last_outcome = outcome.value
    if decision.closed:
        contact.closed_at = now
        contact.next_attempt_at = None
    else:
        assert decision.next_position is not None and decision.due_at is not None
        contact.next_position = decision.next_position
        contact.next_attempt_at = decision.due_at
    if decision.add_to_dnc and number:
        add_number(session, number, campaign_id=None, source="sms_stop", note="STOP reply", now=now)


def close(contact: Contact, state: ContactState, *, now: datetime) -> None:
    contact.state = state
    contact.closed_at = now
    contact.next_attempt_at = None


def end_dangling(attempt: Attempt, contact: Contact | None, *, now: datetime, why: str) -> bool:
    """No result will come for this attempt: close its contact as Dangling, never redial.
    Returns whether the contact was closed (it was still waiting for this attempt).

    An answered call (its worker died mid-call) has its result already: only its end is
    unknown, so it ends now and keeps its outcome."""
    attempt.ended_at = now
    if attempt.answered_at is not None:
        return False
    attempt.raw_result = why[:255]
    if (
        contact is not None
        and contact.state is ContactState.SENT_TO_DIALER
        and contact.last_attempt_id == attempt.id
    ):
        close(contact, ContactState.DANGLING, now=now)
        return True
    return False
