"""Time zones told apart by what matters for a calling window: their UTC offsets over time.

Two zones with the same UTC offset at every instant of the years around now open and close a
window at the same instants, so one stands for both. phonenumbers names several such zones
for one country (Europe/London and Europe/Jersey), and IANA names a country's zones with its
own spelling: comparing offsets, not names, lets the zone lookup narrow a shared calling code
to the number's country and keep one zone per distinct clock. Pure apart from reading the
IANA tables shipped with tzdata (once per process).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Signature = tuple[object, ...]

_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
# The span compared: the year before the current one to the end of the second year after.
# Longer than any schedule looks ahead; offsets decided by law further out are not known yet.
_YEARS_BEFORE, _YEARS_AFTER = 1, 2


def _span() -> tuple[datetime, int]:
    year = date.today().year
    start = datetime(year - _YEARS_BEFORE, 1, 1, tzinfo=UTC)
    end = datetime(year + _YEARS_AFTER + 1, 1, 1, tzinfo=UTC)
    return start, (end - start).days


@cache
def signature(name: str) -> Signature:
    """The zone's offset at the start of the span and each change in it, to the second.

    Offsets are read daily and each change is bisected to its instant, so two zones that
    change on the same day at different hours get different signatures. An unknown name is
    its own class.
    """
    try:
        tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ("unknown", name)
    start, days = _span()
    first = start.astimezone(tz).utcoffset()
    changes: list[object] = [first]
    before = first
    for day in range(1, days + 1):
        at = start + day * _DAY
        now = at.astimezone(tz).utcoffset()
        if now != before:
            changes.append((_change_between(tz, at - _DAY, at), now))
            before = now
    return tuple(changes)


def _change_between(tz: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first second in (low, high] with the offset of high (one change in the day)."""
    target = high.astimezone(tz).utcoffset()
    while high - low > _SECOND:
        mid = low + (high - low) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(tz).utcoffset() == target:
            high = mid
        else:
            low = mid
    return high


def distinct(zones: Iterable[str]) -> tuple[str, ...]:
    """The zones, keeping the first of each class: the window is the same in the others."""
    seen: set[Signature] = set()
    kept = []
    for name in zones:
        sig = signature(name)
        if sig not in seen:
            seen.add(sig)
            kept.append(name)
    return tuple(kept)


@cache
def _country_zones() -> dict[str, tuple[str, ...]]:
    """IANA's zone.tab: ISO country code -> the zones of that country."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3:
            table.setdefault(fields[0], []).append(fields[2])
    return {country: tuple(names) for country, names in table.items()}


@cache
def country_classes(region: str) -> frozenset[Signature]:
    """The classes of a country's zones (empty for a region IANA does not list)."""
    return frozenset(signature(z) for z in _country_zones().get(region, ()))


def narrowed(zones: Iterable[str], region: str | None) -> tuple[str, ...]:
    """The zones whose clock is one of the region's; all of them when none is (safe side)."""
    given = tuple(zones)
    if region is None:
        return given
    classes = country_classes(region)
    kept = tuple(z for z in given if signature(z) in classes)
    return kept or given
