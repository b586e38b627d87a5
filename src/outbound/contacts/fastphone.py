"""Bulk E.164 validation that agrees exactly with ``phonenumbers``, many times faster.

Why: ``parse`` + ``is_valid_number`` + ``format_number`` costs tens of µs a number, which
makes a million-row contact import take most of a minute per core. Pure: no I/O.

How: for a value made only of ASCII digits, the common separators and an optional leading
``+``, the library's verdict depends on nothing but the digits and on whether the ``+`` was
there. The separators are all "valid punctuation" to it, dropped by its normaliser, and none
of them can start an extension, an RFC 3966 parameter or a second number. So, in three tiers:

1. ``e164_many`` joins a chunk of values and lets one regex, pasted together from the
   library's metadata for the default region (phonemeta.bulk_regex), settle the national
   and ``+<home code>`` numbers it is certain about, in C, without a Python call per value;
2. every other value of such a shape (also after a "Tel: " or before one "ext. 12") is
   judged by replaying the library's own decision steps (international prefix, country
   code, national prefix, possible lengths, number-type patterns, the walk over regions
   sharing a code) with the regexes phonemeta compiles once;
3. anything else (letters, unusual characters, several extensions, RFC 3966, national-prefix
   transform rules such as Argentina's mobile 15 or Brazil's carrier codes, ...) is handed
   to the library itself. Each tier answers only where it is certain.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Sequence
from itertools import compress, count
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from outbound.contacts.phonemeta import (
    COUNTRY_CODES,
    KEEPS_STRIPPED,
    MAX_NSN,
    MIN_NSN,
    TABLE_SIZE,
    TOO_LONG,
    UNSURE,
    VALIDATORS,
    Plan,
    bulk_regex,
    metadata,
    plan_for,
    validator_for,
)

MAX_RAW_LENGTH: Final = 28

# Every character here is in the library's _VALID_PUNCTUATION (checked by the unit tests) and
# none is an extension label ('x', '#', '~', ',', ';'), so removing them changes nothing.
SEPARATORS: Final = " -.()/\u00a0\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_DROP_SEPARATORS: Final = str.maketrans("", "", SEPARATORS)

# Where the library starts reading a number (its _VALID_START_CHAR): a plus or any digit.
_START_CHAR: Final = re.compile("[+\uff0b\\d]")
# A subset of the library's extension syntax ("ext. 12", "x 123", "extension 4"), ASCII only,
# with the digit limits of its explicit (20) and ambiguous (9) labels. Whatever precedes the
# spaces before the label is the number the library goes on to parse.
_EXTENSION: Final = re.compile(
    r"(.*?\d) *(?:(?:ext|extn|extension)\.? *\d{1,15}|x *\d{1,9})", re.ASCII | re.IGNORECASE
)
_SETTLED: Final = "!"  # marks a line the bulk regex rewrote (lines are digits or '+' digits)
_CHUNK: Final = 8_192  # values e164_many joins for one pass of the bulk regex
if MAX_RAW_LENGTH >= TABLE_SIZE:  # the length tables must cover every value's digits
    raise ImportError("phonemeta.TABLE_SIZE is too small for MAX_RAW_LENGTH")


class BulkPhoneValidator:
    """Validates and normalises many raw phone values read in one default region.

    ``e164(raw)`` is exactly ``reference_e164(raw, default_region)``. Construction is cheap;
    each country's metadata is compiled on first use and shared by all instances.
    """

    def __init__(self, default_region: str) -> None:
        if default_region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {default_region!r}: use an ISO code such as 'US'")
        code = phonenumbers.country_code_for_region(default_region)
        meta = metadata(code, default_region)
        self.default_region: Final = default_region
        self._home = plan_for(code, default_region)
        self._home_code = str(code)
        idd = meta.international_prefix
        self._idd = re.compile(idd).match if idd else None
        self._bulk = bulk_regex(default_region, self._home, idd)
        self._bulk_template = f"\n{_SETTLED}+{code}"
        self._parse_plans: dict[int, Plan] = {}
        self._library_answers: dict[str, str | None] = {}
        self.fallbacks = 0  # distinct values answered by the library itself, for monitoring

    def e164(self, raw: str) -> str | None:
        """The E.164 form of ``raw`` if phonenumbers finds it valid, else None."""
        if len(raw) > MAX_RAW_LENGTH:
            return None
        return self._one(raw, _drop_ascii_separators(raw))

    def e164_many(self, raws: Sequence[str]) -> list[str | None]:
        """``e164`` for each value, in order."""
        out: list[str | None] = []
        for start in range(0, len(raws), _CHUNK):
            out += self._chunk(raws[start : start + _CHUNK])
        return out

    def _chunk(self, raws: Sequence[str]) -> list[str | None]:
        """Settle what the bulk regex can in one pass over the chunk, the rest value by value."""
        if self._bulk is None:
            return [self.e164(raw) for raw in raws]
        joined = "\n".join(raws)
        if joined.count("\n") != len(raws) - 1:
            # A value holds a line break: it gets an empty line, so the per-value path.
            joined = "\n".join("" if "\n" in raw else raw for raw in raws)
        texts = _drop_ascii_separators(joined)
        # Every line starts after a '\n' (the regex starts with one: quicker to find than '^').
        settled = self._bulk.sub(self._bulk_template, "\n" + texts)
        lines = settled[1:].split("\n")
        # The settled lines without their mark, by whole text: C-level, no call per value.
        unmarked = settled.replace(f"\n{_SETTLED}", "\n")[1:]
        out: list[str | None] = unmarked.split("\n")  # type: ignore[assignment]
        # A line the regex left as it was is not settled (a value may start with the mark).
        text_lines = texts.split("\n")
        unsettled = list(compress(count(), map(operator.eq, lines, text_lines)))
        too_long = set()
        if max(map(len, raws)) > MAX_RAW_LENGTH:
            too_long = {i for i, raw in enumerate(raws) if len(raw) > MAX_RAW_LENGTH}
            for i in too_long:
                out[i] = None
        if unsettled:
            one = self._one
            for i in unsettled:
                if i not in too_long:
                    out[i] = one(raws[i], text_lines[i])
        return out

    def _one(self, raw: str, text: str) -> str | None:
        """One value; ``text`` (raw without ASCII separators, or "") only speeds up the usual."""
        if len(text) > 2 and text.isdigit() and text.isascii():
            result = self._national(text, False)
        elif len(text) > 3 and text[0] == "+" and text[1:].isdigit() and text.isascii():
            result = self._international(text[1:])
        else:
            result = self._fast(raw)
        if result != UNSURE:
            return result
        if raw in self._library_answers:
            return self._library_answers[raw]
        if len(self._library_answers) >= _CHUNK:
            self._library_answers.clear()  # junk repeats: remember a bounded number of answers
        self.fallbacks += 1
        result = self._library_answers[raw] = reference_e164(raw, self.default_region)
        return result

    def _fast(self, raw: str, may_have_extension: bool = True) -> str | None:
        """The verdict for the shapes this module is sure about, else UNSURE."""
        text = raw.translate(_DROP_SEPARATORS)
        if text.isascii():
            if text.isdigit():
                if len(text) > 2:
                    return self._national(text, False)
                # Two digits make a number only when nothing separates them.
                return self._national(text, False) if text in raw else None
            if text[1:].isdigit() and text[0] == "+":
                return self._international(text[1:])
            if text in ("", "+"):
                return None
        extension = _EXTENSION.fullmatch(raw) if may_have_extension else None
        if extension is not None:
            # The library drops one such extension when at least three digits precede it.
            number = extension.group(1)
            if sum(ch in "0123456789" for ch in number) < 3:
                return UNSURE
            return self._fast(number, False)
        start = _START_CHAR.search(raw)
        if start is None:
            return None  # not a single digit: never a number
        if start.start() > 0 and ";" not in raw:
            # Like the library, ignore what comes before the number ("Tel: ", "mobile ").
            return self._fast(raw[start.start() :], may_have_extension)
        trimmed = raw.rstrip()
        if trimmed != raw:
            return self._fast(trimmed, may_have_extension)
        return UNSURE

    def _international(self, digits: str) -> str | None:
        """Digits written after a '+'."""
        if len(digits) < 3:
            return None
        code = COUNTRY_CODES.get(digits[:3], 0)
        if code:
            return self._finish(self._parse_plan(code), digits[len(str(code)) :])
        # The library retries without the '+', and then insists on finding a country code.
        return self._national(digits, True)

    def _national(self, digits: str, need_code: bool) -> str | None:
        """Digits without a '+': an international prefix, the home code, or a national number."""
        if self._idd is not None:
            found = self._idd(digits)
            if found is not None:
                rest = digits[found.end() :]
                if not rest or rest[0] != "0":
                    if len(rest) <= MIN_NSN:
                        return None
                    code = COUNTRY_CODES.get(rest[:3], 0)
                    if not code:
                        return None
                    return self._finish(self._parse_plan(code), rest[len(str(code)) :])
        home = self._home
        if digits.startswith(self._home_code):
            potential = home.strip_national_prefix(digits[len(self._home_code) :])
            if potential == UNSURE:
                return UNSURE
            too_long = home.length_verdict[len(digits)] == TOO_LONG
            if too_long or (not home.is_viable(digits) and home.is_viable(potential)):
                return self._finish(self._parse_plan(home.code), potential)
        if need_code:
            return None
        return self._finish(home, digits)

    def _finish(self, plan: Plan, number: str) -> str | None:
        """The end of the library's parse (national prefix, lengths) and its validation.

        This is the hot path, so Plan.strip_national_prefix and Plan.is_valid are inlined.
        """
        if len(number) < MIN_NSN:
            return None
        prefix = plan.national_prefix
        found = prefix(number) if prefix is not None else None
        if found is not None:
            if plan.transform and (
                plan.prefix_groups == 0 or found.group(plan.prefix_groups) is not None
            ):
                return UNSURE
            rest = number[found.end() :]
            # parse keeps the stripped number only if its length is possible (or too long);
            # the stripping itself is undone when it spoils a number that matched.
            if plan.length_verdict[len(rest)] in KEEPS_STRIPPED:
                general = plan.general
                if general is None or general(number) is None or general(rest) is not None:
                    number = rest
        size = len(number)
        if size > MAX_NSN:
            return None
        if plan.shared:
            valid = (VALIDATORS.get(plan.code) or validator_for(plan.code))(number)
        else:
            matcher = plan.valid_by_length[size]
            valid = matcher is not None and matcher(number) is not None
        return plan.plus_code + number if valid else None

    def _parse_plan(self, code: int) -> Plan:
        """The metadata parse switches to once it knows the country code: the main region's."""
        plan = self._parse_plans.get(code)
        if plan is None:
            main = phonenumbers.region_code_for_country_code(code)
            plan = self._home if main == self.default_region else plan_for(code, main)
            self._parse_plans[code] = plan
        return plan


def _drop_ascii_separators(text: str) -> str:
    """The everyday separators removed: a fast first look at a value (str.translate is slow)."""
    return (
        text.replace(" ", "")
        .replace("-", "")
        .replace("(", "")
        .replace(")", "")
        .replace(".", "")
        .replace("/", "")
    )


def reference_e164(raw: str, default_region: str) -> str | None:
    """The slow, authoritative answer: the phonenumbers pipeline itself."""
    if len(raw) > MAX_RAW_LENGTH:
        return None
    try:
        number = phonenumbers.parse(raw, default_region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    e164: str = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return e164
