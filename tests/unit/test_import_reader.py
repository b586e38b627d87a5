"""The contact-file reader: structure, line numbers and whole-file refusals."""

from __future__ import annotations

import io

import pytest

from outbound.imports.reader import ContactFileReader, FileRejected, Record, RowError


def read(data: bytes) -> tuple[list[Record | RowError], ContactFileReader]:
    reader = ContactFileReader(io.BytesIO(data))
    return list(reader), reader


def test_header_is_matched_case_insensitively_and_bom_crlf_are_accepted() -> None:
    rows, reader = read("\ufeffPhone 1,PHONE_2,Business Parameter 12\r\n+1 415,x,y\r\n".encode())
    assert reader.has_header
    assert rows == [Record(2, {"phone1": "+1 415", "phone2": "x", "param12": "y"})]


def test_without_header_columns_are_positional() -> None:
    rows, reader = read(b"+14155550100,,,,,acct\n")
    assert not reader.has_header
    assert rows == [Record(1, {"phone1": "+14155550100", "param1": "acct"})]


def test_quoted_commas_and_newlines_keep_line_numbers_right() -> None:
    rows, _ = read(b'phone1,param1\n1,"a, b"\n2,"multi\nline"\n3,c\n')
    assert [r.line for r in rows] == [2, 3, 5]
    assert isinstance(rows[1], Record) and rows[1].values["param1"] == "multi\nline"


def test_trailing_empty_columns_are_allowed_but_extra_values_are_not() -> None:
    rows, _ = read(b"phone1,param1\n1,a,,,\n2,b,extra\n")
    assert isinstance(rows[0], Record)
    assert rows[1] == RowError(3, None, "3 columns, at most 2 expected", "2,b,extra")


def test_over_long_fields_and_missing_phone1_name_the_column() -> None:
    long_param = "p" * 256
    rows, _ = read(f"phone1,param1\n{'1' * 29},a\n2,{long_param}\n,a\n".encode())
    assert [(r.line, r.column) for r in rows if isinstance(r, RowError)] == [
        (2, "phone1"),
        (3, "param1"),
        (4, "phone1"),
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00\x01\x02\x03binary", "not text"),
        (b"Phone 1;Param 1\n+14155550100;gold\n", "wrong delimiter: ';'"),
        (b"+14155550100\tgold\n+14155550101\tsilver\n", "wrong delimiter: tab"),
        (b"phone1,phone 1\n1,2\n", "named twice"),
        (b"param1,param2\na,b\n", "no Phone 1"),
    ],
)
def test_unusable_files_are_refused_whole(data: bytes, reason: str) -> None:
    with pytest.raises(FileRejected, match=reason):
        read(data)


def test_blank_lines_and_an_empty_file_give_no_records() -> None:
    assert read(b"")[0] == []
    assert read(b"\n\r\n\n")[0] == []


def lines_of(items: list[Record | RowError]) -> list[int]:
    return sorted(item.line for item in items)


def test_an_unclosed_quote_costs_its_own_line_only() -> None:
    """On main the quote swallowed every row after it into one field (a 60,000-row file
    lost 44,154 rows): each line must end as a record or a row error of its own."""
    body = [f"+1415555{i:04d},p{i}" for i in range(3000)]
    body[10] = '+14155559999,"Smith, John'  # opens a quote that never closes
    rows, _ = read(("phone1,param1\n" + "\n".join(body) + "\n").encode())
    assert lines_of(rows) == list(range(2, 3002))
    errors = [r for r in rows if isinstance(r, RowError)]
    assert [(e.line, e.raw) for e in errors] == [(12, '+14155559999,"Smith, John')]
    assert "quoted field" in errors[0].reason


def test_a_quote_closing_lines_later_gives_the_lines_between_back() -> None:
    rows, _ = read(b'phone1,param1\n1,"abc\n2,x\n3,y\n4,"z"w\n5,ok\n')
    assert lines_of(rows) == [2, 3, 4, 5, 6]
    assert [r.line for r in rows if isinstance(r, RowError)] == [2, 5]


def test_a_line_that_is_not_utf8_is_rejected_alone_with_its_line_and_byte() -> None:
    good = "".join(f"+1415555{i:04d},{'p' * 20}\n" for i in range(4000))  # > 64 KiB
    data = b"phone1,param1\n" + good.encode() + b"+14155550000,caf\xe9\n+14155550001,ok\n"
    rows, _ = read(data)
    assert lines_of(rows) == list(range(2, 4004))
    errors = [r for r in rows if isinstance(r, RowError)]
    assert errors == [
        RowError(
            4002,
            None,
            "not UTF-8 text: byte 17 of the line (0xE9) is not valid",
            "+14155550000,caf\\xe9",
        )
    ]


def test_unknown_and_blank_header_columns_are_ignored_and_said_once() -> None:
    rows, reader = read(b"First name,Phone 1,,Param 1\nBob,+14155550100,x,gold\n")
    assert rows == [Record(2, {"phone1": "+14155550100", "param1": "gold"})]
    assert reader.warnings == [
        "ignored column(s), not contact columns: 'First name'",
        "column(s) 3 of the header have no name: their values are ignored",
    ]


def test_a_rejected_row_shows_its_line_as_it_was() -> None:
    rows, _ = read(b'phone1,phone2,param1\n+14155550100,,a,"b",,\n')
    assert rows == [RowError(2, None, "4 columns, at most 3 expected", '+14155550100,,a,"b",,')]


def test_a_spreadsheet_apostrophe_before_a_phone_is_not_part_of_it() -> None:
    rows, _ = read(b"phone1,param1\n'+1 415 555 0100,'+x\n")
    assert rows == [Record(2, {"phone1": "+1 415 555 0100", "param1": "'+x"})]


def test_every_line_ends_once_whatever_breaks_around_it() -> None:
    body = [f"+1415555{i:04d},p{i}".encode() for i in range(1000)]
    body[5] = b'+14155550005,"opens'  # a quote that runs over 100 lines, then closes
    body[180] = b'+14155550180,"x"y'  # closes a quote, then more: malformed
    body[200] = b"+14155550200,caf\xe9"  # not UTF-8, inside the re-read lines
    body[203] = b'+14155550203,"opens again'
    body[402] = b'+14155550402,closes"'
    body[990] = b'+14155550990,"runs to the end'
    rows, _ = read(b"phone1,param1\r\n" + b"\r\n".join(body) + b"\r\n")
    assert lines_of(rows) == list(range(2, 1002))
    errors = {r.line for r in rows if isinstance(r, RowError)}
    assert errors == {7, 182, 202, 205, 992}
    raws = {r.line: r.raw for r in rows}
    assert raws[100] == "+14155550098,p98" and raws[404] == '+14155550402,closes"'


def test_a_quote_that_runs_over_a_phone_is_given_back_in_every_path() -> None:
    """Chunked reading (the import's path) and iterating agree, whatever the chunk size."""
    body = [f"+1415555{i:04d},p{i}" for i in range(60)]
    body[3] = '+14155550003,"a'
    body[5] = '+14155550005",b'  # closes the quote: a line break inside Phone 1
    body[58] = '"+14155550058,c'  # runs to the end of the file
    data = ("phone1,param1\n" + "\n".join(body) + "\n").encode()
    for size in (1, 2, 7, 1000):
        reader = ContactFileReader(io.BytesIO(data))
        lines = []
        for rows, starts, errors, _ in reader.raw_chunks(size):
            lines += starts + [e.line for e in errors]
            assert len(rows) + len(errors) <= size
        assert sorted(lines) == list(range(2, 62)), size
