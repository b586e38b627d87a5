"""An attempt's rules in words, for the strategy editor.

Twelve rule rows per attempt hide the few that matter: the editor says what differs from
the defaults ("Busy → attempt 3 after 10 min") and, for an SMS attempt, what a reply, an
opt-out and the expiry do, with the full table behind a disclosure. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from outbound.contacts.states import LABELS as STATE_LABELS
from outbound.contacts.states import ContactState
from outbound.engine.decisions import CLOSE_STATE
from outbound.strategies.outcomes import (
    DEFAULT_RULES,
    LABELS,
    Channel,
    Outcome,
    RuleAction,
    SmsMode,
    rule_outcomes,
)
from outbound.strategies.schemas import AttemptOut, RuleOut


def _when(delay: int) -> str:
    return "at once" if delay == 0 else f"after {delay} min"


def effect(outcome: Outcome, rule: RuleOut, *, position: int, count: int) -> str:
    """What follows ``outcome`` at the attempt at ``position`` of ``count`` attempts."""
    closed = STATE_LABELS[CLOSE_STATE.get(outcome, ContactState.NOT_CONNECTED)]
    when = _when(rule.delay_minutes)
    if rule.action is RuleAction.CLOSE:
        return f"close ({closed})"
    if rule.action is RuleAction.RETRY:
        return f"attempt {position} again {when}"
    target = position + 1 if rule.action is RuleAction.NEXT else rule.attempt
    if target is None or target > count:
        return f"close ({STATE_LABELS[ContactState.RETRIES_COMPLETED]}: no attempt follows)"
    return f"attempt {target} {when}"


def _default(outcome: Outcome) -> RuleOut:
    base = DEFAULT_RULES[outcome]
    return RuleOut(action=base.action, delay_minutes=base.delay_minutes, attempt=None)


def changes(attempt: AttemptOut, count: int) -> list[str]:
    """The voice rules whose effect differs from the default's, outcomes with the same
    effect on one line: ``Busy, No answer → attempt 3 after 10 min``."""
    grouped: dict[str, list[str]] = {}
    for outcome in rule_outcomes(attempt.channel):
        rule = attempt.rules.get(outcome)
        if rule is None:
            continue
        said = effect(outcome, rule, position=attempt.position, count=count)
        if said == effect(outcome, _default(outcome), position=attempt.position, count=count):
            continue  # written differently, same effect (a goto to the next attempt)
        grouped.setdefault(said, []).append(LABELS[outcome])
    return [f"{', '.join(labels)} → {said}" for said, labels in grouped.items()]


def sms_sentences(attempt: AttemptOut, count: int, *, default_expiry: int) -> list[str]:
    """What happens after this SMS: the fixed rules (a reply, an opt-out) and this
    attempt's own (no reply within the expiry, not delivered)."""
    if attempt.channel is not Channel.SMS:
        return []
    rules: Mapping[Outcome, RuleOut] = attempt.rules

    def then(outcome: Outcome) -> str:
        rule = rules.get(outcome) or _default(outcome)
        return effect(outcome, rule, position=attempt.position, count=count)

    opt_out = (
        "A reply with an opt-out word (STOP, UNSUBSCRIBE…: see Settings) puts the number on "
        f"the DNC list and closes the contact as {STATE_LABELS[ContactState.DNC_LISTED]}."
    )
    if attempt.sms_mode is SmsMode.SEND_AND_CLOSE:
        closed = STATE_LABELS[ContactState.SMS_SENT_CLOSED]
        return [
            f"Once the gateway accepts it the contact closes as {closed}: no reply is awaited.",
            "A reply is still kept on the contact. " + opt_out,
            f"Refused by the gateway (SMS failed) → {then(Outcome.SMS_FAILED)}.",
        ]
    minutes = attempt.sms_expiry_minutes
    expiry = f"{minutes} min" if minutes else f"{default_expiry} min (the default setting)"
    responded = STATE_LABELS[ContactState.SMS_RESPONDED]
    return [
        f"A reply closes the contact as {responded}.",
        opt_out,
        f"No reply within {expiry} → {then(Outcome.SMS_EXPIRED)}.",
        f"Not accepted or not delivered (SMS failed) → {then(Outcome.SMS_FAILED)}.",
    ]


def said(attempts: list[AttemptOut], default_expiry: int) -> dict[int, dict[str, list[str]]]:
    """Each attempt's rules in words, by attempt id: ``changes`` (voice) and ``sms``."""
    count = len(attempts)
    return {
        a.id: {
            "changes": changes(a, count),
            "sms": sms_sentences(a, count, default_expiry=default_expiry),
        }
        for a in attempts
    }
