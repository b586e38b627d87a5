"""A number's candidate zones against phonenumbers' public answer (tests/zone_oracle.py).

The dispatcher dials a contact-local campaign only when the window holds in every candidate
zone, so a zone the candidates miss is a call at the wrong hour (issue 12: an Australian
mobile in a 09:00-17:00 campaign was dialled at 07:54 in Perth).
"""

from __future__ import annotations

import phonenumbers
import pytest

from outbound.contacts.numberkind import Kind, kinds_for
from outbound.contacts.zones import zones_for
from tests.zone_oracle import MULTI_ZONE, oracle_zones, same_clock, uncovered, valid_numbers


@pytest.mark.parametrize(
    "number",
    [
        "+61412345200",  # Australian mobile: anywhere from Perth to Sydney
        "+79161234567",  # Russian mobile: Kaliningrad to Kamchatka
        "+34612345678",  # Spanish mobile: Madrid or the Canaries
        "+64211234567",  # New Zealand mobile: Auckland or the Chathams
        "+593991234567",  # Ecuadorian mobile: Guayaquil or the Galapagos
        "+18005550199",  # US toll-free: every US zone
        "+77011234567",  # Kazakh mobile
    ],
)
def test_a_mobile_or_non_geographic_number_gets_every_zone_of_its_country(number: str) -> None:
    assert len(oracle_zones(number)) > 1
    assert uncovered(number, zones_for(number)) == []


def test_an_australian_mobile_may_be_in_perth() -> None:
    assert any(same_clock("Australia/Perth", z) for z in zones_for("+61412345200"))


@pytest.mark.parametrize(
    ("number", "not_in"),
    [
        ("+18762101234", "Pacific/Honolulu"),  # Jamaican mobile (+1 is shared)
        ("+61412345200", "Indian/Christmas"),  # Australian mobile (+61 with Christmas Island)
        ("+79161234567", "Europe/Bucharest"),  # Russian mobile: +7 data names Bucharest too
    ],
)
def test_a_shared_calling_code_is_narrowed_to_the_numbers_country(number: str, not_in: str) -> None:
    zones = zones_for(number)
    assert zones and uncovered(number, zones) == []
    assert not any(same_clock(not_in, z) for z in zones), zones


@pytest.mark.parametrize(
    "number",
    ["+61293745200", "+61893745200", "+12127361200", "+18087361200", "+442079461200"],
)
def test_a_landline_keeps_the_zone_of_its_area(number: str) -> None:
    zones = zones_for(number)
    assert zones and uncovered(number, zones) == []
    assert all(any(same_clock(z, o) for o in oracle_zones(number)) for z in zones), zones


def test_the_rule_holds_for_valid_numbers_of_every_type_in_many_countries() -> None:
    regions = sorted(set(MULTI_ZONE) | {"IT", "PL", "NG", "JP", "ZA", "TR", "EG", "PH", "VN"})
    numbers = list(valid_numbers(regions, per_type=25, seed=12))
    countries = {phonenumbers.region_code_for_number(phonenumbers.parse(n)) for n in numbers}
    mobiles = [
        n
        for n in numbers
        if phonenumbers.number_type(phonenumbers.parse(n)) == phonenumbers.PhoneNumberType.MOBILE
    ]
    assert len(countries) >= 40 and len(mobiles) >= 500 and len(numbers) >= 3000
    broken = {n: uncovered(n, zones_for(n)) for n in numbers}
    broken = {n: missing for n, missing in broken.items() if missing}
    assert broken == {}, f"{len(broken)} of {len(numbers)}: {list(broken.items())[:10]}"


def test_the_compiled_number_kinds_agree_with_phonenumbers() -> None:
    """numberkind replays region_code_for_number and number_type: same region, same kind."""
    for e164 in valid_numbers(MULTI_ZONE, per_type=10, seed=7):
        number = phonenumbers.parse(e164)
        kind = phonenumbers.number_type(number)
        if kind == phonenumbers.PhoneNumberType.UNKNOWN:
            expected = Kind.UNKNOWN
        elif phonenumbers.is_number_type_geographical(kind, number.country_code):
            expected = Kind.GEOGRAPHIC
        else:
            expected = Kind.COUNTRY
        nsn = phonenumbers.national_significant_number(number)
        region = phonenumbers.region_code_for_number(number)
        assert kinds_for(number.country_code).place(nsn) == (region, expected), e164
