"""Candidate time zones of a phone number, from phonenumbers' prefix data. Pure and cheap.

Looked up by the longest matching prefix of the E.164 digits, as the library itself does,
without parsing. A number the data does not place gets every zone of its country code,
which is the safe side: the window must then hold in all of them.
"""

from __future__ import annotations

from functools import lru_cache

from phonenumbers import timezone as _tz

UNKNOWN = "Etc/Unknown"
_DATA: dict[str, tuple[str, ...]] = _tz.TIMEZONE_DATA  # type: ignore[attr-defined]
_LONGEST: int = _tz.TIMEZONE_LONGEST_PREFIX  # type: ignore[attr-defined]


@lru_cache(maxsize=65536)
def zones_for(e164: str) -> tuple[str, ...]:
    """The IANA zones the number may be in (empty when nothing is known)."""
    digits = e164.lstrip("+")
    for length in range(min(_LONGEST, len(digits)), 0, -1):
        zones = _DATA.get(digits[:length])
        if zones and zones != (UNKNOWN,):
            return tuple(z for z in zones if z != UNKNOWN)
    return ()
