"""An oracle for a number's time zones, independent of ``outbound.contacts.zones``.

The rule (DESIGN.md, engine invariant 3): a number's candidate zones cover every zone that
phonenumbers' public ``time_zones_for_number(parse(number))`` gives, narrowed to the zones of
the number's own country (IANA's zone.tab, by ``region_code_for_number``) where its calling
code is shared by several countries; a zone with the same UTC offsets all year as a candidate
counts as covered. "All year" is checked here by reading both zones' offsets every hour over
the coming year, not the way the product compares them.

Also the numbers to check the rule on: valid numbers of every type of many countries, made by
re-rolling the trailing digits of phonenumbers' example numbers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from phonenumbers.timezone import UNKNOWN_TIMEZONE, time_zones_for_number

HOURS_IN_A_YEAR = 366 * 24
TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
)
# Countries with several zones, or sharing a calling code with others: where the rule bites.
MULTI_ZONE = (
    "AU", "RU", "KZ", "ES", "NZ", "MX", "ID", "EC", "US", "CA", "BR", "CL", "PT", "AR", "CD",
    "MN", "KI", "FM", "PF", "GL", "UA", "CN", "JM", "BS", "PR", "GU", "CC", "CX", "GB", "JE",
    "NO", "SJ", "RE", "YT", "CW", "BQ", "FI", "AX", "MA", "EH", "SH", "DE", "FR", "IN",
)  # fmt: skip


@cache
def _start() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


_CLOCKS: dict[tuple[timedelta | None, ...], int] = {}


@cache
def _clock(name: str) -> int:
    """A number per distinct list of hourly offsets over the coming year."""
    zone, start = ZoneInfo(name), _start()
    offsets = tuple(
        (start + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(HOURS_IN_A_YEAR)
    )
    return _CLOCKS.setdefault(offsets, len(_CLOCKS))


def same_clock(a: str, b: str) -> bool:
    """The same UTC offset at every hour of the coming year."""
    return a == b or _clock(a) == _clock(b)


@cache
def _country_zones() -> dict[str, list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    rows = [line.split("\t") for line in text.splitlines() if line and line[0] != "#"]
    table: dict[str, list[str]] = {}
    for row in rows:
        table.setdefault(row[0], []).append(row[2])
    return table


def oracle_zones(e164: str) -> tuple[str, ...]:
    """The zones the number's candidates must cover."""
    number = phonenumbers.parse(e164)
    zones = [z for z in time_zones_for_number(number) if z != UNKNOWN_TIMEZONE]
    if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[number.country_code]) > 1:
        region = phonenumbers.region_code_for_number(number)
        own = _country_zones().get(region or "", [])
        kept = [z for z in zones if any(same_clock(z, o) for o in own)]
        zones = kept or zones  # a country IANA does not list: all of them
    return tuple(zones)


def uncovered(e164: str, candidates: Sequence[str]) -> list[str]:
    """The oracle's zones that no candidate stands for: empty when the rule holds."""
    return [z for z in oracle_zones(e164) if not any(same_clock(z, c) for c in candidates)]


def valid_numbers(regions: Iterable[str], per_type: int, seed: int = 0) -> Iterator[str]:
    """Distinct valid E.164 numbers of each region and number type it has.

    Each is an example number of the type with a random count of trailing digits re-rolled,
    kept when phonenumbers says it is valid (of any type: the rule holds for all of them).
    """
    rng = random.Random(seed)
    seen: set[str] = set()
    for region in regions:
        code = phonenumbers.country_code_for_region(region)
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            nsn = phonenumbers.national_significant_number(example)
            found = 0
            for _ in range(per_type * 8):
                if found >= per_type:
                    break
                keep = rng.randint(max(1, len(nsn) - 7), len(nsn) - 1)
                tail = "".join(rng.choices("0123456789", k=len(nsn) - keep))
                number = phonenumbers.parse(f"+{code}{nsn[:keep]}{tail}")
                e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
                if e164 not in seen and phonenumbers.is_valid_number(number):
                    seen.add(e164)
                    found += 1
                    yield e164
