"""What happens to a contact after an outcome: the strategy as a pure function.

``decide(plan, position=…, attempts_made=…, outcome=…, now=…)`` returns the contact's next
state and, when another attempt follows, which attempt and when. No I/O, no clock of its
own, so every property (the cap holds, states are legal) can be checked exhaustively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from outbound.contacts.states import ContactState
from outbound.strategies.outcomes import (
    DEFAULT_RULES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
    SmsMode,
)


@dataclass(frozen=True, slots=True)
class PlanAttempt:
    position: int
    channel: Channel
    phone_slot: int = 1
    sms_mode: SmsMode = SmsMode.AWAIT_REPLY
    sms_expiry_minutes: int | None = None
    sms_template: str | None = None
    rules: Mapping[Outcome, Rule] = field(default_factory=dict)

    def rule(self, outcome: Outcome) -> Rule:
        return self.rules.get(outcome) or DEFAULT_RULES.get(outcome) or Rule(RuleAction.CLOSE)


@dataclass(frozen=True, slots=True)
class Plan:
    attempts: tuple[PlanAttempt, ...]
    max_attempts: int

    def at(self, position: int) -> PlanAttempt | None:
        if 1 <= position <= len(self.attempts):
            return self.attempts[position - 1]
        return None


@dataclass(frozen=True, slots=True)
class Decision:
    state: ContactState
    next_position: int | None = None  # the attempt to make next, when the contact stays open
    due_at: datetime | None = None  # when that attempt (or the SMS expiry) is due
    add_to_dnc: bool = False

    @property
    def closed(self) -> bool:
        return self.state not in (ContactState.PENDING, ContactState.SMS_SENT)


CLOSE_STATE = {
    Outcome.CONNECTED: ContactState.CONNECTED,
    Outcome.SMS_REPLY: ContactState.SMS_RESPONDED,
    Outcome.SMS_EXPIRED: ContactState.SMS_SENT_CLOSED,
}


def decide(
    plan: Plan,
    *,
    position: int,
    attempts_made: int,
    outcome: Outcome,
    now: datetime,
    callback_at: datetime | None = None,
    default_sms_expiry_minutes: int = 1440,
) -> Decision:
    """The next step after ``outcome`` of the attempt at ``position``.

    ``attempts_made`` counts this attempt: the cap (``plan.max_attempts``) is never
    exceeded, whatever the rules say.
    """
    attempt = plan.at(position)
    if outcome is Outcome.SMS_STOP:
        return Decision(ContactState.DNC_LISTED, add_to_dnc=True)
    if outcome in (Outcome.CONNECTED, Outcome.SMS_REPLY):
        return Decision(CLOSE_STATE[outcome])
    if outcome in (Outcome.SMS_ACCEPTED, Outcome.SMS_DELIVERED):
        if attempt is not None and attempt.sms_mode is SmsMode.SEND_AND_CLOSE:
            return Decision(ContactState.SMS_SENT_CLOSED)
        expiry = (attempt.sms_expiry_minutes if attempt else None) or default_sms_expiry_minutes
        return Decision(
            ContactState.SMS_SENT, next_position=position, due_at=now + timedelta(minutes=expiry)
        )
    if attempt is None:  # the strategy changed under the contact: nothing left to do
        return Decision(ContactState.RETRIES_COMPLETED)
    rule = attempt.rule(outcome)
    target = _target(plan, position, rule)
    if rule.action is RuleAction.CLOSE:
        return Decision(CLOSE_STATE.get(outcome, ContactState.NOT_CONNECTED))
    if target is None or attempts_made >= plan.max_attempts:
        return Decision(ContactState.RETRIES_COMPLETED)
    due = now + timedelta(minutes=rule.delay_minutes)
    if outcome is Outcome.CALLBACK_REQUESTED and callback_at is not None:
        due = max(callback_at, now)
    return Decision(ContactState.PENDING, next_position=target, due_at=due)


def _target(plan: Plan, position: int, rule: Rule) -> int | None:
    if rule.action is RuleAction.NEXT:
        return position + 1 if plan.at(position + 1) else None
    if rule.action is RuleAction.RETRY:
        return position
    if rule.action is RuleAction.GOTO:
        target = rule.target_position
        return target if target is not None and plan.at(target) else None
    return None


def number_for(phones_e164: Sequence[str | None], slot: int) -> tuple[int, str]:
    """The (slot, number) an attempt dials: its phone slot, or Phone 1 when that is empty."""
    if 1 <= slot <= len(phones_e164) and phones_e164[slot - 1]:
        number = phones_e164[slot - 1]
        assert number is not None
        return slot, number
    first = phones_e164[0]
    assert first is not None, "Phone 1 is required"
    return 1, first
