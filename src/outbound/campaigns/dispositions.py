"""Dispositions: how an agent ends a call, each mapped to an outcome the strategy knows.

A campaign keeps its own list (``Campaign.dispositions``); the agent picks one per call. The
disposition's outcome becomes the attempt's outcome and the contact's strategy applies it,
exactly as if the dialer had reported it. ``do_not_call`` is one more target: the person
answered (the attempt is ``connected``) and asked never to be called again, so the number goes
on the DNC list and the contact closes as DNC Listed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from outbound.api.schemas import NoNul, Strict
from outbound.strategies.outcomes import VOICE_RULE_OUTCOMES, Outcome


class DispositionOutcome(StrEnum):
    """The voice outcomes a strategy has rules for, and ``do_not_call``."""

    CONNECTED = "connected"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    ANSWERING_MACHINE = "answering_machine"
    CUSTOMER_ABANDONED = "customer_abandoned"
    DIALER_ABANDONED = "dialer_abandoned"
    INVALID_NUMBER = "invalid_number"
    NETWORK_ERROR = "network_error"
    DECLINED = "declined"
    FAX = "fax"
    WRONG_PERSON = "wrong_person"
    CALLBACK_REQUESTED = "callback_requested"
    DO_NOT_CALL = "do_not_call"


# Every voice rule outcome is a target (checked at import: the two lists cannot drift apart).
assert {o.value for o in VOICE_RULE_OUTCOMES} | {"do_not_call"} == {
    d.value for d in DispositionOutcome
}


def attempt_outcome(target: DispositionOutcome) -> Outcome:
    """What the attempt records: a do-not-call request came from a person who answered."""
    if target is DispositionOutcome.DO_NOT_CALL:
        return Outcome.CONNECTED
    return Outcome(target.value)


Code = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
    Field(description="Key stored on the attempt and sent in webhooks: a-z, 0-9, _"),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]


class Disposition(Strict):
    """One way to end a call: its key, what the agent reads, the outcome it stands for."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    label: Label
    outcome: DispositionOutcome


def _unique_codes(items: list[Disposition]) -> list[Disposition]:
    codes = [d.code for d in items]
    if len(set(codes)) != len(codes):
        raise ValueError("each disposition code at most once")
    return items


Dispositions = Annotated[
    list[Disposition],
    Field(
        min_length=1,
        max_length=50,
        description="How agents end this campaign's calls, each mapped to an outcome",
    ),
    AfterValidator(_unique_codes),
]

DEFAULTS: tuple[Disposition, ...] = (
    Disposition(code="completed", label="Completed", outcome=DispositionOutcome.CONNECTED),
    Disposition(
        code="not_interested", label="Not interested", outcome=DispositionOutcome.CONNECTED
    ),
    Disposition(code="wrong_person", label="Wrong person", outcome=DispositionOutcome.WRONG_PERSON),
    Disposition(
        code="callback",
        label="Callback requested",
        outcome=DispositionOutcome.CALLBACK_REQUESTED,
    ),
    Disposition(
        code="answering_machine",
        label="Answering machine",
        outcome=DispositionOutcome.ANSWERING_MACHINE,
    ),
    Disposition(code="do_not_call", label="Do not call", outcome=DispositionOutcome.DO_NOT_CALL),
)


def default_list() -> list[dict[str, Any]]:
    return [d.model_dump(mode="json") for d in DEFAULTS]


def parse(stored: list[dict[str, Any]]) -> list[Disposition]:
    return [Disposition.model_validate(d) for d in stored]


def find(stored: list[dict[str, Any]], code: str) -> Disposition | None:
    return next((d for d in parse(stored) if d.code == code), None)


# -- the campaign form's text: one disposition a line, "code | Label | outcome" ------------
def to_text(stored: list[dict[str, Any]]) -> str:
    return "\n".join(f"{d.code} | {d.label} | {d.outcome.value}" for d in parse(stored))


def from_text(text: str) -> list[dict[str, Any]]:
    """The lines as dicts for the schema to check; a line without two ``|`` is kept whole in
    ``code`` so that the schema names it."""
    items: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3:
            items.append({"code": line.strip(), "label": "", "outcome": ""})
            continue
        items.append({"code": parts[0], "label": parts[1], "outcome": parts[2]})
    return items
