"""A chunk of a contact file as columns: checked, validated, de-duplicated, ready to store.

Why columns: a million-row import spent most of its Python time in per-row objects (a dict
a record, a dataclass a row, a tuple a contact, a binary COPY row). Here each check runs
over a whole column with C-level calls (``map``, ``str.join``, ``in``), and per-row Python
code runs only for the rows that fail one. The verdicts are the row-by-row path's
(``reader._record`` then ``rows.validate``), in the same order of precedence: the column
count, then the first column too long, then a missing Phone 1, then the first bad phone.

Pure: no I/O.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import compress, count

from outbound.contacts.phones import PhoneError
from outbound.imports.reader import (
    PARAM_COLUMNS,
    PHONE_COLUMNS,
    Record,
    RowError,
    clip,
    strip_cell,
)
from outbound.imports.rows import checked_phones

DUPLICATE_MARK = "duplicate: "  # how every duplicate's reason starts (the job counts them)
DUPLICATE = "duplicate: an open life cycle exists for this Phone 1 in the campaign"
DUPLICATE_CRM = "duplicate: an open life cycle exists for this CRM contact id in the campaign"
NUL_CHARACTER = "contains a NUL character"
NULL = "\\N"  # COPY's text format: a NULL
_RECORD_COLUMNS = (*PHONE_COLUMNS, *PARAM_COLUMNS, "crm_contact_id")


@dataclass
class Block:
    """The valid rows of a chunk, each the first of the chunk with its Phone 1, as columns,
    and the chunk's rejected rows (``errors``, with the repeated Phone 1s)."""

    items: int  # records and row errors read: how far the resume point moves
    lines: list[int]
    values: dict[str, list[str]]  # column -> stripped values ("" when empty), file order
    e164: dict[str, list[str | None]]  # phone column -> E.164 number (None when empty)
    errors: list[RowError]
    numbers: list[str] = field(default_factory=list)  # every number of the rows, once
    copy_lines: list[str] | None = None  # each row in COPY's text format (copy_columns)
    raws: list[str] | None = None  # each row's raw text, when it is not the values joined
    bytes_done: int = 0

    def __len__(self) -> int:
        return len(self.lines)

    @property
    def phone1(self) -> list[str]:
        return self.e164["phone1"]  # type: ignore[return-value]  # Phone 1 is required

    @property
    def copy_columns(self) -> tuple[str, ...]:
        """The contacts columns of ``copy_lines``, in their order."""
        return (*self.values, *(f"{name}_e164" for name in self.e164))

    def raw(self, i: int) -> str:
        """Row ``i`` as a rejected row shows it: as it was in the file, or (without its
        text) its values comma-joined, empty ones too, in the file's order."""
        if self.raws is not None:
            return clip(self.raws[i])
        return ",".join(column[i] for column in self.values.values())[:500]

    def drop(self, rows: Collection[int]) -> None:
        """Leave out these rows (indexes into the current columns)."""
        if not rows:
            return
        keep = [True] * len(self.lines)
        for i in rows:
            keep[i] = False
        self.lines = list(compress(self.lines, keep))
        self.values = {name: list(compress(column, keep)) for name, column in self.values.items()}
        self.e164 = {name: list(compress(column, keep)) for name, column in self.e164.items()}
        if self.copy_lines is not None:
            self.copy_lines = list(compress(self.copy_lines, keep))
        if self.raws is not None:
            self.raws = list(compress(self.raws, keep))


def block_from_rows(
    rows: list[list[str]],
    starts: list[int],
    errors: list[RowError],
    *,
    columns: Sequence[str],
    limits: Sequence[int],
    default_region: str,
    copy_text: bool,
    raws: list[str] | None = None,
) -> Block:
    """A block from CSV rows (``starts``: the line each begins on) under ``columns`` (the
    file's column names, "" for an ignored column, with their length ``limits``), and the
    rows the CSV reader refused already. ``copy_text``: also build ``copy_lines``.
    ``raws``: each row's text as it was in the file, which a rejected row shows."""
    width = len(columns)

    def raw_of(i: int) -> str:
        return clip(raws[i]) if raws is not None else ",".join(rows[i])[:500]

    items = len(rows) + len(errors)
    errors = list(errors)
    bad: dict[int, RowError] = {}
    shaped = rows
    if rows and set(map(len, rows)) != {width}:
        shaped = list(rows)
        for i, row in enumerate(rows):
            size = len(row)
            if size == width:
                continue
            # Trailing empty cells are allowed; any other cell beyond the columns is not.
            while size > width and not row[size - 1].strip():
                size -= 1
            if size > width:
                reason = f"{size} columns, at most {width} expected"
                bad[i] = RowError(starts[i], None, reason, raw_of(i))
            size = min(size, width)
            shaped[i] = row[:size] + [""] * (width - size)
    cells = list(zip(*shaped, strict=True)) if rows else [() for _ in columns]
    values: dict[str, list[str]] = {}
    for name, limit, column in zip(columns, limits, cells, strict=True):
        if not name:
            continue
        stripped = list(map(str.strip, column))
        if name.startswith("phone") and "'+" in "".join(stripped):
            stripped = [strip_cell(name, value) for value in stripped]
        if stripped and max(map(len, stripped)) > limit:
            for i, value in enumerate(stripped):
                if len(value) > limit:
                    reason = f"longer than {limit} characters"
                    bad.setdefault(i, RowError(starts[i], name, reason, raw_of(i)))
        if "\x00" in "".join(stripped):  # PostgreSQL's text cannot hold it
            for i, value in enumerate(stripped):
                if "\x00" in value:
                    raw = raw_of(i).replace("\x00", "")
                    bad.setdefault(i, RowError(starts[i], name, NUL_CHARACTER, raw))
        values[name] = stripped
    phone1 = values["phone1"]
    if "" in phone1:
        for i, value in enumerate(phone1):
            if not value:
                reason = "Phone 1 is required"
                bad.setdefault(i, RowError(starts[i], "phone1", reason, raw_of(i)))
    block = Block(items, starts, values, {}, errors, raws=raws)
    # Later checks see the rows an earlier one refused too (a row keeps its first error),
    # and the rows are left out once, at the end.
    _check_phones(block, default_region, bad)
    _find_repeats(block, bad)
    _find_crm_repeats(block, bad)
    block.errors.extend(bad.values())
    block.drop(bad.keys())
    block.numbers = _numbers(block)
    if copy_text:
        block.copy_lines = _copy_lines(block)
    return block


