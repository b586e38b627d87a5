"""Buckets of a report timeline. Pure: the range, its alignment and the bucket labels.

The database labels each attempt with the UTC hour or day it was sent in (text such as
``2025-03-01 09``, the same on SQLite and PostgreSQL); this module decides which buckets
the answer has, so that empty ones are listed too and a chart needs no gap filling.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# Keeps an answer (and its query) bounded: a month of hours or a year of days.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class Bucket(StrEnum):
    HOUR = "hour"
    DAY = "day"

    @property
    def step(self) -> timedelta:
        return timedelta(hours=1) if self is Bucket.HOUR else timedelta(days=1)

    @property
    def max_buckets(self) -> int:
        return 31 * 24 if self is Bucket.HOUR else 366

    @property
    def default_span(self) -> timedelta:
        return timedelta(hours=24) if self is Bucket.HOUR else timedelta(days=30)

    @property
    def label_format(self) -> str:
        """strftime format of a label; the SQL side writes the same text."""
        return "%Y-%m-%d %H" if self is Bucket.HOUR else "%Y-%m-%d"


class RangeError(ValueError):
    """The requested range cannot be answered; ``field`` names the parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def floor(at: datetime, bucket: Bucket) -> datetime:
    """The start of the UTC bucket holding ``at``."""
    at = at.astimezone(UTC)
    if bucket is Bucket.HOUR:
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def span(
    bucket: Bucket, *, since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end): ``since`` rounded down to its bucket, up to ``until`` (default: now).

    Without ``since`` the range is the bucket's default span before the end.
    """
    for field, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise RangeError(field, f"must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    end = until if until is not None else now
    start = floor(since if since is not None else end - bucket.default_span, bucket)
    if start >= end:
        raise RangeError("since", "must be earlier than until (default: now)")
    if _ceil_div(end - start, bucket.step) > bucket.max_buckets:
        raise RangeError(
            "since",
            f"at most {bucket.max_buckets} {bucket.value} buckets at once; "
            "choose a later since or an earlier until",
        )
    return start, end


def _ceil_div(length: timedelta, step: timedelta) -> int:
    return -(-length // step)


def starts(first: datetime, end: datetime, bucket: Bucket) -> Iterator[datetime]:
    at = first
    while at < end:
        yield at
        at += bucket.step


def parse_label(label: str, bucket: Bucket) -> datetime:
    return datetime.strptime(label, bucket.label_format).replace(tzinfo=UTC)
