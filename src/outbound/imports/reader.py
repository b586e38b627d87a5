"""Streaming reader of contact files (.csv/.txt): structure only, no phone validation.

It turns a byte stream into records of the 17 contact columns (plus an optional CRM id),
each with the line number where it starts, or a row error naming the line, the column and
the reason. Memory does not grow with the file: one record at a time.

Every line ends in exactly one place: a record, a blank line, the header, or a row error
with its own line number. Two rules make that hold for broken files:

- Lines are decoded one by one, so a byte that is not UTF-8 costs its own line only
  (reported as not UTF-8 at that byte), never the chunk around it or the rest of the file.
- A quoted field that does not close properly (the CSV reader fails, the record runs over
  ``MAX_RECORD_LINES`` lines or to the end of the file, or it leaves a line break in a phone
  or has more columns than the header) takes only the line where it opened: that line is
  reported, and the lines after it are read again as rows of their own.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from outbound.imports.lines import BOM, Lines, RunawayRecord

PHONE_COLUMNS = tuple(f"phone{i}" for i in range(1, 6))
PARAM_COLUMNS = tuple(f"param{i}" for i in range(1, 13))
POSITIONAL = PHONE_COLUMNS + PARAM_COLUMNS
OPTIONAL_COLUMNS = ("crm_contact_id",)
MAX_PHONE = 28
MAX_PARAM = 255
MAX_CRM_ID = 128
MAX_RAW = 500
SNIFF_BYTES = 64 * 1024
OTHER_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'"}
UNCLOSED_QUOTE = (
    "malformed CSV: a quoted field opened on this line does not close properly;"
    " the lines after it are read as rows of their own"
)

csv.field_size_limit(1024 * 1024)


class FileRejected(Exception):
    """The whole file is unusable (not text, bad header, wrong delimiter)."""


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    values: dict[str, str]  # column name -> stripped value; empty cells omitted
    raw: str = field(default="", compare=False)  # the line(s) as they were in the file


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str | None
    reason: str
    raw: str


def canonical_header(cell: str) -> str | None:
    """Map a header cell to a column name: ``Phone 1``, ``phone_1``, ``PHONE1`` -> phone1;
    ``Business Parameter 3``, ``param3``, ``bp3`` -> param3; ``CRM contact id`` -> crm_contact_id.
    """
    key = re.sub(r"[\s_\-.]+", "", cell.strip().lower())
    match = re.fullmatch(r"(?:phone|phonenumber|tel)([1-5])", key)
    if match:
        return f"phone{match.group(1)}"
    match = re.fullmatch(r"(?:param|parameter|businessparameter|businessparam|bp)(\d{1,2})", key)
    if match and 1 <= int(match.group(1)) <= 12:
        return f"param{int(match.group(1))}"
    if key in {"crmcontactid", "crmid", "contactid", "externalid"}:
        return "crm_contact_id"
    return None


def check_text(head: bytes) -> None:
    """Refuse binary files early, by their first bytes. Text that is not UTF-8 is judged
    line by line (each such line is a rejected row), not here."""
    if b"\x00" in head:
        raise FileRejected("the file is not text: it contains NUL bytes")


def clip(text: str) -> str:
    """A line as a rejected row shows it: without its line break, at most MAX_RAW long."""
    return text.rstrip("\r\n")[:MAX_RAW]


class ContactFileReader:
    """A contact file's header (read at once) and rows (``raw_chunks``, or iterate).

    ``warnings`` says, once for the file, what of it is not imported although the file is:
    columns the header does not name as contact columns.
    """

    def __init__(self, stream: BinaryIO) -> None:
        """``stream`` must be seekable (uploads are spooled, folder files are files)."""
        start = stream.tell()
        check_text(stream.read(SNIFF_BYTES))
        stream.seek(start)
        if stream.read(len(BOM)) != BOM:
            stream.seek(start)
        self._lines = Lines(stream)
        self._csv = csv.reader(self._lines, strict=True)
        self.columns: tuple[str, ...] = POSITIONAL
        self.limits = tuple(map(_limit, POSITIONAL))
        self.has_header = False
        self.warnings: list[str] = []
        self._pending: list[tuple[int, list[str] | RowError, str]] = []
        self._start()

    def _start(self) -> None:
        """Read up to the first row: the header, or the first row of a file without one."""
        while True:
            item = self._next()
            if item is None:
                return
            row = item[1]
            if isinstance(row, list):
                if not "".join(row).strip():
                    continue  # blank line
                _check_delimiter(row)
                if self._take_header(row):
                    return
            self._pending.append(item)
            return

    def _next(self) -> tuple[int, list[str] | RowError, str] | None:
        """The next item the slow way (header, unusual lines): its line, row or error, raw."""
        if self._pending:
            return self._pending.pop()
        lines = self._lines
        lines.record.clear()
        start = lines.number + 1
        try:
            row = next(self._csv)
        except StopIteration:
            return None
        except (csv.Error, RunawayRecord) as exc:
            return start, self._broken(start, exc), ""
        return self._checked(start, row)

    def _checked(self, start: int, row: list[str]) -> tuple[int, list[str] | RowError, str]:
        """A row that spans lines or holds an undecodable line: kept, or a row error."""
        lines = self._lines
        end = lines.number
        raw = clip("".join(lines.record))
        bad = [n for n in range(start, end + 1) if n in lines.bad]
        if bad and end == start:
            reason, text = lines.bad.pop(start)
            return start, RowError(start, None, reason, text), text
        if bad or (end > start and self._ran_over(row)):
            return start, self._broken(start, None), raw
        return start, row, raw

    def _ran_over(self, row: list[str]) -> bool:
        """A row over several lines is a quote that ran over if it has more columns than the
        header or a line break in a phone or the CRM id (where none can be)."""
        size = len(row)
        while size > len(self.columns) and not row[size - 1].strip():
            size -= 1
        if size > len(self.columns):
            return True
        return any(
            "\n" in cell or "\r" in cell
            for name, cell in zip(self.columns, row, strict=False)
            if name.startswith("phone") or name == "crm_contact_id"
        )

    def _broken(self, start: int, exc: Exception | None) -> RowError:
        """Reject the line a broken record starts on; read the lines after it again."""
        lines = self._lines
        record = list(lines.record)
        first = clip(record[0]) if record else ""
        bad = lines.bad.pop(start, None)
        if isinstance(exc, RunawayRecord) or len(record) > 1:
            # A generator that raised (runaway) or ran out (end of file inside the quote)
            # is finished: a new one, after the lines given back.
            self._csv = csv.reader(lines.restart(), strict=True)
        if len(record) > 1:
            lines.push_back(start, record[1:])
            reason = bad[0] if bad else UNCLOSED_QUOTE
            return RowError(start, None, reason, bad[1] if bad else first)
        if bad:
            return RowError(start, None, bad[0], bad[1])
        return RowError(start, None, f"malformed CSV: {exc}", first)

    def __iter__(self) -> Iterator[Record | RowError]:
        for rows, starts, errors, raws in self.raw_chunks(1000):
            records = [
                self._record(line, row, clip(raw))
                for line, row, raw in zip(starts, rows, raws, strict=True)
            ]
            yield from sorted([*records, *errors], key=lambda item: item.line)

    def raw_chunks(
        self, size: int, *, skip: int = 0
    ) -> Iterator[tuple[list[list[str]], list[int], list[RowError], list[str]]]:
        """The file in chunks of ``size`` items (rows and row errors, blank lines not
        counted), after the first ``skip`` items: each chunk's rows, the line each starts
        on, its errors, and each row's text as it was in the file (with its line break:
        ``clip`` it to show it).

        Written for speed (it runs once per line of every file): the usual line, one line
        of UTF-8, is handled here; anything else goes through ``_checked``/``_broken``.
        """
        lines, reader, record = self._lines, self._csv, self._lines.record
        done = False
        while not done:
            rows: list[list[str]] = []
            starts: list[int] = []
            errors: list[RowError] = []
            raws: list[str] = []
            append, begins, texts = rows.append, starts.append, raws.append
            while len(rows) + len(errors) < size:
                if self._pending or lines.bad:
                    item = self._next()
                    reader = self._csv  # a new one after a runaway record
                    if item is None:
                        done = True
                        break
                    start, row, raw = item
                else:
                    record.clear()
                    start = lines.number + 1
                    try:
                        row = next(reader)
                    except StopIteration:
                        done = True
                        break
                    except (csv.Error, RunawayRecord) as exc:
                        start, row, raw = start, self._broken(start, exc), ""
                        reader = self._csv  # a new one after a runaway record
                    else:
                        if lines.number != start or lines.bad:
                            start, row, raw = self._checked(start, row)
                            reader = self._csv
                        else:
                            raw = record[0]
                if isinstance(row, RowError):
                    if skip:
                        skip -= 1
                    else:
                        errors.append(row)
                    continue
                if not (row and row[0].strip()) and not "".join(row).strip():
                    continue  # blank line (only white space in every cell)
                if skip:
                    skip -= 1
                    continue
                append(row)
                begins(start)
                texts(raw)
            if rows or errors:
                yield rows, starts, errors, raws  # clipped when shown (a row rejected)

    def _take_header(self, row: list[str]) -> bool:
        """Use the first row as the header if it names a contact column. Columns it does
        not name (unknown or blank) are ignored, and said so once in ``warnings``."""
        names = [canonical_header(c) for c in row]
        if all(n is None for n in names):
            return False
        seen = [n for n in names if n is not None]
        duplicates = sorted({n for n in seen if seen.count(n) > 1})
        if duplicates:
            raise FileRejected(f"column(s) named twice in the header: {', '.join(duplicates)}")
        if "phone1" not in seen:
            raise FileRejected("the header has no Phone 1 column")
        unknown = [c.strip() for c, n in zip(row, names, strict=True) if n is None and c.strip()]
        if unknown:
            self.warnings.append(
                f"ignored column(s), not contact columns: {', '.join(map(repr, unknown))}"
            )
        blank = [str(i) for i, c in enumerate(row, 1) if not c.strip()]
        if blank:
            self.warnings.append(
                f"column(s) {', '.join(blank)} of the header have no name: their values are ignored"
            )
        self.columns = tuple(n or "" for n in names)
        self.limits = tuple(_limit(n) if n else 0 for n in self.columns)
        self.has_header = True
        return True

    def _record(self, line: int, row: list[str], raw: str) -> Record | RowError:
        """``make_record`` for one CSV row (the row-by-row path, for tests and small uses)."""
        columns = self.columns
        # Trailing empty cells are allowed; any other cell beyond the known columns is not.
        size = len(row)
        while size > len(columns) and not row[size - 1].strip():
            size -= 1
        if size > len(columns):
            return RowError(line, None, f"{size} columns, at most {len(columns)} expected", raw)
        values: dict[str, str] = {}
        for name, limit, cell in zip(columns, self.limits, row, strict=False):
            value = strip_cell(name, cell)
            if not value or not name:
                continue
            if len(value) > limit:
                return RowError(line, name, f"longer than {limit} characters", raw)
            values[name] = value
        if "phone1" not in values:
            return RowError(line, "phone1", "Phone 1 is required", raw)
        return Record(line, values, raw)


def _check_delimiter(row: list[str]) -> None:
    """A first row that is one cell holding ``;``, a tab or ``|``: the file is not
    comma-separated, and every row would be refused for it. Say so once, for the file."""
    if len(row) != 1:
        return
    for delimiter, name in OTHER_DELIMITERS.items():
        if delimiter in row[0]:
            raise FileRejected(f"wrong delimiter: {name}: the file must be comma-separated (',')")


def strip_cell(name: str, cell: str) -> str:
    """A cell's value: stripped; in a phone column, without the apostrophe a spreadsheet
    export puts before a leading ``+`` (``'+1 415…``, so that it is not read as a formula)."""
    value = cell.strip()
    if value[:2] == "'+" and name.startswith("phone"):
        return value[1:].strip()
    return value


def make_record(line: int, cells: Iterable[tuple[str, str]], raw: str) -> Record | RowError:
    """A record from (column, value) pairs, or the row's first length or presence error."""
    values: dict[str, str] = {}
    for name, cell in cells:
        value = cell.strip()
        if not value or not name:
            continue
        limit = _limit(name)
        if len(value) > limit:
            return RowError(line, name, f"longer than {limit} characters", raw)
        values[name] = value
    if "phone1" not in values:
        return RowError(line, "phone1", "Phone 1 is required", raw)
    return Record(line, values, raw)


def _limit(name: str) -> int:
    if name.startswith("phone"):
        return MAX_PHONE
    if name == "crm_contact_id":
        return MAX_CRM_ID
    return MAX_PARAM
