"""Schedule calendar: windows, blackouts, several zones, daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from outbound.schedules.calendar import Calendar

WEEKDAYS_9_TO_17 = Calendar.build([(d, 540, 1020) for d in range(5)])
NY, LA, PARIS = "America/New_York", "America/Los_Angeles", "Europe/Paris"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_follows_local_time_and_weekday() -> None:
    # Friday 2026-11-27, 14:00 UTC = 09:00 in New York (EST), 06:00 in Los Angeles.
    at = utc(2026, 11, 27, 14, 0)
    assert WEEKDAYS_9_TO_17.open_in(at, NY)
    assert not WEEKDAYS_9_TO_17.open_in(at - timedelta(minutes=1), NY)
    assert not WEEKDAYS_9_TO_17.open_in(at, LA)
    assert not WEEKDAYS_9_TO_17.open_in(utc(2026, 11, 28, 15, 0), NY)  # Saturday


def test_an_ambiguous_number_needs_every_zone_open() -> None:
    at = utc(2026, 11, 27, 16, 0)  # 11:00 NY, 08:00 LA
    assert not WEEKDAYS_9_TO_17.open_in_all(at, [NY, LA])
    assert WEEKDAYS_9_TO_17.next_open(at, [NY, LA]) == utc(2026, 11, 27, 17, 0)  # 09:00 LA


def test_blackout_dates_are_local_dates() -> None:
    calendar = Calendar.build([(d, 540, 1020) for d in range(7)], [date(2026, 12, 25)])
    assert not calendar.open_in(utc(2026, 12, 25, 15, 0), NY)
    # 10:00 in Paris on the 26th: not a blackout date there.
    assert calendar.open_in(utc(2026, 12, 26, 9, 0), PARIS)
    assert calendar.next_open(utc(2026, 12, 24, 22, 30), [NY]) == utc(2026, 12, 26, 14, 0)


def test_windows_keep_local_hours_across_daylight_saving_changes() -> None:
    # New York springs forward on 2026-03-08: 09:00 local is 14:00 UTC before, 13:00 after.
    calendar = Calendar.build([(d, 540, 1020) for d in range(7)])
    assert calendar.next_open(utc(2026, 3, 7, 1, 0), [NY]) == utc(2026, 3, 7, 14, 0)
    assert calendar.next_open(utc(2026, 3, 8, 1, 0), [NY]) == utc(2026, 3, 8, 13, 0)
    assert not calendar.open_in(utc(2026, 3, 8, 12, 59), NY)


def test_a_window_starting_in_the_dst_gap_opens_after_the_gap_never_before() -> None:
    calendar = Calendar.build([(6, 150, 300)])  # Sundays 02:30-05:00
    opened = calendar.next_open(utc(2026, 3, 8, 0, 0), [NY])
    assert opened is not None and opened >= utc(2026, 3, 8, 7, 0)  # 03:00 EDT
    assert calendar.open_in(opened, NY)


def test_no_windows_means_never_open() -> None:
    assert Calendar.build([]).next_open(utc(2026, 1, 1), [NY]) is None


zones = st.lists(
    st.sampled_from([NY, LA, PARIS, "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]),
    min_size=1,
    max_size=3,
    unique=True,
)
windows = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 1439), st.integers(1, 1440)).filter(
        lambda w: w[1] < w[2]
    ),
    max_size=6,
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(windows=windows, zone_names=zones, at=instants)
def test_next_open_is_open_and_never_before_now(
    windows: list[tuple[int, int, int]], zone_names: list[str], at: datetime
) -> None:
    calendar = Calendar.build(windows)
    opened = calendar.next_open(at, zone_names)
    if opened is None:
        return
    assert opened >= at
    assert calendar.open_in_all(opened, zone_names)
    # Nothing opened in between: sample the minutes before it.
    step = max((opened - at) / 50, timedelta(minutes=1))
    probe = at
    while probe < opened:
        assert not calendar.open_in_all(probe, zone_names)
        probe += step
