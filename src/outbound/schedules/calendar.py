"""When a schedule is open. Pure: no database, no clock of its own.

A schedule is open at an instant when, in a time zone, the local date is not a blackout
date and the local time falls in one of that weekday's windows. For contact-local dialling a
number may have several candidate zones; it may be dialled only when the schedule is open in
every one of them. Wall-clock arithmetic goes through ``zoneinfo``, so daylight-saving
changes are handled: a window 09:00-17:00 means 09:00-17:00 local on both sides of a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

HORIZON_DAYS = 400


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class Calendar:
    """A schedule's windows ({weekday: ((start, end) minutes, …)}) and blackout dates."""

    windows: Mapping[int, tuple[tuple[int, int], ...]]
    blackouts: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls, windows: Iterable[tuple[int, int, int]], blackouts: Iterable[date] = ()
    ) -> Calendar:
        """From (weekday, start minute, end minute) triples."""
        days: dict[int, list[tuple[int, int]]] = {}
        for weekday, start, end in windows:
            days.setdefault(weekday, []).append((start, end))
        return cls({d: tuple(sorted(w)) for d, w in days.items()}, frozenset(blackouts))

    def open_in(self, at: datetime, zone_name: str) -> bool:
        local = at.astimezone(zone(zone_name))
        if local.date() in self.blackouts:
            return False
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.windows.get(local.weekday(), ()))

    def open_in_all(self, at: datetime, zones: Sequence[str]) -> bool:
        """Open in every candidate zone (an ambiguous number must be inside all of them)."""
        return bool(zones) and all(self.open_in(at, z) for z in zones)

    def next_open(self, after: datetime, zones: Sequence[str]) -> datetime | None:
        """The first instant at or after ``after`` when it is open in every zone, if any.

        The answer is never earlier than the truth (the gate re-checks ``open_in_all`` at
        dispatch anyway); around a daylight-saving gap it may be a little later.
        """
        if not zones or not any(self.windows.values()):
            return None
        if self.open_in_all(after, zones):
            return after
        for candidate in self._starts(after, zones):
            if self.open_in_all(candidate, zones):
                return candidate
        return None

    def open_until(self, at: datetime, zones: Sequence[str]) -> datetime:
        """The first instant after ``at`` when it stops being open in some zone."""
        ends = []
        for name in zones:
            local = at.astimezone(zone(name))
            minute = local.hour * 60 + local.minute
            for s, e in self.windows.get(local.weekday(), ()):
                if s <= minute < e:
                    day = datetime.combine(local.date(), time(), tzinfo=zone(name))
                    ends.append(_wall(day, e))
        return min(ends) if ends else at

    def _starts(self, after: datetime, zones: Sequence[str]) -> Iterable[datetime]:
        """Window starts after ``after`` in every zone, in time order, over the horizon."""
        per_zone = []
        for name in zones:
            tz = zone(name)
            first = after.astimezone(tz).date() - timedelta(days=1)
            starts = []
            for offset in range(HORIZON_DAYS):
                day = first + timedelta(days=offset)
                if day in self.blackouts:
                    continue
                midnight = datetime.combine(day, time(), tzinfo=tz)
                for s, _e in self.windows.get(day.weekday(), ()):
                    instant = _wall(midnight, s)
                    if instant > after:
                        starts.append(instant)
            per_zone.append(starts)
        return sorted({s for starts in per_zone for s in starts})


def _wall(midnight: datetime, minute: int) -> datetime:
    """The UTC instant of ``minute`` minutes of wall-clock time after local ``midnight``.

    A wall time inside a spring-forward gap does not exist; fold=0 reads it with the offset
    from before the change, which lands just after the gap: late, never early.
    """
    day = midnight.date() + timedelta(days=minute // 1440)
    local = datetime.combine(day, time(minute % 1440 // 60, minute % 60), tzinfo=midnight.tzinfo)
    return local.astimezone(UTC)
