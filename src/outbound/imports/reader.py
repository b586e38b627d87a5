"""Streaming reader of contact files (.csv/.txt): structure only, no phone validation.

It turns a byte stream into records of the 17 contact columns (plus an optional CRM id),
each with the line number where it starts, or a row error naming the line, the column and
the reason. Memory does not grow with the file: one record at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

PHONE_COLUMNS = tuple(f"phone{i}" for i in range(1, 6))
PARAM_COLUMNS = tuple(f"param{i}" for i in range(1, 13))
POSITIONAL = PHONE_COLUMNS + PARAM_COLUMNS
OPTIONAL_COLUMNS = ("crm_contact_id",)
MAX_PHONE = 28
MAX_PARAM = 255
MAX_CRM_ID = 128
SNIFF_BYTES = 64 * 1024

csv.field_size_limit(1024 * 1024)


class FileRejected(Exception):
    """The whole file is unusable (not text, bad header, no usable row)."""


@dataclass(frozen=True, slots=True)
class Record:
    line: int
    values: dict[str, str]  # column name -> stripped value; empty cells omitted


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
    """Refuse binary files early, by their first bytes."""
    if b"\x00" in head:
        raise FileRejected("the file is not text: it contains NUL bytes")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise FileRejected(
            f"the file is not UTF-8 text (invalid byte at offset {exc.start})"
        ) from exc


class ContactFileReader:
    """Iterate a contact file's records. ``errors`` lists rejected rows as they are met."""

    def __init__(self, stream: BinaryIO) -> None:
        """``stream`` must be seekable (uploads are spooled, folder files are files)."""
        start = stream.tell()
        check_text(stream.read(SNIFF_BYTES))
        stream.seek(start)
        self._text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        self.columns: tuple[str, ...] = POSITIONAL
        self.limits = tuple(map(_limit, POSITIONAL))
        self.has_header = False

    def __iter__(self) -> Iterator[Record | RowError]:
        reader = csv.reader(self._text, strict=True)
        previous_end = 0
        first = True
        while True:
            start = previous_end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError as exc:
                raise FileRejected(f"the file is not UTF-8 text after line {previous_end}") from exc
            except csv.Error as exc:
                previous_end = reader.line_num
                yield RowError(start, None, f"malformed CSV: {exc}", "")
                continue
            previous_end = reader.line_num
            if first:
                first = False
                if self._take_header(row):
                    continue
            if not (row and row[0].strip()) and not "".join(row).strip():
                continue  # blank line (only white space in every cell)
            yield self._record(start, row)

    def raw_chunks(
        self, size: int, *, skip: int = 0
    ) -> Iterator[tuple[list[list[str]], list[int], list[RowError]]]:
        """The file in chunks of ``size`` items (rows and malformed-CSV errors, blank lines
        not counted), after the first ``skip`` items: each chunk's rows, the line each row
        starts on, and its errors. The same items as iterating, without a record a row."""
        reader = csv.reader(self._text, strict=True)
        previous_end = 0
        first = True
        done = False
        while not done:
            rows: list[list[str]] = []
            starts: list[int] = []
            errors: list[RowError] = []
            append, begins = rows.append, starts.append
            while len(rows) + len(errors) < size:
                start = previous_end + 1
                try:
                    row = next(reader)
                except StopIteration:
                    done = True
                    break
                except UnicodeDecodeError as exc:
                    raise FileRejected(
                        f"the file is not UTF-8 text after line {previous_end}"
                    ) from exc
                except csv.Error as exc:
                    previous_end = reader.line_num
                    if skip:
                        skip -= 1
                    else:
                        errors.append(RowError(start, None, f"malformed CSV: {exc}", ""))
                    continue
                previous_end = reader.line_num
                if first:
                    first = False
                    if self._take_header(row):
                        continue
                if not (row and row[0].strip()) and not "".join(row).strip():
                    continue  # blank line (only white space in every cell)
                if skip:
                    skip -= 1
                    continue
                append(row)
                begins(start)
            if rows or errors:
                yield rows, starts, errors

    def _take_header(self, row: list[str]) -> bool:
        cells = [c for c in row if c.strip()]
        if not cells:
            return False
        names = [canonical_header(c) for c in row]
        if all(n is None for n in names):
            return False
        unknown = [c for c, n in zip(row, names, strict=True) if n is None and c.strip()]
        if unknown:
            raise FileRejected(f"unknown column(s) in the header: {', '.join(map(repr, unknown))}")
        seen = [n for n in names if n is not None]
        duplicates = sorted({n for n in seen if seen.count(n) > 1})
        if duplicates:
            raise FileRejected(f"column(s) named twice in the header: {', '.join(duplicates)}")
        if "phone1" not in seen:
            raise FileRejected("the header has no Phone 1 column")
        self.columns = tuple(n or "" for n in names)
        self.limits = tuple(_limit(n) if n else 0 for n in self.columns)
        self.has_header = True
        return True

    def _record(self, line: int, row: list[str]) -> Record | RowError:
        """``make_record`` for one CSV row, inlined: this runs once per row of every file."""
        columns = self.columns
        # Trailing empty cells are allowed; any other cell beyond the known columns is not.
        size = len(row)
        while size > len(columns) and not row[size - 1].strip():
            size -= 1
        if size > len(columns):
            raw = ",".join(row)[:500]
            return RowError(line, None, f"{size} columns, at most {len(columns)} expected", raw)
        values: dict[str, str] = {}
        for name, limit, cell in zip(columns, self.limits, row, strict=False):
            if not cell:
                continue
            value = cell.strip()
            if not value or not name:
                continue
            if len(value) > limit:
                return RowError(line, name, f"longer than {limit} characters", ",".join(row)[:500])
            values[name] = value
        if "phone1" not in values:
            return RowError(line, "phone1", "Phone 1 is required", ",".join(row)[:500])
        return Record(line, values)


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
    return Record(line, values)


def _limit(name: str) -> int:
    if name.startswith("phone"):
        return MAX_PHONE
    if name == "crm_contact_id":
        return MAX_CRM_ID
    return MAX_PARAM
