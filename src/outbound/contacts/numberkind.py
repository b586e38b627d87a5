"""Whether phonenumbers places a number by its own prefix or only by its country. Pure.

phonenumbers' ``time_zones_for_number`` answers from the number's prefix only for geographic
types (fixed line; mobile in a few countries); a mobile, toll-free or other number gets every
zone of its calling code. Telling them apart needs the number's type, which the library
computes from a parsed number through uncompiled patterns (about 25 µs a number). This
replays the library's ``region_code_for_number`` and ``_number_type_helper`` on the digits of
an E.164 string with patterns compiled once per calling code, so the zone lookup stays cheap.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberDesc
from phonenumbers import phonenumberutil as _util

from outbound.contacts.phonemeta import special_descs

# Calling codes whose mobiles phonenumbers places by prefix (the library's own set).
_GEO_MOBILE: frozenset[int] = frozenset(_util._GEO_MOBILE_COUNTRIES)


class Kind(enum.Enum):
    UNKNOWN = "unknown"  # not a valid number of any region of the code: the library knows no zone
    GEOGRAPHIC = "geographic"  # placed by its prefix
    COUNTRY = "country"  # placed only by its calling code: every zone of the code


Matcher = Callable[[str], bool]


def _matcher(desc: PhoneNumberDesc | None) -> Matcher | None:
    """The library's _is_number_matching_desc for one description, compiled."""
    if desc is None or not desc.national_number_pattern:
        return None
    full = re.compile(desc.national_number_pattern).fullmatch
    lengths = frozenset(desc.possible_length or ())
    if not lengths:
        return lambda nsn: full(nsn) is not None
    return lambda nsn: len(nsn) in lengths and full(nsn) is not None


class RegionKinds:
    """One region's number types, reduced to what placing a number needs."""

    def __init__(self, region: str, meta: PhoneMetadata, geo_mobile: bool) -> None:
        self.region = region
        self.leading = re.compile(meta.leading_digits).match if meta.leading_digits else None
        self._general = _matcher(meta.general_desc)
        # Tried before fixed line by the library: a match makes the number non-geographic.
        self._special = [m for d in special_descs(meta) if (m := _matcher(d)) is not None]
        self._fixed = _matcher(meta.fixed_line)
        self._mobile = None if meta.same_mobile_and_fixed_line_pattern else _matcher(meta.mobile)
        self._geo_mobile = geo_mobile

    def kind(self, nsn: str) -> Kind:
        """The library's _number_type_helper, then is_number_type_geographical."""
        if self._general is None or not self._general(nsn):
            return Kind.UNKNOWN
        if any(special(nsn) for special in self._special):
            return Kind.COUNTRY
        if self._fixed is not None and self._fixed(nsn):
            return Kind.GEOGRAPHIC  # fixed line, or fixed line or mobile
        if self._mobile is not None and self._mobile(nsn):
            return Kind.GEOGRAPHIC if self._geo_mobile else Kind.COUNTRY
        return Kind.UNKNOWN


class CodeKinds:
    """The regions of one calling code, walked as the library's region_code_for_number does."""

    def __init__(self, code: int) -> None:
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ())
        geo_mobile = code in _GEO_MOBILE
        self.regions = [
            RegionKinds(r, meta, geo_mobile)
            for r in regions
            if (meta := PhoneMetadata.metadata_for_region_or_calling_code(code, r)) is not None
        ]

    def place(self, nsn: str) -> tuple[str | None, Kind]:
        """The number's region (None when no region claims it) and its kind there.

        A region with leading digits claims a number they match; one without claims it when
        the number has a type there. A single region always claims the number.
        """
        if len(self.regions) == 1:
            return self.regions[0].region, self.regions[0].kind(nsn)
        for region in self.regions:
            if region.leading is not None:
                if region.leading(nsn):
                    return region.region, region.kind(nsn)
                continue
            kind = region.kind(nsn)
            if kind is not Kind.UNKNOWN:
                return region.region, kind
        return None, Kind.UNKNOWN


@cache
def kinds_for(code: int) -> CodeKinds:
    """The compiled walk of one calling code, built on first use."""
    return CodeKinds(code)
