"""The physical lines of a contact file, decoded one at a time, numbered, and re-readable.

Why not ``io.TextIOWrapper``: it decodes in blocks of several kilobytes, so one byte that
is not UTF-8 fails a whole block (the rows around it, and with them the file), and its
line cannot be told. Here each line is decoded alone: a bad one is remembered with its
number and the byte at fault, and handed to the CSV reader as an empty line. The reader
(``reader.ContactFileReader``) reports it as a rejected row.

Why re-readable: a quote that never closes makes the CSV reader swallow every line after
it into one field. The reader gives the lines of such a record back (``push_back``) and
reads them again as rows of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

BOM = b"\xef\xbb\xbf"
# A record (one row of the file) may span at most this many lines: a quoted field with line
# breaks in it. Beyond it, the quote is taken as one that does not close.
MAX_RECORD_LINES = 100


class RunawayRecord(Exception):
    """A record ran over MAX_RECORD_LINES lines: its quote does not close. The iterator
    is finished then: see ``Lines.restart``."""


class Lines:
    """An iterator of a byte stream's lines as text, for ``csv.reader``.

    ``number`` is the number of the last line handed out; ``record`` the lines handed out
    since the caller last cleared it (the lines of the record being read); ``bad`` the
    lines that are not UTF-8, by number: (reason, the line with the bad bytes escaped).
    """

    __slots__ = ("_back", "_lines", "_source", "bad", "number", "record")

    def __init__(self, stream: BinaryIO) -> None:
        self._source: Iterator[bytes] = iter(stream)
        self._back: list[str] = []  # lines to hand out again, the next one last
        self.number = 0
        self.record: list[str] = []
        self.bad: dict[int, tuple[str, str]] = {}
        # A generator: the CSV reader resumes it for each line, much cheaper than a call of
        # a ``__next__`` method (this runs once per line of every file).
        self._lines = self._generate()

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def _generate(self) -> Iterator[str]:
        back, record = self._back, self.record
        for raw in self._source:
            while back:  # lines given back since the last one: before this one
                yield self._take(back.pop())
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                text = self._undecodable(raw, exc)
            self.number += 1
            record.append(text)
            if len(record) > MAX_RECORD_LINES:
                raise RunawayRecord(f"a record runs over more than {MAX_RECORD_LINES} lines")
            yield text
        while back:
            yield self._take(back.pop())

    def _take(self, text: str) -> str:
        self.number += 1
        self.record.append(text)
        if len(self.record) > MAX_RECORD_LINES:
            raise RunawayRecord(f"a record runs over more than {MAX_RECORD_LINES} lines")
        return text

    def _undecodable(self, raw: bytes, exc: UnicodeDecodeError) -> str:
        number = self.number + 1
        byte = raw[exc.start]
        reason = f"not UTF-8 text: byte {exc.start + 1} of the line (0x{byte:02X}) is not valid"
        self.bad[number] = (reason, raw.decode("utf-8", "backslashreplace").rstrip("\r\n"))
        return "\r\n" if raw.endswith(b"\r\n") else "\n"

    def restart(self) -> Iterator[str]:
        """A fresh generator after RunawayRecord (a generator that raised is finished),
        going on from the next line; the caller gives it to a new CSV reader."""
        self._lines = self._generate()
        return self._lines

    def push_back(self, first: int, lines: list[str]) -> None:
        """Hand out ``lines`` again, numbered from ``first + 1`` (they followed line
        ``first``)."""
        self._back.extend(reversed(lines))
        self.number = first
