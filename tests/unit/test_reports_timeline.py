"""Timeline buckets: range defaults, alignment, bounds, labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from outbound.reports.timeline import Bucket, RangeError, floor, parse_label, span, starts

NOW = datetime(2025, 3, 2, 10, 25, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_default_ranges_end_now() -> None:
    assert span(Bucket.HOUR, since=None, until=None, now=NOW) == (utc(2025, 3, 1, 10), NOW)
    assert span(Bucket.DAY, since=None, until=None, now=NOW) == (utc(2025, 1, 31), NOW)


def test_since_rounds_down_to_its_bucket_in_utc() -> None:
    paris_930 = datetime(2025, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    start, end = span(Bucket.HOUR, since=paris_930, until=utc(2025, 3, 1, 12), now=NOW)
    assert (start, end) == (utc(2025, 3, 1, 9), utc(2025, 3, 1, 12))
    assert list(starts(start, end, Bucket.HOUR)) == [utc(2025, 3, 1, h) for h in (9, 10, 11)]


def test_a_partial_last_bucket_is_listed() -> None:
    start, end = span(Bucket.DAY, since=utc(2025, 3, 1), until=NOW, now=NOW)
    assert list(starts(start, end, Bucket.DAY)) == [utc(2025, 3, 1), utc(2025, 3, 2)]


@pytest.mark.parametrize(
    ("bucket", "since", "field"),
    [
        (Bucket.HOUR, NOW - timedelta(days=31, hours=2), "since"),
        (Bucket.DAY, NOW - timedelta(days=400), "since"),
        (Bucket.HOUR, NOW + timedelta(hours=1), "since"),
        (Bucket.DAY, utc(1969, 12, 31), "since"),
    ],
)
def test_ranges_that_cannot_be_answered(bucket: Bucket, since: datetime, field: str) -> None:
    with pytest.raises(RangeError) as caught:
        span(bucket, since=since, until=None, now=NOW)
    assert caught.value.field == field


def test_the_longest_ranges_are_allowed() -> None:
    with pytest.raises(RangeError):
        span(Bucket.HOUR, since=utc(2025, 3, 1), until=utc(2025, 4, 1, 1), now=NOW)
    start, end = span(Bucket.HOUR, since=utc(2025, 3, 1), until=utc(2025, 4, 1), now=NOW)
    assert len(list(starts(start, end, Bucket.HOUR))) == 31 * 24


def test_labels_round_trip() -> None:
    assert parse_label("2025-03-01 09", Bucket.HOUR) == utc(2025, 3, 1, 9)
    assert parse_label("2025-03-01", Bucket.DAY) == utc(2025, 3, 1)
    assert floor(utc(2025, 3, 1, 9, 59, 59), Bucket.DAY) == utc(2025, 3, 1)
