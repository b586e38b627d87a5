"""Start times for tests on a virtual clock, derived from the real one.

Contacts created through the API become due at the real current time, so a virtual clock that
starts at a written-out date turns every such test red on the day that date passes (main's CI
did on 2026-11-30). A start computed from today keeps each test's meaning on any day it runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo


def next_weekday_at(
    weekday: int, at: time, *, zone: tzinfo = UTC, after: datetime | None = None
) -> datetime:
    """The first ``weekday`` (0 = Monday) at ``at`` in ``zone`` more than an hour after ``after``.

    ``after`` defaults to the real current time: contacts the test creates are due before it.
    """
    base = (after or datetime.now(UTC)) + timedelta(hours=1)
    local = base.astimezone(zone)
    day = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    start = datetime.combine(day, at, tzinfo=zone)
    if start <= base:
        start = datetime.combine(day + timedelta(days=7), at, tzinfo=zone)
    return start.astimezone(UTC)


def next_monday_9() -> datetime:
    """The next Monday 09:00 UTC after now: an ordinary working morning for the engine tests."""
    return next_weekday_at(0, time(9, 0))
