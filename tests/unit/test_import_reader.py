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
        (b"\xff\xfe\xfa caf\xe9", "not UTF-8"),
        (b"phone1,colour\n1,red\n", "unknown column"),
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
