"""The phonenumbers metadata compiled for fastphone: the library's rules as regexes.

Why a separate module: fastphone replays the library's parse and is_valid_number; this holds
what that replay reads (per-region plans, the walk over regions sharing a calling code, the
bulk regex), each compiled once per process and shared. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import phonenumbers
from phonenumbers import PhoneMetadata

MIN_NSN: Final = 2  # the library's _MIN_LENGTH_FOR_NSN
MAX_NSN: Final = 17  # the library's _MAX_LENGTH_FOR_NSN
# Length tables cover 0..28 digits: all that a value of fastphone.MAX_RAW_LENGTH can hold.
TABLE_SIZE: Final = 29
# Verdicts of the library's _test_number_length, as far as parsing cares.
POSSIBLE, TOO_SHORT, TOO_LONG, LOCAL_ONLY, BAD_LENGTH = range(5)
KEEPS_STRIPPED: Final = (POSSIBLE, TOO_LONG)
# Returned when only the library can answer; no E.164 string looks like it.
UNSURE: Final = "?"
# Metadata patterns that can be pasted into a bigger regex: digits, classes, groups, counts.
_PASTEABLE: Final = re.compile(r"(?:[0-9\[\]\-|?:(){},]|\\d)*")


class Plan:
    """What parsing and validation need from one PhoneMetadata, compiled once."""

    __slots__ = (
        "code",
        "general",
        "leading_pattern",
        "length_verdict",
        "national_prefix",
        "national_prefix_pattern",
        "plus_code",
        "prefix_groups",
        "shared",
        "transform",
        "valid_by_length",
        "valid_pieces",
    )

    def __init__(self, meta: PhoneMetadata) -> None:
        self.code = _country_code_of(meta)
        self.plus_code = f"+{self.code}"
        general = _compile(_general_desc(meta).national_number_pattern)
        self.general = general.fullmatch if general else None
        prefix = _compile(meta.national_prefix_for_parsing)
        self.national_prefix = prefix.match if prefix else None
        self.national_prefix_pattern = prefix.pattern if prefix else None
        self.prefix_groups = prefix.groups if prefix else 0
        self.transform = bool(meta.national_prefix_transform_rule)
        # Whether other regions share the calling code, so is_valid_number must pick one.
        self.shared = len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[self.code]) > 1
        # Tells apart the regions of a shared code (see _shared_code_validator).
        self.leading_pattern: str | None = meta.leading_digits
        sizes = range(TABLE_SIZE)
        self.length_verdict = tuple(_length_verdict(meta, size) for size in sizes)
        self.valid_pieces = tuple(_validity_pieces(meta, size) for size in sizes)
        self.valid_by_length = tuple(
            re.compile(f"(?=(?:{p[0]})\\Z)(?:{p[1]})").fullmatch if p else None
            for p in self.valid_pieces
        )

    def is_viable(self, number: str) -> bool:
        """The library's _match_national_number against the general description."""
        return self.general is not None and self.general(number) is not None

    def is_valid(self, nsn: str) -> bool:
        """The library's _number_type_helper(...) != UNKNOWN, in one regex."""
        size = len(nsn)
        matcher = self.valid_by_length[size] if size < TABLE_SIZE else None
        return matcher is not None and matcher(nsn) is not None

    def strip_national_prefix(self, number: str) -> str:
        """The library's _maybe_strip_national_prefix_carrier_code, or UNSURE for transforms.

        A carrier code the prefix captures is dropped with it, as it is by the library; it
        never reaches the E.164 form.
        """
        if self.national_prefix is None or not number:
            return number
        found = self.national_prefix(number)
        if found is None:
            return number
        if self.transform and (
            self.prefix_groups == 0 or found.group(self.prefix_groups) is not None
        ):
            return UNSURE
        rest = number[found.end() :]
        if self.is_viable(number) and not self.is_viable(rest):
            return number
        return rest


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _type_descs(meta: PhoneMetadata) -> list[phonenumbers.PhoneNumberDesc]:
    """The descriptions _number_type_helper tries after the general one.

    Fixed line and mobile come first only because most numbers are one of them: the order
    of an alternation never changes whether the whole of a string matches it.
    """
    descs = [meta.fixed_line]
    if not meta.same_mobile_and_fixed_line_pattern:
        descs.append(meta.mobile)
    descs += special_descs(meta)
    return [d for d in descs if d is not None and d.national_number_pattern]


