"""The column-wise chunk (block.py) gives exactly the row-by-row path's verdicts."""

from __future__ import annotations

import csv
import io
import random

from outbound.imports.block import DUPLICATE, NULL, block_from_records, block_from_rows
from outbound.imports.reader import ContactFileReader, Record, RowError
from outbound.imports.rows import ContactRow, validate

PHONES = [
    "(415) 555-0100",
    "415-555-0101",
    "+1 415 555 0102",
    "4155550103",
    " 415.555.0104 ",
    "+44 20 7946 0958",
    "n/a",
    "123",
    "",
    "   ",
    "1-800-FLOWERS",
    "4155550100",  # a repeat of the first
    "4155550105 x12",
    "+" + "1" * 30,  # too long for a phone cell
]
PARAMS = ["", "plain", "tab\there", "back\\slash", "two\nlines", "x" * 300, "  padded  ", "a,b"]


def _file(rng: random.Random, rows: int, header: list[str] | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=rng.choice(["\n", "\r\n"]))
    if header:
        writer.writerow(header)
    width = len(header) if header else 6
    for _ in range(rows):
        roll = rng.random()
        if roll < 0.03:
            out.write("\n")  # blank line
            continue
        if roll < 0.05:
            writer.writerow(["", " ", ""])  # only white space
            continue
        cells = [rng.choice(PHONES) for _ in range(3)] + [rng.choice(PARAMS) for _ in range(3)]
        cells = cells[:width]
        if rng.random() < 0.05:
            cells += ["", " "]  # trailing empty cells
        if rng.random() < 0.03:
            cells += ["extra"]
        if rng.random() < 0.05:
            cells = cells[: rng.randint(1, width)]
        writer.writerow(cells)
    if rng.random() < 0.5:
        out.write('"unclosed,quote\n')
    return out.getvalue().encode()


def _row_by_row(data: bytes, size: int) -> tuple[list[tuple[object, ...]], list[RowError]]:
    """The reference: records one by one, validated, then first-of-chunk by Phone 1."""
    items = list(ContactFileReader(io.BytesIO(data)))
    kept: list[tuple[object, ...]] = []
    errors: list[RowError] = []
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        records = [i for i in chunk if isinstance(i, Record)]
        errors += [i for i in chunk if isinstance(i, RowError)]
        seen: set[str] = set()
        for verdict in validate(records, default_region="US"):
            if isinstance(verdict, RowError):
                errors.append(verdict)
            elif verdict.phone1 in seen:
                errors.append(RowError(verdict.line, "phone1", DUPLICATE, verdict.raw))
            else:
                seen.add(verdict.phone1)
                kept.append(_key(verdict))
    return kept, errors


def _key(row: ContactRow) -> tuple[object, ...]:
    return (row.line, row.phones[:3], row.e164[:3], row.params[:3])


def _by_blocks(data: bytes, size: int) -> tuple[list[tuple[object, ...]], list[RowError], int]:
    reader = ContactFileReader(io.BytesIO(data))
    kept: list[tuple[object, ...]] = []
    errors: list[RowError] = []
    items = 0
    for rows, starts, refused, raws in reader.raw_chunks(size):
        block = block_from_rows(
            rows,
            starts,
            refused,
            columns=reader.columns,
            limits=reader.limits,
            default_region="US",
            copy_text=True,
            raws=raws,
        )
        items += block.items
        errors += block.errors
        assert block.copy_lines is not None
        for i, line in enumerate(block.lines):
            phones = tuple(
                block.values.get(f"phone{k}", [""] * len(block))[i] or None for k in (1, 2, 3)
            )
            e164 = tuple(block.e164.get(f"phone{k}", [None] * len(block))[i] for k in (1, 2, 3))
            params = tuple(
                block.values.get(f"param{k}", [""] * len(block))[i] or None for k in (1, 2, 3)
            )
            kept.append((line, phones, e164, params))
            # COPY's text format reads back to the values
            expected = [
                *(v or None for v in (c[i] for c in block.values.values())),
                *(c[i] for c in block.e164.values()),
            ]
            assert [_unescape(cell) for cell in block.copy_lines[i].split("\t")] == expected
    return kept, errors, items


def _unescape(cell: str) -> str | None:
    if cell == NULL:
        return None
    out, chars = [], iter(cell)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars)
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[nxt])
        else:
            out.append(ch)
    return "".join(out)


def _sorted(errors: list[RowError]) -> list[tuple[object, ...]]:
    return sorted((e.line, e.column or "", e.reason, e.raw) for e in errors)


def test_blocks_agree_with_the_row_by_row_path() -> None:
    rng = random.Random(11)
    headers = [
        ["Phone 1", "phone2", "phone3", "param1", "param2", "param3"],
        ["phone1", "phone2", "phone3", "param1", "param2", "param3"][::-1],
        None,  # positional columns
        ["param1", "Phone 1", "phone_2", "bp2"],
    ]
    for case in range(40):
        header = headers[case % len(headers)]
        data = _file(rng, rng.randint(0, 300), header)
        size = rng.choice([7, 50, 1000])
        kept, errors = _row_by_row(data, size)
        got_kept, got_errors, items = _by_blocks(data, size)
        assert got_kept == kept, case
        assert _sorted(got_errors) == _sorted(errors), case
        assert items == len(list(ContactFileReader(io.BytesIO(data))))


def test_skip_resumes_after_the_same_items() -> None:
    data = _file(random.Random(3), 200, ["phone1", "param1"])
    every = [
        row
        for rows, _, _, _ in ContactFileReader(io.BytesIO(data)).raw_chunks(1000)
        for row in rows
    ]
    for skip in (0, 1, 17, 150):
        reader = ContactFileReader(io.BytesIO(data))
        rest = [row for rows, _, _, _ in reader.raw_chunks(9, skip=skip) for row in rows]
        items = list(ContactFileReader(io.BytesIO(data)))[skip:]
        assert len(rest) + sum(
            1 for i in items if isinstance(i, RowError) and i.reason.startswith("malformed")
        ) == len(items)
        assert rest == every[len(every) - len(rest) :]


def test_records_keep_their_own_raw_text() -> None:
    records = [
        Record(0, {"param1": "a", "phone1": "4155550100"}),
        Record(1, {"phone1": "(415) 555-0100", "param2": "b"}),
        Record(2, {"phone2": "x", "phone1": "4155550101"}),
    ]
    block = block_from_records(records, default_region="US", copy_text=False)
    assert block.lines == [0]
    assert sorted((e.line, e.column, e.raw) for e in block.errors) == [
        (1, "phone1", "(415) 555-0100,b"),
        (2, "phone2", "x,4155550101"),
    ]
