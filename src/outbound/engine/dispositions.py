"""An agent's disposition of a call, applied as the call's outcome: the engine's port for it.

The dialer recorded the call as ``connected`` at its answer (that closed the contact, or
moved it on); the agent knows better once the call is over: a wrong person, a callback, an
answering machine the detector missed, a request never to be called again. The disposition's
outcome replaces the attempt's, and the contact's strategy decides again from that outcome,
as if the dialer had reported it (same ``decide``, same ``apply_decision``), provided the
contact is still where this attempt left it. A "do not call" puts the number on the DNC list
whatever became of the contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from outbound.contacts.states import ContactState
from outbound.dnc.service import add_number
from outbound.engine import store
from outbound.engine.decisions import Decision, decide
from outbound.engine.runtime import load_running
from outbound.engine.transitions import apply_decision, close
from outbound.models import Attempt
from outbound.strategies.outcomes import Outcome
from outbound.webhooks import outbox

DNC_SOURCE = "agent"
# Where the answer of this attempt may have left its contact: closed as Connected, or still
# waiting (a disposition that comes before the dialer's answer was recorded).
LEFT_BY_ANSWER = frozenset({ContactState.CONNECTED, ContactState.SENT_TO_DIALER})


@dataclass(frozen=True)
class Disposed:
    attempt_id: int
    contact_state: ContactState | None  # None: the contact had moved on; it stays as it is
    listed: bool  # the number went on the DNC list


def record_disposition(
    session: Session,
    attempt: Attempt,
    *,
    code: str,
    outcome: Outcome,
    do_not_call: bool,
    form_values: dict[str, Any],
    callback_at: datetime | None,
    callback_agent_id: int | None = None,
    now: datetime,
) -> Disposed:
    """Record the disposition on the (locked) attempt and let the strategy apply it."""
    attempt.disposition = code
    attempt.form_values = form_values
    attempt.outcome = outcome
    if attempt.answered_at is None:
        attempt.answered_at = now
    contact = store.contacts_by_id(session, [attempt.contact_id]).get(attempt.contact_id)
    if do_not_call:
        add_number(
            session,
            attempt.phone_number,
            campaign_id=None,
            source=DNC_SOURCE,
            note=f"agent disposition on attempt {attempt.id}",
            now=now,
        )
    moved = None
    if (
        contact is not None
        and contact.last_attempt_id == attempt.id
        and contact.state in LEFT_BY_ANSWER
    ):
        if do_not_call:
            close(contact, ContactState.DNC_LISTED, now=now)
            contact.last_outcome = outcome.value
        else:
            decision = _decide(session, attempt, contact.attempt_count, outcome, callback_at, now)
            apply_decision(session, contact, decision, outcome=outcome, number=None, now=now)
            booked = callback_at is not None and contact.state is ContactState.PENDING
            # The callback as booked: personal when an agent is named (the dispatcher
            # keeps it for that agent through the campaign's grace time).
            contact.callback_at = contact.next_attempt_at if booked else None
            contact.callback_agent_id = callback_agent_id if booked else None
        contact.updated_at = now
        moved = contact.state
    session.flush()
    outbox.attempts_ended(session, [attempt.id], now=now)
    if moved is not None:
        outbox.contacts_changed(session, [attempt.contact_id], now=now)
    return Disposed(attempt.id, moved, do_not_call)


def _decide(
    session: Session,
    attempt: Attempt,
    attempts_made: int,
    outcome: Outcome,
    callback_at: datetime | None,
    now: datetime,
) -> Decision:
    """The campaign's strategy as the engine runs it (its plan, stopped campaign or not)."""
    (runtime,) = load_running(session, campaign_ids=[attempt.campaign_id])
    return decide(
        runtime.plan,
        position=attempt.strategy_position,
        attempts_made=attempts_made,
        outcome=outcome,
        now=now,
        callback_at=callback_at,
    )