# The number types the library tries after fixed line and mobile, in its order; a number of
# any of them is not geographic.
SPECIAL_TYPES: Final = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def special_descs(meta: PhoneMetadata) -> list[phonenumbers.PhoneNumberDesc | None]:
    return [getattr(meta, name) for name in SPECIAL_TYPES]


def _validity_pieces(meta: PhoneMetadata, size: int) -> tuple[str, str] | None:
    """For numbers of one length: the general pattern, and the alternation of type patterns.

    A number is valid (the library's _number_type_helper(...) != UNKNOWN) when it matches
    both, so one regex with a lookahead decides it.
    """
    general = _general_desc(meta)
    if not general.national_number_pattern:
        return None
    if general.possible_length and size not in general.possible_length:
        return None
    types = [
        f"(?:{desc.national_number_pattern})"
        for desc in _type_descs(meta)
        if not desc.possible_length or size in desc.possible_length
    ]
    return (general.national_number_pattern, "|".join(types)) if types else None


def _length_verdict(meta: PhoneMetadata, size: int) -> int:
    """The library's _test_number_length for the general description."""
    general = _general_desc(meta)
    possible = general.possible_length
    if size in general.possible_length_local_only:
        return LOCAL_ONLY
    if possible[0] == size:
        return POSSIBLE
    if possible[0] > size:
        return TOO_SHORT
    if possible[-1] < size:
        return TOO_LONG
    return POSSIBLE if size in possible[1:] else BAD_LENGTH


def _general_desc(meta: PhoneMetadata) -> phonenumbers.PhoneNumberDesc:
    if meta.general_desc is None:  # never so in the library's data
        raise ValueError(f"no general description in the metadata of {meta.id}")
    return meta.general_desc


def _country_code_of(meta: PhoneMetadata) -> int:
    if meta.country_code is None:  # never so in the library's data
        raise ValueError(f"no country code in the metadata of {meta.id}")
    return int(meta.country_code)


def metadata(country_code: int, region: str) -> PhoneMetadata:
    meta = PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if meta is None:
        raise ValueError(f"no metadata for region {region!r}")
    return meta


_PLANS: dict[tuple[int, str], Plan] = {}


def plan_for(country_code: int, region: str) -> Plan:
    """The plan for a region, or for a non-geographic calling code when region is "001"."""
    key = (country_code, region)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = Plan(metadata(country_code, region))
    return plan


def _country_code_table() -> dict[str, int]:
    """Up to three digits, not starting with 0 -> the library's _extract_country_code."""
    known = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    table = {}
    for size in (1, 2, 3):
        for value in range(10 ** (size - 1), 10**size):
            head = str(value)
            found = next((int(head[:n]) for n in (1, 2, 3) if int(head[:n]) in known), 0)
            table[head] = found
    return table


COUNTRY_CODES: Final = _country_code_table()


VALIDATORS: dict[int, Callable[[str], bool]] = {}


def validator_for(code: int) -> Callable[[str], bool]:
    """The library's is_valid_number for numbers of one country calling code."""
    validator = VALIDATORS.get(code)
    if validator is None:
        plans = [plan_for(code, r) for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]]
        validator = VALIDATORS[code] = (
            plans[0].is_valid if len(plans) == 1 else _shared_code_validator(plans)
        )
    return validator


