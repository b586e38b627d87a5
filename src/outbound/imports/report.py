"""CSV files safe to open in a spreadsheet: the rejected-rows report, and any other export. Pure."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

HEADER = ("line", "column", "reason", "raw")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_BYTES = 64 * 1024
# A number in E.164 (``+14155550100``): it starts with '+', but '+' and digits alone call
# nothing, so it is written as it is; escaped, it did not import back as a phone number.
_E164 = re.compile(r"\+[0-9]{1,15}")


class RejectLike(Protocol):
    line: int
    column: str | None
    reason: str
    raw: str


def safe_cell(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (CSV injection), except an
    E.164 number, which is no formula. (The importer also reads ``'+…`` in a phone column
    as the number, so a cell escaped by another tool imports back too.)"""
    if value.startswith(_FORMULA_START) and not _E164.fullmatch(value):
        return "'" + value
    return value


def csv_rows(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A CSV file one chunk at a time (so a large file streams); every text cell made safe.

    ``None`` is written as an empty cell; numbers as they are (they cannot start a formula).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow(
            ["" if v is None else safe_cell(v) if isinstance(v, str) else v for v in row]
        )
        if buffer.tell() > _FLUSH_BYTES:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_lines(rejects: Iterable[RejectLike]) -> Iterator[str]:
    """The rejected-rows report (line, column, reason, raw), one chunk at a time."""
    return csv_rows(HEADER, ((r.line, r.column or "", r.reason, r.raw) for r in rejects))
