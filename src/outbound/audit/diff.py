"""What changed between two snapshots of an audited object, secrets masked. Pure.

A snapshot is a JSON-ready dict (nested dicts; lists are compared whole). Fields are
named by their dotted path (``dialer.options.trunk``, ``attempts.2.rules.busy.action``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# A field whose last name is one of these is never written out, only whether it changed:
# the channel options the settings API masks (``password``, ``secret``), a webhook's
# signing secret, a user's password hash, a token's digest.
# The mask the settings API shows for a secret (``settings.service.MASK``; a test holds them
# equal: importing the settings service here would drag the channels into every request).
MASK = "********"
SECRET_NAMES = frozenset({"password", "secret", "password_hash", "token_hash"})

Snapshot = Mapping[str, Any]


def flatten(snapshot: Snapshot | None, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": [1, 2]}``; an empty dict is kept
    as a value (a strategy with no attempts still says so)."""
    flat: dict[str, Any] = {}
    for key, value in (snapshot or {}).items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat |= flatten(value, path + ".")
        else:
            flat[path] = value
    return flat


def masked(path: str, value: Any) -> Any:
    """The value as the log shows it: a secret's is the mask (an empty one stays empty)."""
    if path.rsplit(".", 1)[-1] in SECRET_NAMES and value not in (None, ""):
        return MASK
    return value


def action_of(before: Snapshot | None, after: Snapshot | None) -> str | None:
    if before is None and after is None:
        return None
    if before is None:
        return "create"
    if after is None:
        return "delete"
    return "update"


def changes(before: Snapshot | None, after: Snapshot | None) -> list[dict[str, Any]]:
    """Every field whose value differs, in path order: ``{"field", "before", "after"}``.

    A field missing on one side is ``None`` there (a created object's fields were all
    ``None`` before). Secrets are compared as stored and shown masked, so a new password
    shows as a change from the mask to the mask.
    """
    old, new = flatten(before), flatten(after)
    out = []
    for path in sorted(old.keys() | new.keys()):
        was, now = old.get(path), new.get(path)
        if was == now:
            continue
        out.append({"field": path, "before": masked(path, was), "after": masked(path, now)})
    return out
