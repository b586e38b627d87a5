"""Candidate time zones of a phone number, from phonenumbers' prefix data. Pure and cheap.

The rule (DESIGN.md, engine invariant 3): the candidates cover every zone phonenumbers'
``time_zones_for_number`` gives the number, narrowed to the number's own country where a
calling code is shared (+1, +7, +44: a Caribbean mobile is not in Hawaii); a zone with the
same UTC offsets all year as a candidate counts as covered. The library places a geographic
number (fixed line) by its prefix, but a mobile, toll-free or other number only by its
calling code: an Australian mobile may be in Perth or in Sydney.

So a number is looked up by the longest matching prefix of its E.164 digits, as the library
does, without parsing; where the calling code's zones differ, the number's type (numberkind)
decides whether that prefix places it or whether every zone of the country applies. A number
the data does not place gets the country's zones, the safe side: the window must then hold
in all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE
from phonenumbers import timezone as _tz

from outbound.contacts.numberkind import Kind, kinds_for
from outbound.contacts.phonemeta import COUNTRY_CODES
from outbound.contacts.zoneclass import distinct, narrowed, signature

UNKNOWN = "Etc/Unknown"
_DATA: dict[str, tuple[str, ...]] = _tz.TIMEZONE_DATA  # type: ignore[attr-defined]
_LONGEST: int = _tz.TIMEZONE_LONGEST_PREFIX  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Country:
    """What the data says about one calling code, worked out once."""

    code: int
    zones: tuple[str, ...]  # every zone of the code, one per distinct clock
    uniform: bool  # every number of the code, whatever its type, is on one clock
    shared: bool  # several countries use the code


@lru_cache(maxsize=65536)
def zones_for(e164: str) -> tuple[str, ...]:
    """The IANA zones the number may be in (empty when nothing is known)."""
    digits = e164.lstrip("+")
    placed = _by_prefix(digits)
    code = COUNTRY_CODES.get(digits[:3], 0)
    if not code:
        return placed
    country = _country(code)
    if country.uniform:
        return placed or country.zones
    region, kind = kinds_for(code).place(digits[len(str(code)) :])
    if kind is Kind.COUNTRY:
        return _country_zones(country, region) or placed
    return placed


def _by_prefix(digits: str) -> tuple[str, ...]:
    """The zones of the longest prefix the data knows a zone for."""
    for length in range(min(_LONGEST, len(digits)), 0, -1):
        zones = _DATA.get(digits[:length])
        if zones and zones != (UNKNOWN,):
            return tuple(z for z in zones if z != UNKNOWN)
    return ()


@cache
def _country(code: int) -> _Country:
    key = str(code)
    level = _DATA.get(key) or _DATA.get(key[:2]) or ()
    zones = distinct(z for z in level if z != UNKNOWN)
    every = {z for k, names in _DATA.items() if k.startswith(key) for z in names if z != UNKNOWN}
    uniform = len({signature(z) for z in every}) <= 1
    shared = len(COUNTRY_CODE_TO_REGION_CODE.get(code, ())) > 1
    return _Country(code, zones, uniform, shared)


@cache
def _country_zones(country: _Country, region: str | None) -> tuple[str, ...]:
    """The code's zones, only the number's country's where the code is shared."""
    return narrowed(country.zones, region) if country.shared else country.zones