def block_from_records(
    items: Sequence[Record | RowError], *, default_region: str, copy_text: bool
) -> Block:
    """A block from records (a JSON batch): the reader's checks are already made."""
    records = [item for item in items if isinstance(item, Record)]
    errors = [item for item in items if isinstance(item, RowError)]
    rows = [[record.values.get(name, "") for name in _RECORD_COLUMNS] for record in records]
    block = block_from_rows(
        rows,
        [record.line for record in records],
        errors,
        columns=_RECORD_COLUMNS,
        limits=[1 << 30] * len(_RECORD_COLUMNS),
        default_region=default_region,
        copy_text=copy_text,
        raws=[record.raw or ",".join(record.values.values())[:500] for record in records],
    )
    block.items = len(items)
    return block


def _check_phones(block: Block, default_region: str, bad: dict[int, RowError]) -> None:
    """Validate every phone column in one pass each; a row fails at its first bad phone."""
    for name in PHONE_COLUMNS:
        column = block.values.get(name)
        if column is None:
            continue
        filled = None if "" not in column else list(compress(count(), column))
        raws = column if filled is None else list(compress(column, column))
        verdicts, suspects = checked_phones(raws, default_region=default_region)
        for j in suspects:
            verdict = verdicts[j]
            if isinstance(verdict, PhoneError):
                i = j if filled is None else filled[j]
                reason = f"{name}: {verdict.reason}"
                bad.setdefault(i, RowError(block.lines[i], name, reason, block.raw(i)))
                verdicts[j] = None  # type: ignore[call-overload]  # the row is left out
        if filled is None:
            block.e164[name] = verdicts  # type: ignore[assignment]  # errors are None now
        else:  # back to their rows, None in the others
            by_row = dict(zip(filled, verdicts, strict=True))
            block.e164[name] = list(map(by_row.get, range(len(column))))  # type: ignore[arg-type]
    # A bad Phone 1 comes before a bad Phone 2: the loop above ran in slot order, and
    # setdefault kept each row's first error.


def _find_repeats(block: Block, bad: dict[int, RowError]) -> None:
    """Rows whose Phone 1 an earlier valid row of the block has are rejected as duplicates."""
    phone1: list[str | None] = list(block.phone1)
    for i in bad:
        phone1[i] = None  # a refused row claims no number
    size, refused = len(phone1), phone1.count(None)
    if len(set(phone1)) - (refused > 0) == size - refused:
        return  # every number once
    # Each number's first row: the dict keeps the last of its keys' values, so go backwards.
    first = dict(zip(reversed(phone1), range(size - 1, -1, -1), strict=True))
    for i in compress(count(), map(operator.ne, map(first.__getitem__, phone1), count())):
        if phone1[i] is not None:
            bad[i] = RowError(block.lines[i], "phone1", DUPLICATE, block.raw(i))


def _find_crm_repeats(block: Block, bad: dict[int, RowError]) -> None:
    """Rows whose CRM contact id an earlier valid row of the block has are duplicates."""
    crm_ids = block.values.get("crm_contact_id")
    if not crm_ids:
        return
    filled = [c for i, c in enumerate(crm_ids) if c and i not in bad]
    if len(set(filled)) == len(filled):
        return  # every id once
    seen: set[str] = set()
    for i, crm_id in enumerate(crm_ids):
        if not crm_id or i in bad:
            continue
        if crm_id in seen:
            bad[i] = RowError(block.lines[i], "crm_contact_id", DUPLICATE_CRM, block.raw(i))
        seen.add(crm_id)


def _numbers(block: Block) -> list[str]:
    numbers: set[str | None] = set()
    for column in block.e164.values():
        numbers.update(column)
    numbers.discard(None)
    return list(numbers)  # type: ignore[arg-type]  # None is out


def _copy_lines(block: Block) -> list[str]:
    """Each row's columns in COPY's text format, tab-separated (see copy_columns)."""
    columns = [_copy_text(column) for column in block.values.values()]
    columns += [[NULL if n is None else n for n in column] for column in block.e164.values()]
    return list(map("\t".join, zip(*columns, strict=True)))


def _copy_text(column: list[str]) -> list[str]:
    """Values in COPY's text format: backslash, tab and line breaks escaped, "" as NULL."""
    joined = "\n".join(column)
    if "\\" in joined or "\t" in joined or "\r" in joined or joined.count("\n") >= len(column):
        column = [_escape(value) for value in column]
    else:  # the usual case: nothing to escape
        column = joined.split("\n") if column else []
    return [value or NULL for value in column] if "" in column else column


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )
