"""The strategy decision function: each rule kind, the cap, and properties over random plans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.contacts.states import ContactState
from outbound.engine.decisions import Decision, Plan, PlanAttempt, decide, number_for
from outbound.strategies.outcomes import (
    SMS_RULE_OUTCOMES,
    VOICE_RULE_OUTCOMES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
    SmsMode,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
VOICE = PlanAttempt(1, Channel.VOICE)
SMS_AFTER_BUSY = Plan(
    (
        PlanAttempt(1, Channel.VOICE, rules={Outcome.BUSY: Rule(RuleAction.GOTO, 5, 3)}),
        PlanAttempt(2, Channel.VOICE, phone_slot=2),
        PlanAttempt(3, Channel.SMS, sms_expiry_minutes=120),
    ),
    max_attempts=10,
)


def test_cisco_default_delays_apply_without_rules() -> None:
    plan = Plan((VOICE, PlanAttempt(2, Channel.VOICE)), max_attempts=5)
    busy = decide(plan, position=1, attempts_made=1, outcome=Outcome.BUSY, now=NOW)
    assert busy == Decision(ContactState.PENDING, 2, NOW + timedelta(minutes=60))
    abandoned = decide(
        plan, position=1, attempts_made=1, outcome=Outcome.CUSTOMER_ABANDONED, now=NOW
    )
    assert abandoned.due_at == NOW + timedelta(minutes=30)


def test_voice_switches_to_sms_and_sms_waits_for_its_expiry() -> None:
    busy = decide(SMS_AFTER_BUSY, position=1, attempts_made=1, outcome=Outcome.BUSY, now=NOW)
    assert (busy.next_position, busy.due_at) == (3, NOW + timedelta(minutes=5))
    sent = decide(
        SMS_AFTER_BUSY, position=3, attempts_made=2, outcome=Outcome.SMS_ACCEPTED, now=NOW
    )
    assert sent == Decision(ContactState.SMS_SENT, 3, NOW + timedelta(minutes=120))
    expired = decide(
        SMS_AFTER_BUSY, position=3, attempts_made=2, outcome=Outcome.SMS_EXPIRED, now=NOW
    )
    assert expired.state is ContactState.RETRIES_COMPLETED  # no attempt after the last


def test_final_states() -> None:
    plan = Plan((PlanAttempt(1, Channel.SMS, sms_mode=SmsMode.SEND_AND_CLOSE),), 3)
    cases = {
        Outcome.CONNECTED: ContactState.CONNECTED,
        Outcome.SMS_REPLY: ContactState.SMS_RESPONDED,
        Outcome.SMS_STOP: ContactState.DNC_LISTED,
        Outcome.SMS_ACCEPTED: ContactState.SMS_SENT_CLOSED,
        Outcome.SMS_FAILED: ContactState.NOT_CONNECTED,
    }
    for outcome, state in cases.items():
        decision = decide(plan, position=1, attempts_made=1, outcome=outcome, now=NOW)
        assert decision.state is state and decision.closed, outcome
    assert decide(plan, position=1, attempts_made=1, outcome=Outcome.SMS_STOP, now=NOW).add_to_dnc


def test_callback_uses_the_requested_time() -> None:
    plan = Plan((VOICE,), max_attempts=3)
    later = NOW + timedelta(hours=26)
    decision = decide(
        plan,
        position=1,
        attempts_made=1,
        outcome=Outcome.CALLBACK_REQUESTED,
        now=NOW,
        callback_at=later,
    )
    assert (decision.state, decision.next_position, decision.due_at) == (
        ContactState.PENDING,
        1,
        later,
    )


def test_the_cap_closes_even_a_retry_loop() -> None:
    plan = Plan((PlanAttempt(1, Channel.VOICE, rules={Outcome.BUSY: Rule(RuleAction.RETRY)}),), 3)
    assert (
        decide(plan, position=1, attempts_made=2, outcome=Outcome.BUSY, now=NOW).next_position == 1
    )
    capped = decide(plan, position=1, attempts_made=3, outcome=Outcome.BUSY, now=NOW)
    assert capped.state is ContactState.RETRIES_COMPLETED


def test_an_empty_phone_slot_falls_back_to_phone_1() -> None:
    phones = ("+14155550100", None, "+14155550102", None, None)
    assert number_for(phones, 2) == (1, "+14155550100")
    assert number_for(phones, 3) == (3, "+14155550102")


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    size = draw(st.integers(1, 6))
    attempts = []
    for position in range(1, size + 1):
        channel = draw(st.sampled_from(list(Channel)))
        outcomes = VOICE_RULE_OUTCOMES if channel is Channel.VOICE else SMS_RULE_OUTCOMES
        rules = {}
        for outcome in draw(st.lists(st.sampled_from(outcomes), unique=True)):
            action = draw(st.sampled_from(list(RuleAction)))
            target = draw(st.integers(1, size)) if action is RuleAction.GOTO else None
            rules[outcome] = Rule(action, draw(st.integers(0, 600)), target)
        attempts.append(PlanAttempt(position, channel, rules=rules))
    return Plan(tuple(attempts), draw(st.integers(1, 12)))


@settings(max_examples=300, deadline=None)
@given(plan=plans(), outcomes=st.lists(st.sampled_from(list(Outcome)), min_size=1, max_size=40))
def test_walking_any_plan_never_exceeds_the_cap_and_states_stay_legal(
    plan: Plan, outcomes: list[Outcome]
) -> None:
    position, made, now = 1, 0, NOW
    for outcome in outcomes:
        made += 1
        decision = decide(plan, position=position, attempts_made=made, outcome=outcome, now=now)
        assert decision.state in ContactState
        assert made <= plan.max_attempts
        if decision.closed:
            assert decision.next_position is None
            return
        assert decision.next_position is not None and plan.at(decision.next_position)
        assert decision.due_at is not None and decision.due_at >= now
        if decision.state is ContactState.PENDING:
            position = decision.next_position
            now = decision.due_at
        else:  # SMS sent: the same attempt waits for its reply; it was not a new attempt
            made -= 1
    assert made <= plan.max_attempts
