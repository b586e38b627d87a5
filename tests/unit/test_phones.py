"""Phone numbers are normalised to E.164 or refused with a reason a user can act on."""

from __future__ import annotations

import pytest

from outbound.contacts import phones
from outbound.contacts.phones import (
    PhoneError,
    normalise,
    prefix_upper_bound,
    search_prefix,
    search_prefixes,
)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 650 253 0000", "US", "+16502530000"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("+33 1 23 45 67 89", "GB", "+33123456789"),
        ("  +16502530000  ", "FR", "+16502530000"),
    ],
)
def test_international_numbers_ignore_the_default_region(
    raw: str, region: str, expected: str
) -> None:
    assert normalise(raw, default_region=region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(650) 253-0000", "US", "+16502530000"),
        ("650.253.0000", "US", "+16502530000"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("00 44 20 7946 0018", "FR", "+442079460018"),
    ],
)
def test_national_numbers_are_read_in_the_default_region(
    raw: str, region: str, expected: str
) -> None:
    assert normalise(raw, default_region=region) == expected


def _reason(raw: str, region: str = "US") -> str:
    with pytest.raises(PhoneError) as caught:
        normalise(raw, default_region=region)
    assert str(caught.value) == caught.value.reason
    return caught.value.reason


def test_a_value_longer_than_28_characters_is_refused_even_if_a_number() -> None:
    assert _reason("+1 650 253 0000" + " " * 14) == "longer than 28 characters"


def test_28_characters_is_still_accepted() -> None:
    raw = "+1 (650) 253-0000".ljust(28)
    assert len(raw) == 28
    assert normalise(raw, default_region="US") == "+16502530000"


@pytest.mark.parametrize("raw", ["", "   ", "\t"])
def test_empty_values_are_refused(raw: str) -> None:
    assert _reason(raw) == "empty"


@pytest.mark.parametrize("raw", ["1-800-FLOWERS", "abc", "+1 650 253 0000 ext 12"])
def test_letters_are_refused(raw: str) -> None:
    assert _reason(raw).startswith("not a phone number")


@pytest.mark.parametrize("raw", ["+1 650 253 0000 !!", "650#253#0000", "+-+", "()"])
def test_other_characters_are_refused(raw: str) -> None:
    assert _reason(raw).startswith("not a phone number")


def test_a_number_invalid_for_its_region_is_refused() -> None:
    assert _reason("+1 123 456 7890") == "not a valid number for its region"
    assert _reason("020 1234", "GB") == "not a valid number for its region"


def test_unknown_country_code_too_short_and_too_long() -> None:
    assert _reason("+999 123456") == phones.BAD_COUNTRY_CODE
    assert _reason("+44 1") == phones.TOO_SHORT
    assert _reason("12345678901234567890123") == phones.TOO_LONG_NUMBER
    assert _reason("1") == "not a phone number"


def test_a_national_number_without_a_usable_region_asks_for_a_country_code() -> None:
    assert _reason("650 253 0000", "ZZ") == phones.NO_REGION


def test_search_prefix_keeps_only_digits() -> None:
    assert search_prefix("+44 20") == "+4420"
    assert search_prefix("4420") == "+4420"
    assert search_prefix("abc") == ""


def test_search_prefixes_read_a_partial_number_internationally_and_nationally() -> None:
    assert search_prefixes("+44 20", default_region="US") == ("+4420",)
    assert search_prefixes("0044 20", default_region="US")[0] == "+4420"
    assert search_prefixes("(650) 253", default_region="US") == ("+650253", "+1650253")
    assert search_prefixes("1650", default_region="US") == ("+1650",)  # trunk prefix 1
    assert search_prefixes("020 79", default_region="GB")[1] == "+442079"  # trunk prefix 0
    assert search_prefixes("abc", default_region="US") == ()


def test_prefix_upper_bound_closes_the_range_of_a_prefix() -> None:
    assert prefix_upper_bound("+1419") == "+142"
    assert prefix_upper_bound("+199") == "+2"
    assert prefix_upper_bound("+99") is None
    inside = ["+14190000000", "+1419", "+14199999999"]
    outside = ["+1418999999", "+142", "+14200000000", "+2"]
    assert all("+1419" <= n < "+142" for n in inside)
    assert not any("+1419" <= n < "+142" for n in outside)