def _shared_code_validator(plans: list[Plan]) -> Callable[[str], bool]:
    """is_valid_number where regions share a code (+1, +7, +44, ...).

    The library walks the regions in order: the first whose leading digits match the number
    decides, and a region without leading digits claims the number only if it is valid there.
    So the number is valid if it is valid in any region of that walk. The regions before the
    first one with leading digits are tried first (for +1 that is the US, most numbers); one
    alternation of the remaining leading-digit patterns, tried in order like the walk, then
    names the decisive region.
    """
    split = next((i for i, p in enumerate(plans) if p.leading_pattern is not None), len(plans))
    head, tail = tuple(plans[:split]), plans[split:]
    alternatives = [
        f"(?P<r{i}>{plan.leading_pattern})"
        for i, plan in enumerate(tail)
        if plan.leading_pattern is not None
    ]
    # A match's lastgroup is the outermost group that closed last: the region's, even when
    # its pattern has groups of its own.
    leading = re.compile("|".join(alternatives)).match if alternatives else None
    walk = {
        f"r{i}": (*(p for p in tail[:i] if p.leading_pattern is None), plan)
        for i, plan in enumerate(tail)
        if plan.leading_pattern is not None
    }
    unclaimed = tuple(p for p in tail if p.leading_pattern is None)

    def validator(nsn: str) -> bool:
        for plan in head:
            if plan.is_valid(nsn):
                return True
        found = leading(nsn) if leading is not None else None
        rest = walk[found.lastgroup] if found is not None and found.lastgroup else unclaimed
        return any(plan.is_valid(nsn) for plan in rest)

    return validator


_BULK_REGEXES: dict[str, re.Pattern[str] | None] = {}


def bulk_regex(region: str, home: Plan, idd: str | None) -> re.Pattern[str] | None:
    """The region's bulk regex (see _bulk_regex), compiled once per process."""
    if region not in _BULK_REGEXES:
        _BULK_REGEXES[region] = _bulk_regex(region, home, idd)
    return _BULK_REGEXES[region]


def _bulk_regex(region: str, home: Plan, idd: str | None) -> re.Pattern[str] | None:
    """One regex that settles the commonest values of a chunk in a single pass.

    It runs over the chunk's values, without separators and joined by newlines, and marks a
    line valid only when it is certain, leaving any other line to the per-value path:
    - the line is a national number (three digits or more) that no international prefix of
      the region can start and that does not start with the home country code, or, when the
      region is the main one of its code, '+' and that code;
    - the national prefix is taken off as parse does: its first match (an atomic group, like
      re.match), and only when what remains has a length that parse keeps;
    - what remains is valid by the library's walk over the regions sharing the code: valid
      in a region reached before any region whose leading digits match, or in the first
      such region. Only the '\\n' before the line and the part parse drops are matched, so
      fastphone replaces them with a plain string ("\\n", a mark, "+<code>"), which re.sub
      applies without calling back into Python.
    Where the region has a national-prefix transform rule, a line whose national prefix
    captures the rule's last group is left alone: the library would rewrite it.
    """
    code = home.code
    if home.transform and home.prefix_groups == 0:
        return None
    sizes = [s for s in range(MAX_NSN, MIN_NSN - 1, -1) if home.length_verdict[s] in KEEPS_STRIPPED]
    pasted = [p for p in (idd, home.national_prefix_pattern) if p]
    conditions, earlier = [], ""
    for plan in (plan_for(code, r) for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]):
        pieces = [(size, pair) for size in sizes if (pair := plan.valid_pieces[size])]
        valid = "|".join(
            f"(?=\\d{{{size}}}$)(?=(?:{general})$)(?:{types})$" for size, (general, types) in pieces
        )
        pasted += [text for _, pair in pieces for text in pair]
        lead = plan.leading_pattern
        if valid:
            claims = f"(?=(?:{lead}))" if lead is not None else ""
            conditions.append(f"{earlier}{claims}(?:{valid})")
        if lead is not None:
            earlier += f"(?!(?:{lead}))"
            pasted.append(lead)
    if not conditions or not all(_PASTEABLE.fullmatch(text) for text in pasted):
        return None
    starts = [f"(?=\\d{{3,}}$)(?!{code})" + (f"(?!(?:{idd}))" if idd else "")]
    main = phonenumbers.region_code_for_country_code(code)
    if main == region and COUNTRY_CODES.get(f"{code}00"[:3]) == code:
        starts.append(f"\\+{code}(?=\\d+$)")
    start = f"(?:{'|'.join(starts)})"
    prefix = home.national_prefix_pattern
    strip = f"(?:(?>(?:{prefix}))|(?!(?:{prefix})))" if prefix else ""
    if home.transform:
        # (?(n)(?!)) fails when group n took part: the prefix's last group, after start's.
        strip += f"(?({re.compile(start).groups + home.prefix_groups})(?!))"
    pattern = f"\\n{start}{strip}(?=(?:{'|'.join(conditions)}))"
    return re.compile(pattern, re.MULTILINE | re.ASCII)
