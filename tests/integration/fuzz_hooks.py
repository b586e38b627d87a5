"""Schemathesis hooks for the API fuzz run (loaded through SCHEMATHESIS_HOOKS).

The document marks phone fields ``format: phone``: characters and length are in its pattern,
but whether a number exists for its region is libphonenumber's metadata, which no pattern can
carry. Valid data for that format is drawn here from libphonenumber's own example numbers
(an independent oracle: the product's rules are not consulted).
"""

from __future__ import annotations

import itertools

import phonenumbers
import schemathesis
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

REGIONS = ("US", "GB", "FR", "DE", "AU", "JP", "BR", "IN")


def _examples() -> list[str]:
    numbers = []
    for region in REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, PhoneNumberFormat.E164))
                numbers.append(phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL))
    return numbers


schemathesis.openapi.format("phone", st.sampled_from(_examples()))


# Rules across several values of one body, which JSON Schema cannot state (uniqueness of one
# property among list items, order of two times): generated bodies breaking them are not
# "schema-valid data the server must take", so they are filtered out before sending. The
# server's own tests cover its refusals of them.
def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _windows_ok(windows: object) -> bool:
    if not isinstance(windows, list):
        return True
    by_day: dict[str, list[tuple[int, int]]] = {}
    for window in windows:
        try:
            start, end = _minutes(window["start"]), _minutes(window["end"])
        except (KeyError, TypeError, ValueError, AttributeError):
            return True  # not schema-shaped: the server refuses it by the schema
        if end <= start:
            return False
        by_day.setdefault(window.get("day"), []).append((start, end))
    for spans in by_day.values():
        spans.sort()
        if any(a[1] > b[0] for a, b in itertools.pairwise(spans)):
            return False
    return True


def _unique(values: list[object]) -> bool:
    return len(values) == len({repr(v) for v in values})


def _body_ok(body: object) -> bool:
    if not isinstance(body, dict):
        return True
    blackouts = body.get("blackouts")
    if isinstance(blackouts, list) and not _unique(
        [b.get("date") for b in blackouts if isinstance(b, dict)]
    ):
        return False
    form = body.get("agent_form")
    if isinstance(form, list) and not _unique([f.get("name") for f in form if isinstance(f, dict)]):
        return False
    dispositions = body.get("dispositions")
    if isinstance(dispositions, list) and not _unique(
        [d.get("code") for d in dispositions if isinstance(d, dict)]
    ):
        return False
    words = body.get("opt_out_words")
    if isinstance(words, list):
        cleaned = [" ".join(str(w).casefold().split()) for w in words]
        if not _unique(cleaned) or any(len(w) > 40 for w in cleaned):
            return False
    return _windows_ok(body.get("windows"))


@schemathesis.hook
def filter_body(ctx: object, body: object) -> bool:
    return _body_ok(body)


# The agent's event stream runs until ``max_seconds`` (default 300): far past the run's request
# timeout whenever the fuzzer has made itself an agent (POST /agents for its own user). Its
# length is no part of the contract under test; one second shows every frame it sends.
EVENTS_PATH = "/api/v1/agents/me/events"


@schemathesis.hook
def map_query(ctx: object, query: object) -> object:
    operation = getattr(ctx, "operation", None)
    if getattr(operation, "path", None) == EVENTS_PATH:
        return {**(query if isinstance(query, dict) else {}), "max_seconds": 1}
    return query
