"""Results that are not an attempt's first: the end of an answered call, and a result that
came after its attempt went Dangling.

Neither moves a contact. A call's outcome is recorded at its answer (the contact moves on
then); its end only completes the attempt. A result that arrives after the dangling timeout
closed the contact is kept on the attempt, so the attempt and the reports say what really
happened, and becomes the contact's last outcome when the attempt is its last (the contacts
page agrees with the reports), but the contact stays Dangling and is never dialled again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from outbound.channels.base import Result
from outbound.engine.store import among
from outbound.models import Attempt, Contact
from outbound.models._columns import utcnow


def record_later(session: Session, results: Sequence[Result]) -> list[int]:
    """Apply ``results`` (in order) to attempts that already took a first result; returns
    the attempts that took a late outcome (for the ``attempt.result`` webhook)."""
    if not results:
        return []
    attempts = _candidates(session, [r.attempt_id for r in results])
    late: list[int] = []
    for result in results:
        attempt = attempts.get(result.attempt_id)
        if attempt is None:
            continue
        if attempt.answered_at is not None and attempt.ended_at is None:
            if not result.answered:  # the answered call ended; its outcome stays
                attempt.ended_at = result.at
                attempt.raw_result = result.raw[:255]
        elif attempt.outcome is None and attempt.ended_at is not None:
            _keep_late(attempt, result)
            late.append(attempt.id)
    session.flush()
    _follow(session, [attempts[i] for i in late])
    return late


def _follow(session: Session, attempts: Sequence[Attempt]) -> None:
    """The late outcome becomes the last outcome of the contacts whose last attempt it is;
    their state stays."""
    stamp = utcnow()
    for attempt in attempts:
        assert attempt.outcome is not None
        session.execute(
            update(Contact)
            .where(Contact.id == attempt.contact_id, Contact.last_attempt_id == attempt.id)
            .values(last_outcome=attempt.outcome.value, updated_at=stamp)
            .execution_options(synchronize_session=False)
        )


def _candidates(session: Session, attempt_ids: Sequence[int]) -> dict[int, Attempt]:
    """Locked: answered calls still going on, and attempts ended without any outcome (gone
    Dangling, or ended when their worker died)."""
    query = (
        select(Attempt)
        .where(
            among(session, Attempt.id, sorted(set(attempt_ids))),
            or_(
                and_(Attempt.answered_at.is_not(None), Attempt.ended_at.is_(None)),
                and_(Attempt.outcome.is_(None), Attempt.ended_at.is_not(None)),
            ),
        )
        .order_by(Attempt.id)
        .with_for_update()
    )
    return {a.id: a for a in session.scalars(query)}


def _keep_late(attempt: Attempt, result: Result) -> None:
    """The outcome the dialer did report, after all; an answered call is in progress again
    (its end follows), another has ended when the result says."""
    attempt.outcome = result.outcome
    attempt.raw_result = result.raw[:255]
    if result.answered:
        attempt.answered_at = result.at
        attempt.ended_at = None
    else:
        attempt.ended_at = result.at
