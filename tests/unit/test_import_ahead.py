"""read_ahead: same items in the same order, errors in their turn, early exit stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from outbound.imports.ahead import read_ahead


def test_items_arrive_in_order() -> None:
    with read_ahead(iter(range(100))) as items:
        assert list(items) == list(range(100))


def test_an_error_is_raised_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("bad byte")

    seen = []
    with pytest.raises(ValueError, match="bad byte"), read_ahead(failing()) as items:
        for item in items:
            seen.append(item)
    assert seen == [1, 2]


def test_leaving_early_stops_the_thread_soon() -> None:
    made = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    before = threading.active_count()
    with read_ahead(endless()) as items:
        for item in items:
            if item == 3:
                break
    assert threading.active_count() == before
    assert len(made) <= 7  # a couple computed ahead at most
