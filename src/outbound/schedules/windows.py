"""Weekly dialling windows: parsing "HH:MM" times and checking a week's windows hang together.

Pure: no database, no clock. The service turns a ``WindowError`` into a 422 that names the
offending window by its index in the request, so an administrator can find it in a long list.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from itertools import pairwise

MINUTES_PER_DAY = 1440
MAX_WINDOWS_PER_DAY = 20
DEFAULT_START = 9 * 60
DEFAULT_END = 20 * 60

_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})")


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """0 for Monday … 6 for Sunday, as ``date.weekday()`` and the database count."""
        return list(Weekday).index(self)

    @classmethod
    def of(cls, number: int) -> Weekday:
        return list(Weekday)[number]


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """[start, end) minutes of local time on one weekday; end may be 1440 (midnight)."""

    weekday: int
    start: int
    end: int

    def label(self) -> str:
        return f"{Weekday.of(self.weekday)} {format_time(self.start)}-{format_time(self.end)}"


class WindowError(ValueError):
    """A window that cannot stand: ``index`` is its position in the caller's list."""

    def __init__(self, index: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.field = field
        self.message = message


def parse_time(text: str, *, is_end: bool) -> int:
    """Minutes since midnight; only an end may be "24:00" so a window can run to midnight."""
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time written HH:MM")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes == 0:
        if not is_end:
            raise ValueError("24:00 may only end a window; a window starting at midnight is 00:00")
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a time of day (00:00 to 23:59, or 24:00 as an end)")
    return hours * 60 + minutes


def format_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_windows(raw: Sequence[tuple[str, str, str]]) -> list[Window]:
    """Windows from (day, start, end) strings, checked as a whole; in the caller's order."""
    windows = []
    for index, (day, start, end) in enumerate(raw):
        try:
            weekday = Weekday(day).number
        except ValueError:
            raise WindowError(index, "day", f"{day!r} is not a day (mon … sun)") from None
        parsed = []
        for field, text in (("start", start), ("end", end)):
            try:
                parsed.append(parse_time(text, is_end=field == "end"))
            except ValueError as exc:
                raise WindowError(index, field, f"{field}: {exc}") from None
        windows.append(Window(weekday, parsed[0], parsed[1]))
    check_windows(windows)
    return windows


def check_windows(windows: Sequence[Window]) -> None:
    """Each window runs forwards; a day has at most 20 windows and none of them overlap.

    Windows that merely touch (09:00-12:00 and 12:00-14:00) do not overlap.
    """
    per_day: dict[int, list[tuple[int, Window]]] = {}
    for index, window in enumerate(windows):
        if not 0 <= window.weekday <= 6:
            raise WindowError(index, "day", f"weekday {window.weekday} is not 0 (mon) … 6 (sun)")
        if not 0 <= window.start < MINUTES_PER_DAY or not 0 < window.end <= MINUTES_PER_DAY:
            raise WindowError(index, None, "a window must lie within one day, 00:00 to 24:00")
        if window.start >= window.end:
            raise WindowError(
                index,
                "end",
                f"end {format_time(window.end)} must be after start {format_time(window.start)}",
            )
        day = per_day.setdefault(window.weekday, [])
        day.append((index, window))
        if len(day) > MAX_WINDOWS_PER_DAY:
            name = Weekday.of(window.weekday)
            raise WindowError(
                index, None, f"at most {MAX_WINDOWS_PER_DAY} windows per day ({name})"
            )
    for day in per_day.values():
        _check_overlaps(day)


def _check_overlaps(day: list[tuple[int, Window]]) -> None:
    ordered = sorted(day, key=lambda item: (item[1].start, item[0]))
    for (first_index, first), (second_index, second) in pairwise(ordered):
        if second.start < first.end:
            index, other = max(first_index, second_index), min(first_index, second_index)
            this, that = (first, second) if index == first_index else (second, first)
            raise WindowError(
                index,
                None,
                f"window {index} ({this.label()}) overlaps window {other} ({that.label()})",
            )


def default_windows() -> list[Window]:
    """ "All days selected by default": every day 09:00 to 20:00."""
    return [Window(day, DEFAULT_START, DEFAULT_END) for day in range(7)]


def first_duplicate(days: Iterable[date]) -> tuple[int, int] | None:
    """(earlier index, later index) of the first date listed twice, or None."""
    seen: dict[date, int] = {}
    for index, day in enumerate(days):
        if day in seen:
            return seen[day], index
        seen[day] = index
    return None


# Names the tz database lists that are not places: "localtime" is whatever this machine is
# set to, "Factory" is a placeholder zone.
_NOT_ZONES = frozenset({"localtime", "Factory"})


def time_zones() -> frozenset[str]:
    """Every zone name ``is_time_zone`` accepts."""
    return _zones()


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def is_time_zone(name: str) -> bool:
    """An IANA zone name this machine's tz database knows (e.g. "Europe/Paris", "UTC").

    Checked against the list rather than by loading it: ``ZoneInfo`` would also accept
    file-system paths and odd spellings that another machine may not.
    """
    return name in _zones()
