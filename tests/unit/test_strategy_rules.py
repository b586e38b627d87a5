"""The pure checks behind a strategy attempt: rule materialisation and field validation."""

from __future__ import annotations

import pytest

from outbound.errors import Invalid
from outbound.strategies.outcomes import (
    DEFAULT_RULES,
    SMS_RULE_OUTCOMES,
    VOICE_RULE_OUTCOMES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
    SmsMode,
)
from outbound.strategies.rules import (
    MAX_DELAY_MINUTES,
    RuleSpec,
    check_attempt_fields,
    materialise,
    resolve_rules,
)

LOC = ("body", "attempts", 1)


def _invalid(
    channel: Channel, rules: dict[str, RuleSpec], *, positions: int = 3
) -> tuple[str | int, ...]:
    with pytest.raises(Invalid) as caught:
        resolve_rules(channel, rules, positions=positions, loc=LOC)
    assert caught.value.message
    return caught.value.loc


def test_no_rules_given_means_every_default_for_the_channel() -> None:
    voice = resolve_rules(Channel.VOICE, {}, positions=1)
    sms = resolve_rules(Channel.SMS, {}, positions=1)
    assert tuple(voice) == VOICE_RULE_OUTCOMES
    assert tuple(sms) == SMS_RULE_OUTCOMES
    assert voice[Outcome.BUSY] == Rule(RuleAction.NEXT, 60)
    assert voice[Outcome.CUSTOMER_ABANDONED] == Rule(RuleAction.NEXT, 30)
    assert sms[Outcome.SMS_FAILED] == DEFAULT_RULES[Outcome.SMS_FAILED]


def test_given_outcomes_override_and_the_rest_stay_default() -> None:
    rules = resolve_rules(
        Channel.VOICE,
        {
            "busy": RuleSpec(RuleAction.GOTO, 5, attempt=2),
            "no_answer": RuleSpec(RuleAction.CLOSE),
        },
        positions=2,
    )
    assert rules[Outcome.BUSY] == Rule(RuleAction.GOTO, 5, 2)
    assert rules[Outcome.NO_ANSWER] == Rule(RuleAction.CLOSE, 0)
    assert rules[Outcome.ANSWERING_MACHINE] == DEFAULT_RULES[Outcome.ANSWERING_MACHINE]


def test_an_omitted_delay_keeps_the_current_one() -> None:
    base = {Outcome.BUSY: Rule(RuleAction.NEXT, 120)}
    rules = resolve_rules(
        Channel.VOICE, {"busy": RuleSpec(RuleAction.RETRY)}, positions=1, base=base
    )
    assert rules[Outcome.BUSY] == Rule(RuleAction.RETRY, 120)


def test_materialise_fills_defaults_and_drops_other_channels_outcomes() -> None:
    stored = {Outcome.SMS_FAILED: Rule(RuleAction.NEXT, 10), Outcome.BUSY: Rule(RuleAction.CLOSE)}
    rules = materialise(Channel.SMS, stored)
    assert rules == {
        Outcome.SMS_EXPIRED: DEFAULT_RULES[Outcome.SMS_EXPIRED],
        Outcome.SMS_FAILED: Rule(RuleAction.NEXT, 10),
    }


def test_unknown_outcome_is_named() -> None:
    assert _invalid(Channel.VOICE, {"ringing": RuleSpec(RuleAction.CLOSE)}) == (
        *LOC,
        "rules",
        "ringing",
    )


@pytest.mark.parametrize(
    ("channel", "outcome"),
    [(Channel.SMS, "busy"), (Channel.VOICE, "sms_expired"), (Channel.SMS, "sms_reply")],
)
def test_an_outcome_the_channel_does_not_take_is_refused(channel: Channel, outcome: str) -> None:
    assert _invalid(channel, {outcome: RuleSpec(RuleAction.CLOSE)}) == (*LOC, "rules", outcome)


