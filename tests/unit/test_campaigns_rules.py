"""Campaign naming rules."""

from __future__ import annotations

import pytest

from outbound.campaigns.rules import crm_id_problem, name_problem


@pytest.mark.parametrize("name", ["abcd", "Spring_2030-sale", "A" * 64, "1234", "____"])
def test_good_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("abc", "at least 4"),
        ("A" * 65, "at most 64"),
        ("spring sale", "' '"),
        ("café-menu", "'é'"),
        ("semi;colon", "';'"),
        ("tab\tname", "'\\t'"),
    ],
)
def test_bad_names_say_why(name: str, reason: str) -> None:
    problem = name_problem(name)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize("crm_id", ["1", "SIEBEL:1-ABC", "a.b_c-d#e?f", "x" * 128, "ÄÖÜ"])
def test_good_crm_ids(crm_id: str) -> None:
    assert crm_id_problem(crm_id) is None


@pytest.mark.parametrize(
    "crm_id", ["", "x" * 129, "two words", "tab\there", "nul\x00", "a/b", "\u00a0"]
)
def test_bad_crm_ids(crm_id: str) -> None:
    assert crm_id_problem(crm_id) is not None
