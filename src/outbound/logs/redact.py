"""Secrets out of log lines: known secret values, and anything shaped like a credential.

Two nets: the secret values this process uses (channel passwords and secrets, the metrics
token; ``remember``) are replaced wherever they appear, and patterns catch what was never
remembered: ``password=…``, ``secret: …``, ``key=…``, ``token=…`` (query strings, reprs,
JSON), ``Bearer …``, API tokens (``ob_…``) and passwords in URLs (``scheme://user:pw@``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "********"
MIN_REMEMBERED = 4  # shorter values would mask ordinary words; the patterns still apply

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;]+"), rf"\1 {MASK}"),
    (re.compile(r"\bob_[A-Za-z0-9_-]{8,}"), MASK),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{MASK}@"),
    (
        re.compile(
            r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|key|authorization|"
            r"access_token|session)[\"']?\s*[:=]\s*[\"']?)([^\s&\"',;}\]]+)"
        ),
        rf"\1{MASK}",
    ),
)

_lock = threading.Lock()
_known: frozenset[str] = frozenset()


def remember(values: Iterable[str | None]) -> None:
    """Secret values to mask wherever they appear in this process's logs."""
    global _known
    fresh = {v for v in values if v and len(v) >= MIN_REMEMBERED and v != MASK}
    if fresh <= _known:
        return
    with _lock:
        _known = _known | fresh


def redact(text: str) -> str:
    for value in sorted(_known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
