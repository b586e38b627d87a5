"""When a claimed contact became due, for the dispatch delay. Pure.

A contact's due time alone would overstate the delay: contacts of a stopped campaign, or
waiting overnight for their campaign's window, are not late. The delay counts from the last
of: the contact's due time, its campaign's start, and the opening of the window it is
dialled in (a schedule in the campaign's time zone; contact-local schedules move each
contact's due time to its own window's opening already).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Protocol

from outbound.schedules.calendar import Calendar, zone


class Dialled(Protocol):
    @property
    def calendar(self) -> Calendar: ...
    @property
    def zone(self) -> str: ...
    @property
    def contact_local(self) -> bool: ...
    @property
    def started_at(self) -> datetime | None: ...


def window_opened(calendar: Calendar, now: datetime, zone_name: str) -> datetime | None:
    """The start of the window of ``calendar`` open at ``now`` in ``zone_name``, if one is;
    a window that begins at midnight right after one that ran to midnight the day before
    starts with that one."""
    tz = zone(zone_name)
    local = now.astimezone(tz)
    day = local.date()
    if day in calendar.blackouts:
        return None
    minute = local.hour * 60 + local.minute
    for start, end in calendar.windows.get(local.weekday(), ()):
        if start <= minute < end:
            for _ in range(7):  # a week of windows joined at midnight is open all along
                before = day - timedelta(days=1)
                runs_on = [s for s, e in calendar.windows.get(before.weekday(), ()) if e == 1440]
                if start != 0 or before in calendar.blackouts or not runs_on:
                    break
                day, start = before, runs_on[0]
            return datetime.combine(day, time(start // 60, start % 60), tzinfo=tz)
    return None


def due_since(rt: Dialled, contact_due: datetime | None, now: datetime) -> datetime:
    """The moment a contact claimed at ``now`` became due (see the module's note)."""
    since = [t for t in (contact_due, rt.started_at) if t is not None]
    if not rt.contact_local:
        opened = window_opened(rt.calendar, now, rt.zone)
        if opened is not None:
            since.append(opened)
    return max(since, default=now)
