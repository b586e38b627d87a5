"""Results from channels, and inbound SMS, applied to attempts and contacts.

A result counts once: the attempt row is locked and a result for an attempt that already
ended (a duplicate, or one that arrives after the contact went Dangling) changes no contact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
from outbound.models._columns import utcnow
from outbound.strategies.outcomes import Outcome
from outbound.webhooks import outbox

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


LATE = (Outcome.SMS_DELIVERED, Outcome.SMS_FAILED)  # what may follow an ended attempt


@dataclass(slots=True)
class _Attempt:
    """The columns of an attempt that a result reads and writes."""

    id: int
    contact_id: int
    campaign_id: int
    strategy_position: int
    phone_number: str
    ended_at: datetime | None
    outcome: Outcome | None
    raw_result: str | None


@dataclass(slots=True)
class _Contact:
    """The columns of a contact that a result reads and writes, and what they were."""

    id: int
    state: ContactState
    last_attempt_id: int | None
    attempt_count: int
    last_outcome: str | None
    closed_at: datetime | None
    next_attempt_at: datetime | None
    next_position: int
    was: tuple[ContactState, int | None] = (ContactState.PENDING, None)

    def __post_init__(self) -> None:
        self.was = (self.state, self.last_attempt_id)


def apply_results(
    db: Database,
    results: Sequence[Result],
    *,
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> int:
    """Record each result; returns how many contacts changed.

    An attempt's first result ends it in the same statement that locks it; the contacts'
    changes are made in memory (a batch may hold two results for one attempt: an SMS
    accepted, then delivered) and written in one guarded statement.
    """
    if not results:
        return 0
    with db.transaction() as session:
        first: dict[int, Result] = {}
        for result in results:
            first.setdefault(result.attempt_id, result)
        attempts = _load(session, results, first)
        rows = store.result_contacts(session, [a.contact_id for a in attempts.values()])
        contacts = {row.id: _Contact(*row) for row in rows}  # columns in field order
        touched: dict[int, _Attempt] = {}
        decided: dict[int, _Contact] = {}
        released: Counter[int] = Counter()
        for result in results:
            attempt = attempts.get(result.attempt_id)
            contact = contacts.get(attempt.contact_id) if attempt else None
            if attempt is None or contact is None:
                continue
            if first.get(attempt.id) is result:  # this result ended the attempt
                released[attempt.campaign_id] += 1
                if _decide(session, attempt, contact, result, runtime, now, default_sms_expiry):
                    decided[contact.id] = contact
                continue
            if result.outcome in LATE:
                touched[attempt.id] = attempt
            if _late(session, attempt, contact, result, runtime, now):
                decided[contact.id] = contact
        store.update_attempts(
            session,
            [
                {"id": a.id, "outcome": a.outcome, "raw_result": a.raw_result}
                for a in touched.values()
            ],
        )
        changed = _write(session, decided.values())
        store.release_in_flight(session, released)
        # Webhooks (nothing when no subscription): the results first, then the states.
        outbox.attempts_ended(session, [*first, *touched], now=now)
        outbox.contacts_changed(session, changed, now=now)
    return len(changed)


def _load(
    session: Session, results: Sequence[Result], first: dict[int, Result]
) -> dict[int, _Attempt]:
    """End the attempts these results are the first for; load those that had ended already
    but may take a late receipt. ``first`` keeps only the attempts ended here."""
    ending = [
        {
            "id": r.attempt_id,
            "ended_at": r.at,
            "outcome": r.outcome,
            "raw_result": r.raw[:255],
            "was_ended_at": None,  # only an attempt still open takes its first result
        }
        for r in first.values()
    ]
    attempts: dict[int, _Attempt] = {}
    for attempt_id, contact_id, campaign_id, position, number in store.end_attempts(
        session, ending
    ):
        result = first[attempt_id]
        attempts[attempt_id] = _Attempt(
            attempt_id,
            contact_id,
            campaign_id,
            position,
            number,
            result.at,
            result.outcome,
            result.raw[:255],
        )
    for attempt_id in set(first) - set(attempts):
        del first[attempt_id]
    store.update_attempts(
        session,
        [
            {"id": r.attempt_id, "external_id": r.external_id[:128]}
            for r in first.values()
            if r.external_id
        ],
    )
    late = [r.attempt_id for r in results if r.attempt_id not in attempts and r.outcome in LATE]
    for row in store.ended_attempts(session, late):
        attempts[row.id] = _Attempt(*row)  # columns in field order
    return attempts


def _decide(
    session: Session,
    attempt: _Attempt,
    contact: _Contact,
    result: Result,
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> bool:
    """The strategy's next step for a contact that was waiting for this result."""
    if not _waiting_for(contact, attempt, ContactState.SENT_TO_DIALER):
        return False
    rt = runtime(attempt.campaign_id)
    if rt is None:
        return False
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
        session, contact, decision, outcome=result.outcome, number=attempt.phone_number, now=now
    )
    return True


def _write(session: Session, contacts: Iterable[_Contact]) -> list[int]:
    """Only where the contact still waits as it was read: nothing else may have moved it
    meanwhile (its attempt is locked by this transaction; a late receipt races only the
    SMS-expiry sweep, and whichever commits first wins)."""
    stamp = utcnow()
    return store.update_contacts_guarded(
        session,
        [
            {
                "id": c.id,
                "state": c.state,
                "last_outcome": c.last_outcome,
                "closed_at": c.closed_at,
                "next_attempt_at": c.next_attempt_at,
                "next_position": c.next_position,
                "updated_at": stamp,
                "was_state": c.was[0],
                "was_last_attempt_id": c.was[1],
            }
            for c in contacts
        ],
    )


def _waiting_for(
    contact: Contact | _Contact, attempt: Attempt | _Attempt, state: ContactState
) -> bool:
    return contact.state is state and contact.last_attempt_id == attempt.id


def _late(
    session: Session,
    attempt: _Attempt,
    contact: _Contact,
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
            outbox.attempts_ended(session, [attempt.id], now=now)
            outbox.contacts_changed(session, [contact.id], now=now)
            changed += 1
    return changed
