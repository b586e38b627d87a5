"""Compute an iterator's items one step ahead, in a thread of its own.

Why: reading and validating a chunk of a contact file is pure Python, and storing one
mostly waits for PostgreSQL (a process of its own, on another core) with the GIL released.
Side by side they take about the time of the longer, not of both.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


@contextmanager
def read_ahead(items: Iterator[T]) -> Iterator[Iterator[T]]:
    """``items`` in order, the next one computed while the caller handles the current one.

    Only one item waits ahead, so memory stays bounded. An exception raised by ``items``
    is raised to the caller in its turn, after the items before it. Leaving the block early
    stops the thread (after the item it is computing) and waits for it.
    """
    handoff: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                handoff.put(item)
                if stop.is_set():  # the caller left: compute no further
                    return
            handoff.put(_DONE)
        except BaseException as exc:  # handed over, raised in the caller's thread
            handoff.put(exc)

    def consume() -> Iterator[T]:
        while (item := handoff.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over
            with suppress(queue.Empty):
                handoff.get(timeout=0.05)
        thread.join()
