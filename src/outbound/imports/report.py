"""The rejected-rows report as CSV, safe to open in a spreadsheet. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Protocol

HEADER = ("line", "column", "reason", "raw")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class RejectLike(Protocol):
    line: int
    column: str | None
    reason: str
    raw: str


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_lines(rejects: Iterable[RejectLike]) -> Iterator[str]:
    """The report, one CSV line at a time (so a large report streams)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for reject in rejects:
        writer.writerow(
            (reject.line, reject.column or "", safe_cell(reject.reason), safe_cell(reject.raw))
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
