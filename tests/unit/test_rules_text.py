"""The strategy editor's rules in words say what the engine will do.

Each sentence is checked against ``decide`` (the engine's own step, a separate function
from the words): the attempt it names and the delay, or the state the contact closes in.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.contacts.states import LABELS, ContactState
from outbound.engine.decisions import Plan, PlanAttempt, decide
from outbound.strategies.outcomes import (
    CLOSE_ONLY_OUTCOMES,
    VOICE_RULE_OUTCOMES,
    Channel,
    Outcome,
    Rule,
    RuleAction,
)
from outbound.strategies.schemas import AttemptOut, RuleOut
from outbound.web.rules_text import changes, effect

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SAID = re.compile(r"attempt (\d+)(?: again)? (?:at once|after (\d+) min)")


@st.composite
def cases(draw: st.DrawFn) -> tuple[int, int, Outcome, RuleOut]:
    count = draw(st.integers(1, 4))
    position = draw(st.integers(1, count))
    outcome = draw(st.sampled_from(VOICE_RULE_OUTCOMES))
    actions = [RuleAction.CLOSE] if outcome in CLOSE_ONLY_OUTCOMES else list(RuleAction)
    action = draw(st.sampled_from(actions))
    delay = 0 if action is RuleAction.CLOSE else draw(st.integers(0, 500))
    target = draw(st.integers(1, count)) if action is RuleAction.GOTO else None
    return count, position, outcome, RuleOut(action=action, delay_minutes=delay, attempt=target)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_the_words_name_the_attempt_and_delay_or_the_closing_state(
    case: tuple[int, int, Outcome, RuleOut],
) -> None:
    count, position, outcome, rule = case
    rules = {outcome: Rule(rule.action, rule.delay_minutes, rule.attempt)}
    plan = Plan(
        tuple(
            PlanAttempt(p, Channel.VOICE, rules=rules if p == position else {})
            for p in range(1, count + 1)
        ),
        max_attempts=100,
    )
    decision = decide(plan, position=position, attempts_made=1, outcome=outcome, now=NOW)
    words = effect(outcome, rule, position=position, count=count)
    if decision.closed:
        assert words.startswith(f"close ({LABELS[decision.state]}"), (words, decision)
        return
    found = SAID.fullmatch(words)
    assert found is not None, words
    assert decision.state is ContactState.PENDING and decision.due_at is not None
    assert int(found.group(1)) == decision.next_position
    assert timedelta(minutes=int(found.group(2) or 0)) == decision.due_at - NOW


def _voice(position: int, rules: dict[Outcome, RuleOut]) -> AttemptOut:
    return AttemptOut(
        id=position,
        position=position,
        channel=Channel.VOICE,
        phone_slot=1,
        sms_template=None,
        sms_expiry_minutes=None,
        sms_mode=None,
        rules=rules,
    )


def test_only_what_differs_from_the_defaults_is_said() -> None:
    """Busy's default is the next attempt after 60 min; a goto to the next attempt with that
    delay is the same thing, and so is any delay on the last attempt, where "next" closes."""
    same = {
        Outcome.BUSY: RuleOut(action=RuleAction.NEXT, delay_minutes=60, attempt=None),
        Outcome.NO_ANSWER: RuleOut(action=RuleAction.GOTO, delay_minutes=60, attempt=2),
    }
    assert changes(_voice(1, same), 2) == []
    sooner = {Outcome.BUSY: RuleOut(action=RuleAction.NEXT, delay_minutes=5, attempt=None)}
    assert changes(_voice(1, sooner), 2) == ["Busy → attempt 2 after 5 min"]
    assert changes(_voice(2, sooner), 2) == []
    closing = {Outcome.BUSY: RuleOut(action=RuleAction.CLOSE, delay_minutes=0, attempt=None)}
    assert changes(_voice(2, closing), 2) == ["Busy → close (Not Connected)"]
