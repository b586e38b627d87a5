"""Naming rules of the watched folder: what is picked up, and how archived names are made."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from outbound.imports.folder_files import (
    MAX_NAME_BYTES,
    cell,
    fit,
    free_name,
    is_candidate,
    safe_name,
)


@pytest.mark.parametrize(
    ("name", "taken"),
    [
        ("list.csv", True),
        ("LIST.CSV", True),
        ("export.Txt", True),
        ("notes.pdf", False),
        (".hidden.csv", False),
        ("list.csv.part", False),
        ("list.csv.crdownload", False),
        ("list.CSV.TMP", False),
        ("csv", False),
    ],
)
def test_only_visible_finished_csv_and_txt_files_are_candidates(name: str, taken: bool) -> None:
    assert is_candidate(name) is taken


def test_names_become_one_utf8_path_component() -> None:
    assert safe_name(os.fsdecode(b"caf\xe9.csv")) == "caf\ufffd.csv"
    assert safe_name("a/b\\c.csv") == "c.csv"
    assert safe_name("..") == "file"


def test_long_names_are_cut_but_keep_their_extension() -> None:
    name = "é" * 300 + ".csv"
    short = fit(name)
    assert short.endswith(".csv") and len(short.encode()) <= MAX_NAME_BYTES
    assert fit("list.csv") == "list.csv"


def test_archive_names_are_timestamped_and_never_reused(tmp_path: Path) -> None:
    at = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = free_name(tmp_path, at, "list.csv", set())
    assert first.name == "20250102T030405Z-list.csv"
    first.write_text("")
    second = free_name(tmp_path, at, "list.csv", set())
    assert second.name == "20250102T030405Z-list-2.csv"
    assert free_name(tmp_path, at, "list.csv", {str(second)}).name == "20250102T030405Z-list-3.csv"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_report_cells_that_a_spreadsheet_would_run_are_neutralised(value: str) -> None:
    assert cell(value) == f"'{value}"


def test_other_report_cells_are_kept() -> None:
    assert cell("phone1: not a number") == "phone1: not a number"
