"""Forms: bind submitted fields to the API's own schema, and show every error by its field.

A page never re-implements a rule. It converts the text a browser sends into the types the
API's pydantic schema expects (``integer``, ``checkbox``, ...), validates with that schema,
calls the same service as the API, and turns whatever refuses the input into messages keyed
by field name:

- a pydantic error's ``loc`` (``("max_concurrent_calls",)``, ``("windows", 0, "end")``),
- a service's ``Invalid(loc, msg)`` (``("body", "name")``: the ``body``/``query`` part drops),
- a ``Conflict`` carrying a ``loc`` (a taken name); one without goes to the form's top.

Field names are dotted: ``windows.0.end``. Templates show them with the macros of
``templates/_forms.html``, which put the message right under the field and mark the input
``aria-invalid``. The usual shape of a POST handler::

    form = FormState.submitted(data, FIELDS)          # raw values kept for re-display
    payload = form.bind(CampaignCreate, FIELDS)        # None if a field is wrong
    if payload is not None:
        with form.catching(session):                   # domain errors -> field errors
            campaign = service.create_campaign(session, payload, now=now_utc())
            return see_other(f"/campaigns/{campaign.id}")
    return render(request, "campaigns/form.html", {"form": form}, status_code=422)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from outbound.errors import Conflict, Invalid, NotFound

M = TypeVar("M", bound=BaseModel)
# A converter turns the submitted text (None: the field was not sent) into the value the
# schema expects; it raises ValueError with a message for the person filling the form.
Converter = Callable[[str | None], Any]
LOC_ROOTS = frozenset({"body", "query", "path", "form"})


class _Omit:
    """Returned by a converter to leave the field out (a PATCH keeps the current value)."""


OMIT = _Omit()


def text(raw: str | None) -> str:
    return (raw or "").strip()


def secret(raw: str | None) -> str:
    """Passwords and tokens: taken exactly as typed."""
    return raw or ""


def optional_text(raw: str | None) -> str | None:
    """Empty means "none" (e.g. no CRM id)."""
    return text(raw) or None


def integer(raw: str | None) -> int:
    value = text(raw)
    if not value:
        raise ValueError("enter a whole number")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None


def optional_integer(raw: str | None) -> int | None:
    return integer(raw) if text(raw) else None


def decimal(raw: str | None) -> float:
    value = text(raw)
    if not value:
        raise ValueError("enter a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a number")
    return number


def checkbox(raw: str | None) -> bool:
    """A checkbox sends its value when ticked and nothing at all when not."""
    return raw is not None


def choice(raw: str | None) -> str | None:
    """A select: the option's value, or None for the empty option."""
    return text(raw) or None


def field_name(loc: Sequence[str | int]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in LOC_ROOTS:
        parts = parts[1:]
    return ".".join(parts)


def _message(error: Mapping[str, Any]) -> str:
    msg = str(error.get("msg", "invalid value"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


@dataclass
class FormState:
    """What a form shows: the values as typed, and the errors by field (``""``: the form's)."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Element ids of several forms on one page must differ: each form gets its own prefix.
    prefix: str = "f"

    @classmethod
    def initial(cls, values: Mapping[str, Any] | None = None, *, prefix: str = "f") -> FormState:
        """A form before submission, filled from an object's fields (None shows as empty)."""
        shown = {k: _shown(v) for k, v in (values or {}).items()}
        return cls(values=shown, prefix=prefix)

    @classmethod
    def submitted(
        cls, data: FormData, fields: Mapping[str, Converter], *, prefix: str = "f"
    ) -> FormState:
        values = {k: v for k in fields if isinstance(v := data.get(k), str)}
        return cls(values=values, prefix=prefix)

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, name: str | None, message: str) -> None:
        self.errors.setdefault(name or "", []).append(message)

    def error(self, name: str) -> str:
        return "; ".join(self.errors.get(name, []))

    @property
    def general(self) -> list[str]:
        """Errors of the form as a whole, and of fields the form does not show."""
        return self.errors.get("", [])

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def checked(self, name: str) -> bool:
        return self.values.get(name) not in (None, "", "false", "False")

    def id(self, name: str) -> str:
        return f"{self.prefix}-{name.replace('.', '-')}"

    def bind(
        self, schema: type[M], fields: Mapping[str, Converter], *, shown: Sequence[str] = ()
    ) -> M | None:
        """Convert and validate; None (and errors recorded) if anything is wrong.

        ``shown`` lists the fields the template displays; an error on any other field is
        shown at the top of the form, so no message is ever lost.
        """
        data: dict[str, Any] = {}
        for name, convert in fields.items():
            raw = self.values.get(name)
            if raw is None and convert is not checkbox:
                continue
            try:
                value = convert(raw)
            except ValueError as exc:
                self.add(name, str(exc))
                continue
            if value is not OMIT:
                data[name] = value
        unreadable = set(self.errors)
        try:
            model = schema.model_validate(data)
        except ValidationError as exc:
            visible = set(shown) or set(fields)
            for err in exc.errors():
                name = field_name(err.get("loc", ()))
                top = name.split(".")[0]
                if top not in unreadable:  # its own message already says what is wrong
                    self.add(name if top in visible else None, _message(err))
            return None
        return model if self.ok else None

    def refuse(self, exc: Invalid | Conflict | NotFound) -> None:
        loc = getattr(exc, "loc", None)
        self.add(field_name(loc) if loc else None, exc.message)

    @contextmanager
    def catching(self, session: Session) -> Iterator[None]:
        """Run a service call; a refusal becomes a form error and its writes are undone."""
        try:
            yield
        except (Invalid, Conflict, NotFound) as exc:
            session.rollback()
            self.refuse(exc)


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    return str(getattr(value, "value", value))
