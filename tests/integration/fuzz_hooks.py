"""Schemathesis hooks for the API fuzz run (loaded through SCHEMATHESIS_HOOKS).

The document marks phone fields ``format: phone``: characters and length are in its pattern,
but whether a number exists for its region is libphonenumber's metadata, which no pattern can
carry. Valid data for that format is drawn here from libphonenumber's own example numbers
(an independent oracle: the product's rules are not consulted).
"""

from __future__ import annotations

import phonenumbers
import schemathesis
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

REGIONS = ("US", "GB", "FR", "DE", "AU", "JP", "BR", "IN")


def _examples() -> list[str]:
    numbers = []
    for region in REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, PhoneNumberFormat.E164))
                numbers.append(
                    phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
                )
    return numbers


schemathesis.openapi.format("phone", st.sampled_from(_examples()))
