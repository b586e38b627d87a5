"""Results from channels, and inbound SMS, applied to attempts and contacts.

A result counts once: the attempt row is locked and a result for an attempt that already
ended (a duplicate, or one that arrives after the contact went Dangling) changes no contact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from outbound.channels.base import InboundSms, Result
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.dnc.service import add_number
from outbound.engine import store
from outbound.engine.decisions import decide
from outbound.engine.runtime import CampaignRuntime
from outbound.engine.transitions import apply_decision
from outbound.models import Attempt, Contact
from outbound.strategies.outcomes import Outcome

STOP_WORDS = frozenset(
    {
        "STOP",
        "STOPALL",
        "UNSUBSCRIBE",
        "CANCEL",
        "END",
        "QUIT",
        "OPTOUT",
        "OPT-OUT",
        "ARRET",
        "ARRÊT",
        "REVOKE",
    }
)
Runtimes = Callable[[int], CampaignRuntime | None]


def is_stop(text: str) -> bool:
    words = text.strip().upper().split()
    return bool(words) and words[0].strip(".!") in STOP_WORDS


def apply_results(
    db: Database,
    results: Sequence[Result],
    *,
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> int:
    """Record each result; returns how many changed a contact."""
    if not results:
        return 0
    changed = 0
    with db.transaction() as session:
        attempts = store.open_attempts(session, [r.attempt_id for r in results])
        contacts = store.contacts_by_id(session, [a.contact_id for a in attempts.values()])
        released: Counter[int] = Counter()
        for result in results:
            attempt = attempts.get(result.attempt_id)
            if attempt is None:
                continue
            contact = contacts[attempt.contact_id]
            if attempt.ended_at is not None:
                changed += _late(session, attempt, contact, result, runtime, now)
                continue
            attempt.ended_at = result.at
            attempt.outcome = result.outcome
            attempt.raw_result = result.raw[:255]
            released[attempt.campaign_id] += 1
            if not _waiting_for(contact, attempt, ContactState.SENT_TO_DIALER):
                continue
            rt = runtime(attempt.campaign_id)
            if rt is None:
                continue
            decision = decide(
                rt.plan,
                position=attempt.strategy_position,
                attempts_made=contact.attempt_count,
                outcome=result.outcome,
                now=now,
                callback_at=result.callback_at,
                default_sms_expiry_minutes=default_sms_expiry,
            )
            apply_decision(
                session,
                contact,
                decision,
                outcome=result.outcome,
                number=attempt.phone_number,
                now=now,
            )
            changed += 1
        store.release_in_flight(session, released)
    return changed


def _waiting_for(contact: Contact, attempt: Attempt, state: ContactState) -> bool:
    return contact.state is state and contact.last_attempt_id == attempt.id


def _late(
    session: Session,
    attempt: Attempt,
    contact: Contact,
    result: Result,
    runtime: Runtimes,
    now: datetime,
) -> int:
    """A delivery receipt after the submit was accepted; a failure re-opens the strategy."""
    if result.outcome not in (Outcome.SMS_DELIVERED, Outcome.SMS_FAILED):
        return 0
    attempt.outcome = result.outcome
    attempt.raw_result = result.raw[:255]
    if result.outcome is Outcome.SMS_DELIVERED or not _waiting_for(
        contact, attempt, ContactState.SMS_SENT
    ):
        return 0
    rt = runtime(attempt.campaign_id)
    if rt is None:
        return 0
    decision = decide(
        rt.plan,
        position=attempt.strategy_position,
        attempts_made=contact.attempt_count,
        outcome=Outcome.SMS_FAILED,
        now=now,
    )
    apply_decision(
        session,
        contact,
        decision,
        outcome=Outcome.SMS_FAILED,
        number=attempt.phone_number,
        now=now,
    )
    return 1


def apply_inbound(
    db: Database, messages: Sequence[InboundSms], *, runtime: Runtimes, now: datetime
) -> int:
    """Customer replies: STOP puts the number on the global DNC list; a reply closes."""
    changed = 0
    for message in messages:
        with db.transaction() as session:
            stop = is_stop(message.text)
            if stop:
                add_number(
                    session,
                    message.number,
                    campaign_id=None,
                    source="sms_stop",
                    note="STOP reply",
                    now=now,
                )
            attempt = store.latest_sms_attempt(session, message.number)
            if attempt is None:
                continue
            contact = store.contacts_by_id(session, [attempt.contact_id])[attempt.contact_id]
            if not _waiting_for(contact, attempt, ContactState.SMS_SENT):
                continue
            rt = runtime(attempt.campaign_id)
            if rt is None:
                continue
            outcome = Outcome.SMS_STOP if stop else Outcome.SMS_REPLY
            attempt.outcome = outcome
            attempt.raw_result = f"reply: {message.text}"[:255]
            decision = decide(
                rt.plan,
                position=attempt.strategy_position,
                attempts_made=contact.attempt_count,
                outcome=outcome,
                now=now,
            )
            apply_decision(session, contact, decision, outcome=outcome, number=None, now=now)
            changed += 1
    return changed
