"""Read and change settings; stored one JSON value per key, defaults filled in on read."""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outbound.channels.registry import (
    InvalidOptions,
    probe_dialer,
    validate_dialer_options,
    validate_sms_gateway_options,
)
from outbound.dnc.optout import duplicates
from outbound.errors import Invalid
from outbound.logs.redact import remember
from outbound.models import Setting
from outbound.settings.schemas import (
    MASK,
    SECRET_OPTIONS,
    ConnectionCheck,
    DialerTest,
    DialerTestResult,
    SettingsOut,
    SettingsUpdate,
)

NULLABLE = frozenset({"watch_folder", "archive_folder"})
CONNECTIONS = ("dialer", "sms_gateway")


def redacted(settings: SettingsOut) -> SettingsOut:
    """The settings as the API shows them: secret channel options masked."""
    shown = settings.model_copy(deep=True)
    for key in CONNECTIONS:
        options = getattr(shown, key).options
        for name in SECRET_OPTIONS & options.keys():
            if options[name]:
                options[name] = MASK
    return shown


def _unmask(current: SettingsOut, key: str, connection: dict[str, Any]) -> None:
    """A masked secret sent back means the stored one, for the same kind of channel."""
    stored = getattr(current, key)
    options = connection["options"]
    for name in sorted(SECRET_OPTIONS & options.keys()):
        if options[name] != MASK:
            continue
        if stored.kind != connection["kind"] or name not in stored.options:
            raise Invalid(("body", key, "options", name), f"give the {name}, not the mask")
        options[name] = stored.options[name]


def get_settings(session: Session) -> SettingsOut:
    stored = {row.key: row.value for row in session.scalars(select(Setting))}
    known = {k: v for k, v in stored.items() if k in SettingsOut.model_fields}
    settings = SettingsOut.model_validate(known)
    remember(  # never in a log line, whatever logs them
        getattr(settings, key).options.get(name) for key in CONNECTIONS for name in SECRET_OPTIONS
    )
    return settings


def update_settings(session: Session, patch: SettingsUpdate) -> SettingsOut:
    changes: dict[str, Any] = {}
    for key in patch.model_fields_set:
        value = getattr(patch, key)
        if value is None and key not in NULLABLE:
            raise Invalid(("body", key), f"{key} cannot be null")
        changes[key] = value.model_dump() if hasattr(value, "model_dump") else value
    repeated = duplicates(changes.get("opt_out_words") or [])
    if repeated:  # the same word twice ("opt out" and "Opt-Out"): name the first repeat
        index, message = repeated[0]
        raise Invalid(("body", "opt_out_words", index), message)
    current = get_settings(session)
    for key, validate in (
        ("dialer", validate_dialer_options),
        ("sms_gateway", validate_sms_gateway_options),
    ):
        if key in changes:
            connection = changes[key]
            _unmask(current, key, connection)
            try:
                connection["options"] = validate(connection["kind"], connection["options"])
            except InvalidOptions as exc:
                loc, message = exc.problems[0] if exc.problems else ((), str(exc))
                raise Invalid(("body", key, "options", *loc), message) from None
    merged = current.model_dump() | changes
    watch, archive = merged["watch_folder"], merged["archive_folder"]
    if watch and archive and _nested(watch, archive):
        raise Invalid(
            ("body", "archive_folder"),
            "the archive folder and the watched folder must not be the same or inside each other",
        )
    for key, value in changes.items():
        row = session.get(Setting, key)
        if row is None:
            session.add(Setting(key=key, value=value))
        else:
            row.value = value
    session.flush()
    return SettingsOut.model_validate(merged)


def _nested(first: str, second: str) -> bool:
    a, b = PurePosixPath(os.path.normpath(first)), PurePosixPath(os.path.normpath(second))
    return a == b or a in b.parents or b in a.parents


def check_dialer_connection(session: Session, connection: DialerTest | None) -> DialerTestResult:
    """Try the given dialer (a masked secret means the stored one), or the stored one when
    none is given; nothing is saved. Options the kind refuses fail the "options" check."""
    if connection is None:
        chosen = get_settings(session).dialer.model_dump()
    else:
        chosen = connection.model_dump()
        try:
            _unmask(get_settings(session), "dialer", chosen)
        except Invalid as exc:
            return _failed(chosen["kind"], str(exc))
    try:
        checks = probe_dialer(chosen["kind"], chosen["options"])
    except InvalidOptions as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, loc)) or 'options'}: {msg}" for loc, msg in exc.problems
        )
        return _failed(chosen["kind"], problems or str(exc))
    found = [ConnectionCheck(name=n, ok=ok, detail=d) for n, ok, d in checks]
    return DialerTestResult(kind=chosen["kind"], ok=all(c.ok for c in found), checks=found)


def _failed(kind: str, detail: str) -> DialerTestResult:
    check = ConnectionCheck(name="options", ok=False, detail=detail[:500])
    return DialerTestResult(kind=kind, ok=False, checks=[check])
