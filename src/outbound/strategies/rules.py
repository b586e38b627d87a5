"""Pure checks for strategy attempts and their per-outcome rules (no I/O).

Goto targets are handled here as 1-based positions; the service turns them into attempt
ids before storing, so that re-ordering never changes which attempt a rule points at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from outbound.errors import Conflict, Invalid
from outbound.strategies.outcomes import (
    CLOSE_ONLY_OUTCOMES,
    DEFAULT_RULES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
    SmsMode,
    rule_outcomes,
)

MAX_DELAY_MINUTES = 30 * 24 * 60  # 30 days
MAX_SMS_EXPIRY_MINUTES = 43_200
MAX_SMS_TEMPLATE_CHARS = 1600
PHONE_SLOT_MAX = 5
MAX_STRATEGY_ATTEMPTS = 100

Loc = tuple[str | int, ...]


class RuleInput(Protocol):
    """One rule as a client writes it; ``delay_minutes``/``attempt`` may be left out."""

    @property
    def action(self) -> RuleAction: ...

    @property
    def delay_minutes(self) -> int | None: ...

    @property
    def attempt(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A plain ``RuleInput`` for callers that do not come through the API."""

    action: RuleAction
    delay_minutes: int | None = None
    attempt: int | None = None


def default_rules(channel: Channel) -> dict[Outcome, Rule]:
    return {outcome: DEFAULT_RULES[outcome] for outcome in rule_outcomes(channel)}


def materialise(channel: Channel, stored: Mapping[Outcome, Rule]) -> dict[Outcome, Rule]:
    """Every outcome the channel takes a rule for: the stored rule, else the default.

    Stored rules for outcomes the channel does not take (left over from a channel change)
    are dropped, so callers always see exactly the applicable set, in canonical order.
    """
    return {
        outcome: stored.get(outcome, DEFAULT_RULES[outcome]) for outcome in rule_outcomes(channel)
    }


def resolve_rules(
    channel: Channel,
    given: Mapping[str, RuleInput],
    *,
    positions: int,
    base: Mapping[Outcome, Rule] | None = None,
    loc: Loc = (),
    stored_channel: bool = False,
    stored_positions: bool = False,
) -> dict[Outcome, Rule]:
    """The complete rule set after applying a client's partial ``rules`` on top of ``base``.

    ``base`` is the attempt's current rules (defaults for a new attempt); ``positions`` is
    how many attempts a goto may name (targets 1..positions). Raises ``Invalid`` whose
    ``loc`` is ``loc + ("rules", <outcome>, <field>)``; where the channel or the positions
    come from the stored strategy (``stored_channel``, ``stored_positions``: a PATCH that
    keeps the channel, an attempt added to a strategy), a body that clashes with them is a
    ``Conflict`` (409) with the same ``loc``: the body itself is fine.
    """
    resolved = materialise(channel, base or {})
    applicable = rule_outcomes(channel)
    for key, spec in given.items():
        outcome = _known_outcome(key, loc=(*loc, "rules", key))
        if outcome not in applicable:
            message = (
                f"{key!r} takes no rule on a {channel.value} attempt; a {channel.value} attempt "
                f"takes rules for: {', '.join(o.value for o in applicable)}"
            )
            raise _refusal((*loc, "rules", key), message, conflict=stored_channel)
        resolved[outcome] = resolve_rule(
            outcome,
            spec,
            base=resolved[outcome],
            positions=positions,
            loc=(*loc, "rules", key),
            stored_positions=stored_positions,
        )
    return resolved


def resolve_rule(
    outcome: Outcome,
    spec: RuleInput,
    *,
    base: Rule,
    positions: int,
    loc: Loc = (),
    stored_positions: bool = False,
) -> Rule:
    """One rule; an omitted delay keeps the outcome's current (or default) delay."""
    try:
        action = RuleAction(spec.action)
    except ValueError:
        known = ", ".join(a.value for a in RuleAction)
        raise Invalid((*loc, "action"), f"unknown action {spec.action!r}; known: {known}") from None
    if outcome in CLOSE_ONLY_OUTCOMES and action is not RuleAction.CLOSE:
        raise Invalid((*loc, "action"), f"{outcome.value!r} always closes the contact")
    delay = _delay(action, spec.delay_minutes, base=base, loc=(*loc, "delay_minutes"))
    if action is not RuleAction.GOTO:
        if spec.attempt is not None:
            raise Invalid(
                (*loc, "attempt"), f"'attempt' is only for the goto action, not {action.value!r}"
            )
        return Rule(action, delay)
    if spec.attempt is None:
        raise Invalid(
            (*loc, "attempt"), "goto needs 'attempt': the position of the attempt to go to"
        )
    if not 1 <= spec.attempt <= positions:
        where = f"there are {positions} attempts" if positions else "there are no attempts"
        message = f"goto names attempt {spec.attempt}, which does not exist: {where}"
        raise _refusal((*loc, "attempt"), message, conflict=stored_positions)
    return Rule(action, delay, spec.attempt)


def _refusal(loc: Loc, message: str, *, conflict: bool) -> Invalid | Conflict:
    """A 409 where the stored strategy is what the body clashes with, else a 422."""
    return Conflict(message, loc=loc) if conflict else Invalid(loc, message)


def _known_outcome(key: str, *, loc: Loc) -> Outcome:
    try:
        return Outcome(key)
    except ValueError:
        known = ", ".join(o.value for o in Outcome)
        raise Invalid(loc, f"unknown outcome {key!r}; known: {known}") from None


def _delay(action: RuleAction, given: int | None, *, base: Rule, loc: Loc) -> int:
    if action is RuleAction.CLOSE:
        if given:
            raise Invalid(loc, "close takes no delay: the contact is closed at once")
        return 0
    delay = base.delay_minutes if given is None else given
    if not 0 <= delay <= MAX_DELAY_MINUTES:
        raise Invalid(loc, f"the delay must be 0 to {MAX_DELAY_MINUTES} minutes (30 days)")
    return delay


def check_attempt_fields(
    channel: Channel,
    *,
    phone_slot: int,
    sms_template: str | None,
    sms_expiry_minutes: int | None,
    sms_mode: SmsMode | None,
    loc: Loc = (),
) -> None:
    """An attempt's own fields: a phone slot 1..5, and SMS fields only on an SMS attempt."""
    if not 1 <= phone_slot <= PHONE_SLOT_MAX:
        raise Invalid((*loc, "phone_slot"), f"the phone slot must be 1 to {PHONE_SLOT_MAX}")
    sms_fields: Sequence[tuple[str, object]] = (
        ("sms_template", sms_template),
        ("sms_expiry_minutes", sms_expiry_minutes),
        ("sms_mode", sms_mode),
    )
    if channel is Channel.VOICE:
        for name, value in sms_fields:
            if value is not None:
                raise Invalid((*loc, name), f"{name} applies to sms attempts only, not voice")
        return
    if sms_template is not None and not 1 <= len(sms_template) <= MAX_SMS_TEMPLATE_CHARS:
        raise Invalid(
            (*loc, "sms_template"),
            f"the SMS template must be 1 to {MAX_SMS_TEMPLATE_CHARS} characters",
        )
    if sms_expiry_minutes is not None and not 1 <= sms_expiry_minutes <= MAX_SMS_EXPIRY_MINUTES:
        raise Invalid(
            (*loc, "sms_expiry_minutes"),
            f"the SMS expiry must be 1 to {MAX_SMS_EXPIRY_MINUTES} minutes "
            "(null: the default setting)",
        )
