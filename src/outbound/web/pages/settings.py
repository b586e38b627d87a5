"""Settings page: every user reads them, an administrator changes them.

The form is bound to the API's ``SettingsUpdate``; the channel options are JSON validated by
the channel registry (through ``settings.service``), and an error about a nested option
(``dialer.options.latency.connected``) is shown under the options box, naming its path.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from outbound.api.deps import DbSession
from outbound.channels.registry import DIALERS, SMS_GATEWAYS
from outbound.settings import service
from outbound.settings.schemas import (
    DialerTest,
    DialerTestResult,
    SettingsOut,
    SettingsUpdate,
)
from outbound.web import forms
from outbound.web.auth import AdminPost, Form, ViewerPage
from outbound.web.templating import render, see_other

router = APIRouter()

CHANNELS = ("dialer", "sms_gateway")
FIELDS: dict[str, forms.Converter] = {
    "feed_batch_size": forms.integer,
    "watch_folder": forms.optional_text,
    "archive_folder": forms.optional_text,
    "poll_interval_seconds": forms.integer,
    "dangling_timeout_minutes": forms.integer,
    "default_sms_expiry_minutes": forms.integer,
    "agent_heartbeat_seconds": forms.integer,
    "default_region": lambda raw: forms.text(raw).upper(),
    "opt_out_words": lambda raw: _nonblank_lines(raw)[1],
}
# What the page posts for each channel: its kind and its options as JSON text.
CHANNEL_INPUTS = tuple(f"{c}.{part}" for c in CHANNELS for part in ("kind", "options"))


def _json_object(raw: str | None) -> Any:
    return json.loads(raw or "")


def _nonblank_lines(raw: str | None) -> tuple[list[int], list[str]]:
    """The opt-out box, one entry a line: the entries and the line number of each."""
    found = [(n, line) for n, line in enumerate((raw or "").splitlines(), 1) if line.strip()]
    return [n for n, _ in found], [line.strip() for _, line in found]


def _fold_word_errors(form: forms.FormState) -> None:
    """An error about entry *i* of the opt-out words is shown under the box, by its line."""
    lines, _ = _nonblank_lines(form.value("opt_out_words"))
    for name in sorted(n for n in form.errors if n.startswith("opt_out_words.")):
        index = name.removeprefix("opt_out_words.")
        where = f"line {lines[int(index)]}" if index.isdigit() and int(index) < len(lines) else ""
        for message in form.errors.pop(name):
            form.add("opt_out_words", f"{where}: {message}" if where else message)


def _values(current: SettingsOut) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(current, name) for name in FIELDS}
    values["opt_out_words"] = "\n".join(current.opt_out_words)
    for channel in CHANNELS:
        connection = getattr(current, channel)
        values[f"{channel}.kind"] = connection.kind
        values[f"{channel}.options"] = json.dumps(connection.options, indent=2, sort_keys=True)
    return values


def _option_errors(form: forms.FormState, channel: str) -> list[tuple[str, str]]:
    """Errors about the options of a channel, each with the option's path."""
    root = f"{channel}.options"
    found = []
    for name, messages in form.errors.items():
        if name == root or name.startswith(root + "."):
            path = name[len(root) + 1 :]
            found += [(path, message) for message in messages]
    return found


def _page(
    request: Request,
    session: Session,
    form: forms.FormState,
    *,
    status_code: int = 200,
    tested: DialerTestResult | None = None,
) -> Response:
    current = service.get_settings(session)
    context = {
        "form": form,
        "current": current,
        "dialer_kinds": [(k, k) for k in sorted(DIALERS)],
        "sms_kinds": [(k, k) for k in sorted(SMS_GATEWAYS)],
        "option_errors": {c: _option_errors(form, c) for c in CHANNELS},
        "saved": request.query_params.get("saved"),
        "tested": tested,
    }
    return render(request, "settings/form.html", context, status_code=status_code)


@router.get("/settings")
def settings_page(request: Request, _caller: ViewerPage, session: DbSession) -> Response:
    # Secrets are shown masked; a save that sends the mask back keeps the stored one.
    form = forms.FormState.initial(_values(service.redacted(service.get_settings(session))))
    return _page(request, session, form)


@router.post("/settings/dialer/test")
def dialer_test_page(
    request: Request, _caller: AdminPost, data: Form, session: DbSession
) -> Response:
    """ "Test connection": the dialer as typed in the form (nothing saved), checked live."""
    form = forms.FormState.submitted(data, {**FIELDS, **dict.fromkeys(CHANNEL_INPUTS, forms.text)})
    raw = form.value("dialer.options").strip() or "{}"
    try:
        options = _json_object(raw)
    except ValueError as exc:
        form.add("dialer.options", f"not valid JSON: {exc}")
        return _page(request, session, form, status_code=422)
    if not isinstance(options, dict):
        form.add("dialer.options", 'write the options as a JSON object: {"name": value}')
        return _page(request, session, form, status_code=422)
    try:
        connection = DialerTest(kind=form.value("dialer.kind"), options=options)
    except ValidationError as exc:
        form.add("dialer.kind", exc.errors()[0]["msg"])
        return _page(request, session, form, status_code=422)
    result = service.check_dialer_connection(session, connection)
    return _page(request, session, form, tested=result)


@router.post("/settings")
def save(request: Request, _caller: AdminPost, data: Form, session: DbSession) -> Response:
    form = forms.FormState.submitted(data, {**FIELDS, **dict.fromkeys(CHANNEL_INPUTS, forms.text)})
    # Each channel goes to the schema as one object {kind, options}; unreadable JSON is an
    # error on the options box, and that channel is left out of the update.
    converters: dict[str, forms.Converter] = dict(FIELDS)
    for channel in CHANNELS:
        raw = form.value(f"{channel}.options").strip() or "{}"
        try:
            options = _json_object(raw)
        except ValueError as exc:
            form.add(f"{channel}.options", f"not valid JSON: {exc}")
            continue
        if not isinstance(options, dict):
            form.add(f"{channel}.options", 'write the options as a JSON object: {"name": value}')
            continue
        connection = {"kind": form.value(f"{channel}.kind"), "options": options}
        form.values[channel] = json.dumps(connection)
        converters[channel] = _json_object
    payload = form.bind(SettingsUpdate, converters)
    if payload is not None:
        with form.catching(session):
            service.update_settings(session, payload)
            return see_other(request, "/settings?saved=1")
    _fold_word_errors(form)
    return _page(request, session, form, status_code=422)
