"""Results from channels, and inbound SMS, applied to attempts and contacts.

A result counts once: the attempt row is locked and a result for an attempt that already
took one (a duplicate, the end of an answered call, or one that arrives after the contact
went Dangling) changes no contact; the last two are kept on the attempt (``later``).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from outbound.channels.base import InboundSms, Result
from outbound.contacts.states import ContactState
from outbound.db.engine import Database
from outbound.dnc.optout import OptOutWords
from outbound.dnc.service import add_number
from outbound.engine import bulk, store
from outbound.engine.decisions import Decision, decide
from outbound.engine.later import record_later
from outbound.engine.runtime import CampaignRuntime
from outbound.engine.transitions import apply_decision
from outbound.metrics import series as metrics
from outbound.models import Attempt, Contact, SmsReply
from outbound.models._columns import utcnow
from outbound.strategies.outcomes import Outcome
from outbound.webhooks import outbox

log = logging.getLogger(__name__)
Runtimes = Callable[[int], CampaignRuntime | None]


LATE = (Outcome.SMS_DELIVERED, Outcome.SMS_FAILED)  # what may follow an ended attempt
# What a receipt never overwrites: the reply, or its absence, that decided the contact.
SETTLED = (Outcome.SMS_REPLY, Outcome.SMS_STOP, Outcome.SMS_EXPIRED)


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


# The database, not the result: unreachable, restarting, a deadlock or a busy SQLite file.
# Whatever meets one of these is offered again later, never dropped.
UNAVAILABLE = (OperationalError, InterfaceError)


@dataclass
class Applied:
    changed: int = 0  # contacts changed
    retry: list[Result] = field(default_factory=list)  # the database failed: offer them again
    failed: list[Result] = field(default_factory=list)  # unrecordable: logged, left to sweeps


def apply_results(
    db: Database,
    results: Sequence[Result],
    *,
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> Applied:
    """Record each result. Never loses one silently.

    An attempt's first result ends it in the same statement that locks it; the contacts'
    changes are made in memory (a batch may hold two results for one attempt: an SMS
    accepted, then delivered) and written in one guarded statement.

    A batch that fails is rolled back and applied again result by result, so one result
    that cannot be recorded (logged, its attempt left open for the dangling sweep) costs no
    other its outcome. Results that meet an unavailable database come back in ``retry``:
    applying a result again is harmless (an attempt takes only its first result).
    """
    if not results:
        return Applied()
    try:
        with db.transaction() as session:
            return Applied(_apply(session, results, runtime, now, default_sms_expiry))
    except UNAVAILABLE as exc:
        log.warning(
            "recording %d results failed, the database is unavailable: %s", len(results), exc
        )
        return Applied(retry=list(results))
    except Exception:
        if len(results) == 1:
            log.exception("the result for attempt %d cannot be recorded", results[0].attempt_id)
            return Applied(failed=list(results))
        log.exception("recording %d results failed; recording them one by one", len(results))
    applied = Applied()
    for i, result in enumerate(results):
        try:
            with db.transaction() as session:
                applied.changed += _apply(session, [result], runtime, now, default_sms_expiry)
        except UNAVAILABLE as exc:
            log.warning("the database became unavailable while recording results: %s", exc)
            applied.retry = list(results[i:])
            break
        except Exception:
            log.exception(
                "the result %s for attempt %d cannot be recorded; the attempt stays open until "
                "the dangling sweep closes it",
                result.outcome.value,
                result.attempt_id,
            )
            applied.failed.append(result)
    return applied


def _apply(
    session: Session,
    results: Sequence[Result],
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> int:
    if bulk.is_postgres(session) and _only_first(results):
        return _apply_first(session, results, runtime, now, default_sms_expiry)
    first: dict[int, Result] = {}
    for result in results:
        first.setdefault(result.attempt_id, result)
    attempts, contacts = _load(session, results, first)
    touched: dict[int, _Attempt] = {}
    decided: dict[int, _Contact] = {}
    released: Counter[int] = Counter()
    decisions: dict[tuple[int, int, int, Outcome], Decision | None] = {}
    for result in results:
        attempt = attempts.get(result.attempt_id)
        contact = contacts.get(attempt.contact_id) if attempt else None
        if attempt is None:
            continue
        if first.get(attempt.id) is result:  # this result ended the attempt
            released[attempt.campaign_id] += 1
            if contact is None or not _waiting_for(contact, attempt, ContactState.SENT_TO_DIALER):
                continue
            decision = _decision(
                decisions,
                attempt.campaign_id,
                attempt.strategy_position,
                contact.attempt_count,
                result,
                runtime,
                now,
                default_sms_expiry,
            )
            if decision is not None:
                apply_decision(
                    session,
                    contact,
                    decision,
                    outcome=result.outcome,
                    number=attempt.phone_number,
                    now=now,
                )
                decided[contact.id] = contact
            continue
        if contact is None:
            continue
        if result.outcome in LATE and attempt.outcome not in SETTLED:
            touched[attempt.id] = attempt
        if _late(session, attempt, contact, result, runtime, now):
            decided[contact.id] = contact
    store.update_attempts(
        session,
        [{"id": a.id, "outcome": a.outcome, "raw_result": a.raw_result} for a in touched.values()],
    )
    late = record_later(
        session, [r for r in results if first.get(r.attempt_id) is not r and r.outcome not in LATE]
    )
    changed = _write(session, decided.values())
    store.release_in_flight(session, released)
    # Webhooks (nothing when no subscription): the results first, then the states (a
    # receipt that only brings the last outcome up to date moves no contact).
    moved = {c.id for c in decided.values() if c.state is not c.was[0]}
    outbox.attempts_ended(session, [*first, *touched, *late], now=now)
    outbox.contacts_changed(session, [c for c in changed if c in moved], now=now)
    return len(changed)


def _only_first(results: Sequence[Result]) -> bool:
    """Each result is its attempt's only one in the batch, and none may follow an ended
    attempt (a delivery receipt): the common case of calls, which needs no contact read."""
    ids = {r.attempt_id for r in results}
    return len(ids) == len(results) and not any(r.outcome in LATE for r in results)


def _apply_first(
    session: Session,
    results: Sequence[Result],
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> int:
    """PostgreSQL, results that each end their attempt: two statements and no contact read.
    The decision needs only the attempt (its number is the contact's attempt count while the
    contact waits for it); the write applies where the contact still waits for it."""
    by_id = {r.attempt_id: r for r in results}
    ended = store.end_attempts_pg(session, _ending(results))
    ended_ids = {row[0] for row in ended}
    metrics.first_results(session, ((row[2], by_id[row[0]].outcome) for row in ended))
    late = record_later(session, [r for r in results if r.attempt_id not in ended_ids])
    cache: dict[tuple[int, int, int, Outcome], Decision | None] = {}
    released: Counter[int] = Counter()
    columns: dict[str, list[Any]] = {
        name: [] for name in ("id", "attempt", "number", "state", "outcome", "closed", "due")
    }
    columns["position"] = []
    stops: dict[int, str] = {}
    for attempt_id, contact_id, campaign_id, position, phone, number in ended:
        released[campaign_id] += 1
        result = by_id[attempt_id]
        decision = _decision(
            cache, campaign_id, position, number, result, runtime, now, default_sms_expiry
        )
        if decision is None:
            continue
        closed = decision.closed
        columns["id"].append(contact_id)
        columns["attempt"].append(attempt_id)
        columns["number"].append(number)
        columns["state"].append(decision.state.value)
        columns["outcome"].append(result.outcome.value)
        columns["closed"].append(now if closed else None)
        columns["due"].append(None if closed else decision.due_at)
        columns["position"].append(None if closed else decision.next_position)
        if decision.add_to_dnc:
            stops[contact_id] = phone
    changed = store.decide_waiting_pg(session, columns)
    for contact_id in sorted(changed & set(stops)):
        add_number(
            session,
            stops[contact_id],
            campaign_id=None,
            source="sms_stop",
            note="STOP reply",
            now=now,
        )
    store.release_in_flight(session, released)
    # Webhooks (nothing when no subscription): the results first, then the states.
    if outbox.enabled(session):
        outbox.attempts_ended(session, [*(row[0] for row in ended), *late], now=now)
        outbox.contacts_changed(session, sorted(changed), now=now)
    return len(changed)


def _ending(results: Sequence[Result]) -> dict[str, list[Any]]:
    """The columns that end attempts with these results (each its attempt's first; an
    answer stamps ``answered_at`` instead of ``ended_at``): the peer's id for the attempt
    (an SMSC message id) only when one of them has one."""
    columns: dict[str, list[Any]] = {
        "id": [r.attempt_id for r in results],
        # An answer records the outcome while the call goes on; its end comes later.
        "answered_at": [r.at if r.answered else None for r in results],
        "ended_at": [None if r.answered else r.at for r in results],
        "outcome": [r.outcome for r in results],
        "raw_result": [r.raw[:255] for r in results],
    }
    if any(r.abandoned for r in results):
        columns["abandoned_at"] = [r.at if r.abandoned else None for r in results]
    if any(r.amd_verdict for r in results):
        columns["amd_ms"] = [r.amd_ms for r in results]
        columns["amd_verdict"] = [r.amd_verdict for r in results]
    if any(r.external_id for r in results):
        columns["external_id"] = [r.external_id[:128] if r.external_id else None for r in results]
    return columns


def _decision(
    cache: dict[tuple[int, int, int, Outcome], Decision | None],
    campaign_id: int,
    position: int,
    attempts_made: int,
    result: Result,
    runtime: Runtimes,
    now: datetime,
    default_sms_expiry: int,
) -> Decision | None:
    """The strategy's next step for a contact that was waiting for this result; ``None``
    when its campaign is gone. Pure in its key (``now`` is the batch's): computed once per
    campaign, position, attempts made and outcome."""
    key = (campaign_id, position, attempts_made, result.outcome)
    if result.callback_at is None and key in cache:
        return cache[key]
    rt = runtime(campaign_id)
    decision = (
        None
        if rt is None
        else decide(
            rt.plan,
            position=position,
            attempts_made=attempts_made,
            outcome=result.outcome,
            now=now,
            callback_at=result.callback_at,
            default_sms_expiry_minutes=default_sms_expiry,
        )
    )
    if result.callback_at is None:
        cache[key] = decision
    return decision


def _load(
    session: Session, results: Sequence[Result], first: dict[int, Result]
) -> tuple[dict[int, _Attempt], dict[int, _Contact]]:
    """End the attempts these results are the first for, and read their contacts; load
    those that had ended already but may take a late receipt. ``first`` keeps only the
    attempts ended here."""
    ended, contact_rows = store.end_attempts_reading_contacts(
        session, _ending(list(first.values()))
    )
    attempts: dict[int, _Attempt] = {}
    for attempt_id, contact_id, campaign_id, position, number in ended:
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
    metrics.first_results(session, ((attempts[a].campaign_id, r.outcome) for a, r in first.items()))
    late = [r.attempt_id for r in results if r.attempt_id not in attempts and r.outcome in LATE]
    for row in store.ended_attempts(session, late):
        attempts[row.id] = _Attempt(*row)  # columns in field order
    missing = {a.contact_id for a in attempts.values()} - set(contact_rows)
    for row in store.result_contacts(session, sorted(missing)):
        contact_rows[row.id] = row
    contacts = {
        contact_id: _Contact(row[0], ContactState(row[1]), *row[2:])  # columns in field order
        for contact_id, row in contact_rows.items()
    }
    return attempts, contacts


def _write(session: Session, contacts: Iterable[_Contact]) -> list[int]:
    """Only where the contact still waits as it was read: nothing else may have moved it
    meanwhile (its attempt is locked by this transaction; a late receipt races only the
    SMS-expiry sweep, and whichever commits first wins)."""
    rows = list(contacts)
    if not rows:
        return []
    return store.update_contacts_guarded(
        session,
        {
            "id": [c.id for c in rows],
            "state": [c.state for c in rows],
            "last_outcome": [c.last_outcome for c in rows],
            "closed_at": [c.closed_at for c in rows],
            "next_attempt_at": [c.next_attempt_at for c in rows],
            "next_position": [c.next_position for c in rows],
            "updated_at": [utcnow()] * len(rows),
            "was_state": [c.was[0] for c in rows],
            "was_last_attempt_id": [c.was[1] for c in rows],
        },
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
    """A delivery receipt after the submit was accepted; a failure re-opens the strategy.
    One after the reply or the expiry that decided the contact changes nothing.

    The receipt becomes the attempt's outcome, so it becomes the contact's last outcome too
    when this is the contact's last attempt: the contact and the reports (which count the
    attempts' outcomes) say the same."""
    if result.outcome not in LATE or attempt.outcome in SETTLED:
        return 0
    attempt.outcome = result.outcome
    attempt.raw_result = result.raw[:255]
    if result.outcome is Outcome.SMS_DELIVERED or not _waiting_for(
        contact, attempt, ContactState.SMS_SENT
    ):
        return _follow(contact, attempt)
    rt = runtime(attempt.campaign_id)
    if rt is None:
        return _follow(contact, attempt)
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


def _follow(contact: _Contact, attempt: _Attempt) -> int:
    """The contact's last outcome follows its last attempt's; 1 when that changed it."""
    if contact.last_attempt_id != attempt.id or attempt.outcome is None:
        return 0
    if contact.last_outcome == attempt.outcome.value:
        return 0
    contact.last_outcome = attempt.outcome.value
    return 1


def apply_inbound(
    db: Database,
    messages: Sequence[InboundSms],
    *,
    runtime: Runtimes,
    now: datetime,
    opt_out: OptOutWords | None = None,
) -> list[InboundSms]:
    """Customer replies: an opt-out (``opt_out``, the setting's words; the default list
    when not given) puts the number on the global DNC list; a reply closes the contact
    that waits for it. Every reply to a known number is kept on its contact, a late one too.

    Each message in its own transaction; returns those to offer again (the database was
    unavailable). One that cannot be recorded otherwise is logged and skipped."""
    words = opt_out if opt_out is not None else OptOutWords()
    for i, message in enumerate(messages):
        try:
            _inbound(db, message, runtime=runtime, now=now, opt_out=words)
        except UNAVAILABLE as exc:
            log.warning("the database is unavailable to record inbound messages: %s", exc)
            return list(messages[i:])
        except Exception:
            log.exception("the message from %s cannot be recorded", message.number)
    return []


def _inbound(
    db: Database, message: InboundSms, *, runtime: Runtimes, now: datetime, opt_out: OptOutWords
) -> None:
    """An opt-out is honoured whenever it comes, even after the SMS expired. The reply
    decides only for a contact still waiting for the SMS it answers (the newest one to that
    number); otherwise (after the expiry, a second reply) it is kept, marked late, and the
    contact stays as it is: its strategy has moved on, and a listed number is stopped at the
    gate before any further attempt."""
    with db.transaction() as session:
        stop = opt_out.matches(message.text)
        if stop:
            add_number(
                session,
                message.number,
                campaign_id=None,
                source="sms_stop",
                note=f"opt-out reply: {message.text}",
                now=now,
            )
        attempt = store.latest_sms_attempt(session, message.number)
        if attempt is None:
            log.info("a reply from %s matches no SMS sent", message.number)
            return
        contact = store.contacts_by_id(session, [attempt.contact_id])[attempt.contact_id]
        rt = runtime(attempt.campaign_id)
        waiting = rt is not None and _waiting_for(contact, attempt, ContactState.SMS_SENT)
        session.add(
            SmsReply(
                contact_id=contact.id,
                attempt_id=attempt.id,
                phone_number=message.number,
                text=message.text,
                received_at=message.at,
                opt_out=stop,
                late=not waiting,
            )
        )
        if rt is None or not waiting:
            return
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
