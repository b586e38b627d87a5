"""SIP final responses and call endings as canonical outcomes (DESIGN.md's table).

Pure functions: the dialer keeps the raw status (``"486 Busy Here"``) on the attempt and
asks here what it means.
"""

from __future__ import annotations

import re

from outbound.strategies.outcomes import Outcome

_STATUS = re.compile(r"^\s*([1-6][0-9]{2})(?:\s+(.*))?$")

BY_STATUS: dict[int, Outcome] = {
    486: Outcome.BUSY,
    600: Outcome.BUSY,
    480: Outcome.NO_ANSWER,
    408: Outcome.NO_ANSWER,
    487: Outcome.NO_ANSWER,
    404: Outcome.INVALID_NUMBER,
    484: Outcome.INVALID_NUMBER,
    604: Outcome.INVALID_NUMBER,
    410: Outcome.INVALID_NUMBER,
    500: Outcome.NETWORK_ERROR,
    502: Outcome.NETWORK_ERROR,
    503: Outcome.NETWORK_ERROR,
    504: Outcome.NETWORK_ERROR,
    603: Outcome.DECLINED,
}


def status_code(text: str) -> int | None:
    """The SIP status code at the start of ``text`` ("486 Busy Here" → 486), if any."""
    found = _STATUS.match(text)
    return int(found.group(1)) if found else None


def outcome_for_status(code: int) -> Outcome:
    """A final failure response of an unanswered call.

    Codes outside the table: another global failure (6xx) is a refusal by the callee,
    every other one (3xx redirect we do not follow, 4xx, 5xx) a failure on the way.
    """
    if code in BY_STATUS:
        return BY_STATUS[code]
    if 600 <= code < 700:
        return Outcome.DECLINED
    return Outcome.NETWORK_ERROR


def outcome_for_closed(reason: str, *, rang: bool) -> Outcome:
    """An unanswered call that ended with ``reason`` (baresip's CALL_CLOSED text).

    A SIP status decides by the table. Anything else (no response at all, a transport
    error such as "Connection timed out") is a network error, except that a call which
    was already ringing and then got no final response is no answer.
    """
    code = status_code(reason)
    if code is not None and code >= 300:
        return outcome_for_status(code)
    return Outcome.NO_ANSWER if rang else Outcome.NETWORK_ERROR
