"""Bind forms whose field names are dotted paths (``rules.busy.action``) to a nested schema.

``FormState.bind`` handles flat forms. The strategy and schedule editors post rows and
tables; their inputs are named by the path of the value in the API's body, so pydantic's
and the services' error ``loc`` name the very input that holds the wrong value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from outbound.web import forms

M = TypeVar("M", bound=BaseModel)


def put(data: dict[str, Any], name: str, value: Any) -> None:
    """Set ``data["a"]["b"]`` for the name ``a.b`` (every level is a dict)."""
    *parents, last = name.split(".")
    node = data
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def convert(form: forms.FormState, fields: Mapping[str, forms.Converter]) -> dict[str, Any] | None:
    """The submitted values converted and nested; None (errors recorded) if one is unreadable."""
    data: dict[str, Any] = {}
    for name, converter in fields.items():
        raw = form.values.get(name)
        if raw is None and converter is not forms.checkbox:
            continue
        try:
            value = converter(raw)
        except ValueError as exc:
            form.add(name, str(exc))
            continue
        if value is not forms.OMIT:
            put(data, name, value)
    return data if form.ok else None


def validate(
    form: forms.FormState,
    schema: type[M],
    data: Mapping[str, Any],
    *,
    rename: Mapping[str, str] | None = None,
) -> M | None:
    """Validate ``data``; each error lands on its input (``rename`` maps a body path to it)."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            form.add(shown_name(forms.field_name(err.get("loc", ())), rename), message(err))
        return None


def shown_name(name: str, rename: Mapping[str, str] | None) -> str:
    """The input an error path belongs to: the longest renamed prefix, else the path itself."""
    if not rename:
        return name
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in rename:
            return ".".join([rename[head], *parts[cut:]])
    return name


def message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


def rename_errors(form: forms.FormState, rename: Mapping[str, str]) -> None:
    """Move errors a service raised on body paths onto the inputs that hold those values."""
    moved: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        moved.setdefault(shown_name(name, rename) if name else name, []).extend(messages)
    form.errors = moved


def keep_only(form: forms.FormState, shown: Iterable[str]) -> None:
    """Errors on inputs the form does not show go to its top, so no message is lost."""
    visible = set(shown)
    kept: dict[str, list[str]] = {}
    for name, messages in form.errors.items():
        kept.setdefault(name if name in visible else "", []).extend(messages)
    form.errors = kept
