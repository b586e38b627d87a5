"""When a claimed contact became due, for the dispatch delay: the last of its due time, its
campaign's start and the opening of its campaign's window. Expected instants are written
out by hand in the schedule's zone (zoneinfo converts them), not computed by the code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from outbound.metrics.delay import due_since, window_opened
from outbound.schedules.calendar import Calendar

NY = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = Calendar.build((d, 9 * 60, 17 * 60) for d in range(5))
ALWAYS = Calendar.build((d, 0, 1440) for d in range(7))
# A Wednesday, 10:30 in New York (EST, UTC-5).
NOW = datetime(2025, 1, 15, 10, 30, tzinfo=NY).astimezone(UTC)


@dataclass(frozen=True)
class Campaign:
    calendar: Calendar
    zone: str = "America/New_York"
    contact_local: bool = False
    started_at: datetime | None = None


def local(hour: int, minute: int = 0, *, day: int = 15) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=NY)


def test_a_contact_due_overnight_is_late_only_since_the_window_opened() -> None:
    overnight = local(18, day=13)
    assert due_since(Campaign(WEEKDAYS_9_TO_5), overnight, NOW) == local(9)


def test_the_last_of_due_time_start_and_opening() -> None:
    campaign = Campaign(WEEKDAYS_9_TO_5, started_at=local(9, 45))
    assert due_since(campaign, local(8), NOW) == local(9, 45)
    assert due_since(campaign, local(10, 10), NOW) == local(10, 10)


def test_contact_local_schedules_keep_the_contacts_due_time() -> None:
    campaign = Campaign(WEEKDAYS_9_TO_5, contact_local=True)
    assert due_since(campaign, local(18, day=13), NOW) == local(18, day=13)


def test_windows_joined_at_midnight_are_one_opening() -> None:
    evenings = Calendar.build([(1, 20 * 60, 1440), (2, 0, 12 * 60)])  # Tue 20:00 - Wed 12:00
    assert window_opened(evenings, NOW, "America/New_York") == local(20, day=14)
    assert window_opened(ALWAYS, NOW, "America/New_York") == local(0, day=8)  # a week back


def test_no_window_open_means_no_opening() -> None:
    assert window_opened(WEEKDAYS_9_TO_5, local(8).astimezone(UTC), "America/New_York") is None
    holiday = Calendar.build(((d, 9 * 60, 17 * 60) for d in range(5)), [date(2025, 1, 15)])
    assert window_opened(holiday, NOW, "America/New_York") is None
    assert due_since(Campaign(holiday), local(8), NOW) == local(8)
    assert due_since(Campaign(holiday), None, NOW) == NOW
    assert NOW - due_since(Campaign(WEEKDAYS_9_TO_5), local(8), NOW) == timedelta(minutes=90)
