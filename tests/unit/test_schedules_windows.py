"""The pure window rules: time parsing, overlap and per-day limits, defaults, zones."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outbound.schedules.windows import (
    MAX_WINDOWS_PER_DAY,
    Weekday,
    Window,
    WindowError,
    check_windows,
    default_windows,
    first_duplicate,
    format_time,
    is_time_zone,
    parse_time,
    parse_windows,
)


@pytest.mark.parametrize(
    ("text", "is_end", "minutes"),
    [("00:00", False, 0), ("9:05", False, 545), ("23:59", True, 1439), ("24:00", True, 1440)],
)
def test_parse_time(text: str, is_end: bool, minutes: int) -> None:
    assert parse_time(text, is_end=is_end) == minutes


@pytest.mark.parametrize(
    ("text", "is_end"),
    [
        ("24:00", False),
        ("24:01", True),
        ("23:60", False),
        ("12", False),
        ("12:00:00", True),
        ("", False),
        ("-1:00", False),
        ("12:5", False),
        ("9:00\n", True),
        ("\u0661\u0662:\u0660\u0660", False),  # Arabic-Indic digits
    ],
)
def test_parse_time_refuses(text: str, is_end: bool) -> None:
    with pytest.raises(ValueError):
        parse_time(text, is_end=is_end)


@given(st.integers(min_value=0, max_value=1440))
def test_format_and_parse_round_trip(minute: int) -> None:
    assert parse_time(format_time(minute), is_end=True) == minute


def test_weekday_numbers_follow_date_weekday() -> None:
    assert [d.number for d in Weekday] == list(range(7))
    assert Weekday.of(date(2030, 1, 7).weekday()) is Weekday.MON


def test_default_windows_open_every_day_nine_to_eight() -> None:
    assert default_windows() == [Window(d, 540, 1200) for d in range(7)]
    check_windows(default_windows())


def test_parse_windows_names_the_bad_window() -> None:
    with pytest.raises(WindowError) as caught:
        parse_windows([("mon", "09:00", "10:00"), ("mon", "11:00", "nine")])
    assert (caught.value.index, caught.value.field) == (1, "end")
    with pytest.raises(WindowError) as caught:
        parse_windows([("someday", "09:00", "10:00")])
    assert (caught.value.index, caught.value.field) == (0, "day")


def test_overlap_names_the_later_window_and_the_earlier_one() -> None:
    with pytest.raises(WindowError) as caught:
        check_windows([Window(0, 600, 700), Window(1, 0, 1440), Window(0, 540, 610)])
    assert caught.value.index == 2
    assert "overlaps window 0" in caught.value.message


def test_touching_windows_and_other_days_do_not_overlap() -> None:
    check_windows([Window(0, 540, 720), Window(0, 720, 1440), Window(1, 0, 1440)])


def test_at_most_twenty_windows_a_day() -> None:
    day = [Window(4, m * 60, m * 60 + 30) for m in range(MAX_WINDOWS_PER_DAY)]
    check_windows([*day, Window(5, 0, 30)])
    with pytest.raises(WindowError) as caught:
        check_windows([*day, Window(4, 1400, 1430)])
    assert caught.value.index == MAX_WINDOWS_PER_DAY


@pytest.mark.parametrize(
    "window",
    [
        Window(0, 600, 600),
        Window(0, 700, 600),
        Window(7, 0, 1),
        Window(0, -1, 10),
        Window(0, 0, 1441),
    ],
)
def test_a_window_must_run_forwards_within_a_day(window: Window) -> None:
    with pytest.raises(WindowError):
        check_windows([window])


_spans = st.tuples(st.integers(0, 1439), st.integers(1, 1440)).filter(lambda s: s[0] < s[1])


@given(st.lists(_spans, max_size=8))
def test_check_windows_refuses_exactly_the_overlapping_days(spans: list[tuple[int, int]]) -> None:
    windows = [Window(0, start, end) for start, end in spans]
    overlapping = any(
        a.start < b.end and b.start < a.end for i, a in enumerate(windows) for b in windows[i + 1 :]
    )
    if overlapping:
        with pytest.raises(WindowError, match="overlaps"):
            check_windows(windows)
    else:
        check_windows(windows)


def test_first_duplicate() -> None:
    days = [date(2030, 1, 1), date(2030, 5, 1), date(2030, 1, 1)]
    assert first_duplicate(days) == (0, 2)
    assert first_duplicate(days[:2]) is None


@pytest.mark.parametrize("name", ["UTC", "Europe/Paris", "America/Argentina/Buenos_Aires"])
def test_known_time_zones(name: str) -> None:
    assert is_time_zone(name)


@pytest.mark.parametrize(
    "name", ["", "Mars/Olympus", "europe/paris", "localtime", "/etc/localtime", "../UTC", "+02:00"]
)
def test_unknown_time_zones(name: str) -> None:
    assert not is_time_zone(name)
