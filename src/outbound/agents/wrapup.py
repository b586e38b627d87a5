"""The wrap-up limit and the agent form's values. Pure: no I/O, no clock of its own."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from outbound.agents.states import AgentState
from outbound.campaigns.types import AfterWrapUp

FormValue = str | int | float | bool | None


def wrap_up_ends(since: datetime, limit_seconds: int) -> datetime:
    return since + timedelta(seconds=limit_seconds)


def after_wrap_up(
    state: AgentState,
    *,
    since: datetime,
    limit_seconds: int,
    after: AfterWrapUp,
    now: datetime,
) -> AgentState | None:
    """Where an agent in wrap-up goes once the campaign's limit has passed (``None``: not
    yet, or the agent is not wrapping up)."""
    if state is not AgentState.WRAP_UP or now < wrap_up_ends(since, limit_seconds):
        return None
    return AgentState.READY if after is AfterWrapUp.READY else AgentState.NOT_READY


class FormProblem(ValueError):
    """A value the form refuses: ``field`` names it (``None``: the whole form)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_form(fields: list[dict[str, Any]], values: dict[str, Any]) -> dict[str, FormValue]:
    """The values of the campaign's agent form, checked against each field's type; the
    fields left out are ``None`` (a required one is refused). Unknown names are refused."""
    known = {f["name"]: f for f in fields}
    for name in values:
        if name not in known:
            raise FormProblem(name, f"the form has no field {name!r}")
    clean: dict[str, FormValue] = {}
    for name, spec in known.items():
        value = values.get(name)
        if value == "" and spec["type"] != "checkbox":
            value = None
        if value is None:
            if spec.get("required") and spec["type"] != "checkbox":
                raise FormProblem(name, f"{spec['label']} is required")
            clean[name] = False if spec["type"] == "checkbox" else None
            continue
        clean[name] = _typed(name, spec, value)
    return clean


def _typed(name: str, spec: dict[str, Any], value: Any) -> FormValue:
    kind = spec["type"]
    label = spec["label"]
    if kind == "checkbox":
        if not isinstance(value, bool):
            raise FormProblem(name, f"{label} is a checkbox: true or false")
        if spec.get("required") and not value:
            raise FormProblem(name, f"{label} must be ticked")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FormProblem(name, f"{label} is a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise FormProblem(name, f"{label} is a finite number")
        return value
    if not isinstance(value, str):
        raise FormProblem(name, f"{label} is text")
    if len(value) > 10_000 or "\x00" in value:
        raise FormProblem(name, f"{label}: at most 10,000 characters, no NUL")
    if kind == "date":
        try:
            if len(value) != 10:
                raise ValueError(value)
            date.fromisoformat(value)
        except ValueError:
            raise FormProblem(name, f"{label} is a date, YYYY-MM-DD") from None
    if kind == "select" and value not in spec["options"]:
        raise FormProblem(name, f"{label} is one of: {', '.join(spec['options'])}")
    return value
