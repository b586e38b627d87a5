"""Every call result Cisco's Outbound Option guide lists maps to an outcome (or, for the two
that are not results, to waiting), as DESIGN.md's table says; and the UCCX codes we know.

The expected table is written out here from the guide's "CallResult Codes and Values" and
DESIGN.md ("Cisco CallResult" column), not taken from the product's module.
"""

from __future__ import annotations

import pytest

from outbound.channels.cisco.codes import (
    CCE_CALL_RESULTS,
    UCCX_CALL_RESULTS,
    map_result,
)
from outbound.strategies.outcomes import Outcome

# The guide lists 0 and 2-33 (no 1).
DOCUMENTED = [0, *range(2, 34)]
# DESIGN.md's column, code by code.
DESIGN = {
    10: Outcome.CONNECTED,
    9: Outcome.BUSY,
    8: Outcome.NO_ANSWER,
    4: Outcome.NO_ANSWER,
    12: Outcome.ANSWERING_MACHINE,
    22: Outcome.ANSWERING_MACHINE,
    21: Outcome.CUSTOMER_ABANDONED,
    16: Outcome.DIALER_ABANDONED,
    20: Outcome.DIALER_ABANDONED,
    13: Outcome.DIALER_ABANDONED,
    3: Outcome.INVALID_NUMBER,
    7: Outcome.INVALID_NUMBER,
    5: Outcome.INVALID_NUMBER,
    2: Outcome.NETWORK_ERROR,
    6: Outcome.NETWORK_ERROR,
    27: Outcome.NETWORK_ERROR,
    28: Outcome.NETWORK_ERROR,
    11: Outcome.FAX,
    24: Outcome.WRONG_PERSON,
    14: Outcome.CALLBACK_REQUESTED,
}
# The rest, from the guide's retry actions (see the module docstring for why each).
OTHERS = {
    15: Outcome.CALLBACK_REQUESTED,
    17: Outcome.DIALER_ABANDONED,
    18: Outcome.NO_ANSWER,
    19: Outcome.DECLINED,
    23: Outcome.INVALID_NUMBER,
    26: Outcome.DECLINED,
    29: Outcome.NETWORK_ERROR,
    30: Outcome.NETWORK_ERROR,
    31: Outcome.NETWORK_ERROR,
    32: Outcome.NETWORK_ERROR,
    33: Outcome.NO_ANSWER,
}
NOT_A_RESULT = {0, 25}  # not attempted yet / returned to pending without a dial


def test_the_table_covers_exactly_the_documented_codes() -> None:
    assert sorted(CCE_CALL_RESULTS) == DOCUMENTED


@pytest.mark.parametrize("code", DOCUMENTED)
def test_each_documented_code_maps_as_designed(code: int) -> None:
    mapped = map_result(code, CCE_CALL_RESULTS, product="UCCE")
    if code in NOT_A_RESULT:
        assert mapped is None
        return
    assert mapped is not None
    assert mapped.outcome is (DESIGN | OTHERS)[code]
    assert mapped.raw.startswith(f"UCCE CallResult {code} ")
    assert len(mapped.raw) <= 255


def test_every_documented_code_is_accounted_for() -> None:
    assert set(DESIGN) | set(OTHERS) | NOT_A_RESULT == set(DOCUMENTED)


def test_an_unknown_code_ends_the_attempt_as_a_network_error_naming_it() -> None:
    mapped = map_result(99, CCE_CALL_RESULTS, product="UCCE")
    assert mapped is not None and mapped.outcome is Outcome.NETWORK_ERROR
    assert "99" in mapped.raw


def test_uccx_codes_and_a_site_override() -> None:
    expected = {
        1: Outcome.CONNECTED,
        2: Outcome.FAX,
        3: Outcome.ANSWERING_MACHINE,
        4: Outcome.INVALID_NUMBER,
        11: Outcome.BUSY,
        15: Outcome.NO_ANSWER,
    }
    for code, outcome in expected.items():
        mapped = map_result(code, UCCX_CALL_RESULTS, product="UCCX")
        assert mapped is not None and mapped.outcome is outcome
    assert map_result(0, UCCX_CALL_RESULTS, product="UCCX") is None
    site = {7: Outcome.WRONG_PERSON, 11: Outcome.DECLINED}
    seven = map_result(7, UCCX_CALL_RESULTS, product="UCCX", overrides=site)
    eleven = map_result(11, UCCX_CALL_RESULTS, product="UCCX", overrides=site)
    assert seven is not None and seven.outcome is Outcome.WRONG_PERSON
    assert eleven is not None and eleven.outcome is Outcome.DECLINED
