"""The wrap-up limit and the agent form's checks, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from outbound.agents.states import AgentState
from outbound.agents.wrapup import FormProblem, after_wrap_up, check_form
from outbound.campaigns.types import AfterWrapUp

SINCE = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # any instant: only differences matter


@pytest.mark.parametrize("after", list(AfterWrapUp))
@pytest.mark.parametrize("limit", [0, 1, 45, 3600])
def test_wrap_up_ends_exactly_at_the_limit(after: AfterWrapUp, limit: int) -> None:
    expected = AgentState.READY if after is AfterWrapUp.READY else AgentState.NOT_READY
    just_before = SINCE + timedelta(seconds=limit) - timedelta(microseconds=1)
    at = SINCE + timedelta(seconds=limit)
    if limit:
        assert (
            after_wrap_up(
                AgentState.WRAP_UP, since=SINCE, limit_seconds=limit, after=after, now=just_before
            )
            is None
        )
    assert (
        after_wrap_up(AgentState.WRAP_UP, since=SINCE, limit_seconds=limit, after=after, now=at)
        is expected
    )


@pytest.mark.parametrize("state", [s for s in AgentState if s is not AgentState.WRAP_UP])
def test_only_wrap_up_ends(state: AgentState) -> None:
    late = SINCE + timedelta(days=1)
    assert (
        after_wrap_up(state, since=SINCE, limit_seconds=0, after=AfterWrapUp.READY, now=late)
        is None
    )


FORM = [
    {"name": "notes", "label": "Notes", "type": "textarea", "required": True, "options": []},
    {"name": "age", "label": "Age", "type": "number", "required": False, "options": []},
    {"name": "born", "label": "Born", "type": "date", "required": False, "options": []},
    {"name": "ok", "label": "Agreed", "type": "checkbox", "required": False, "options": []},
    {"name": "tier", "label": "Tier", "type": "select", "required": False, "options": ["a", "b"]},
]


def test_a_complete_form_is_kept_and_blanks_are_none() -> None:
    assert check_form(FORM, {"notes": "hi", "age": 3, "tier": "b", "born": "1990-02-28"}) == {
        "notes": "hi",
        "age": 3,
        "born": "1990-02-28",
        "ok": False,
        "tier": "b",
    }
    assert check_form(FORM, {"notes": "x", "age": "", "tier": ""})["age"] is None


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "notes"),
        ({"notes": ""}, "notes"),
        ({"notes": "x", "age": "3"}, "age"),
        ({"notes": "x", "age": True}, "age"),
        ({"notes": "x", "born": "28/02/1990"}, "born"),
        ({"notes": "x", "born": "19900228"}, "born"),
        ({"notes": "x", "ok": "yes"}, "ok"),
        ({"notes": "x", "tier": "c"}, "tier"),
        ({"notes": "x", "colour": "red"}, "colour"),
        ({"notes": 7}, "notes"),
    ],
)
def test_a_wrong_value_names_its_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(FormProblem) as refused:
        check_form(FORM, values)
    assert refused.value.field == field