@pytest.mark.parametrize("target", [0, 4, 99])
def test_goto_to_a_missing_position_is_refused(target: int) -> None:
    loc = _invalid(Channel.VOICE, {"busy": RuleSpec(RuleAction.GOTO, attempt=target)})
    assert loc == (*LOC, "rules", "busy", "attempt")


def test_goto_needs_a_target_and_only_goto_takes_one() -> None:
    missing = _invalid(Channel.VOICE, {"busy": RuleSpec(RuleAction.GOTO)})
    stray = _invalid(Channel.VOICE, {"busy": RuleSpec(RuleAction.NEXT, attempt=1)})
    assert missing == stray == (*LOC, "rules", "busy", "attempt")


def test_goto_with_no_attempts_at_all_is_refused() -> None:
    loc = _invalid(Channel.SMS, {"sms_failed": RuleSpec(RuleAction.GOTO, attempt=1)}, positions=0)
    assert loc == (*LOC, "rules", "sms_failed", "attempt")


@pytest.mark.parametrize("delay", [-1, MAX_DELAY_MINUTES + 1])
def test_delay_out_of_bounds_is_refused(delay: int) -> None:
    loc = _invalid(Channel.VOICE, {"busy": RuleSpec(RuleAction.NEXT, delay)})
    assert loc == (*LOC, "rules", "busy", "delay_minutes")


def test_delay_of_thirty_days_is_the_limit() -> None:
    rules = resolve_rules(
        Channel.VOICE, {"busy": RuleSpec(RuleAction.RETRY, MAX_DELAY_MINUTES)}, positions=1
    )
    assert rules[Outcome.BUSY].delay_minutes == MAX_DELAY_MINUTES


def test_close_takes_no_delay() -> None:
    loc = _invalid(Channel.VOICE, {"busy": RuleSpec(RuleAction.CLOSE, 10)})
    assert loc == (*LOC, "rules", "busy", "delay_minutes")


@pytest.mark.parametrize("action", [RuleAction.NEXT, RuleAction.RETRY])
def test_connected_may_only_close(action: RuleAction) -> None:
    loc = _invalid(Channel.VOICE, {"connected": RuleSpec(action)})
    assert loc == (*LOC, "rules", "connected", "action")


def _field_error(channel: Channel, **overrides: object) -> tuple[str | int, ...]:
    fields: dict[str, object] = {
        "phone_slot": 1,
        "sms_template": None,
        "sms_expiry_minutes": None,
        "sms_mode": None,
    }
    fields.update(overrides)
    with pytest.raises(Invalid) as caught:
        check_attempt_fields(channel, loc=LOC, **fields)  # type: ignore[arg-type]
    return caught.value.loc


@pytest.mark.parametrize("slot", [0, 6])
def test_phone_slot_must_be_one_to_five(slot: int) -> None:
    assert _field_error(Channel.VOICE, phone_slot=slot) == (*LOC, "phone_slot")


@pytest.mark.parametrize(
    ("field", "value"),
    [("sms_template", "Hi"), ("sms_expiry_minutes", 60), ("sms_mode", SmsMode.SEND_AND_CLOSE)],
)
def test_sms_fields_are_refused_on_a_voice_attempt(field: str, value: object) -> None:
    assert _field_error(Channel.VOICE, **{field: value}) == (*LOC, field)


@pytest.mark.parametrize("expiry", [0, 43_201])
def test_sms_expiry_bounds(expiry: int) -> None:
    assert _field_error(Channel.SMS, sms_expiry_minutes=expiry) == (*LOC, "sms_expiry_minutes")


def test_sms_template_length() -> None:
    assert _field_error(Channel.SMS, sms_template="x" * 1601) == (*LOC, "sms_template")
    check_attempt_fields(
        Channel.SMS,
        phone_slot=5,
        sms_template="x" * 1600,
        sms_expiry_minutes=43_200,
        sms_mode=SmsMode.SEND_AND_CLOSE,
    )
