"""The bulk validator gives phonenumbers' own verdict and E.164, value for value."""

from __future__ import annotations

import random
import re
from collections import defaultdict

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from outbound.contacts.fastphone import (
    MAX_RAW_LENGTH,
    SEPARATORS,
    BulkPhoneValidator,
    reference_e164,
)

TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.PAGER,
    PhoneNumberType.UAN,
    PhoneNumberType.VOICEMAIL,
)
FORMATS = (
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.E164,
    PhoneNumberFormat.RFC3966,
)
# Default regions of real imports, and regions whose national prefix has a transform rule.
MAIN_REGIONS = ("US", "GB", "FR", "DE", "IN", "BR", "AU", "CA", "IT", "ES", "MX", "AR")
TRANSFORM_REGIONS = ("AR", "BR", "JP", "GA", "SM", "AG", "JE", "CC", "NF", "MG")
ALL_REGIONS = tuple(sorted(phonenumbers.SUPPORTED_REGIONS))
SEPARATOR_MIX = " " * 6 + "-" * 4 + "." * 2 + "/" + "\u00a0\u2013"
JUNK = (
    "",
    " ",
    "   ",
    "+",
    "++",
    "+ ",
    "00",
    "000",
    "0",
    "-",
    "()",
    "n/a",
    "unknown",
    "NULL",
    "+44",
    "+1",
    "1-800-FLOWERS",
    "0800 REVERSE",
    "tel:+44-20-7946-0958",
    "tel:2079460958;phone-context=+44",
    "tel:2079460958;phone-context=example.com",
    "2079460958;phone-context=",
    "+44 20 7946 0958 ext. 123",
    "(202) 555-0143 x12",
    "202-555-0143 #77",
    "202 555 0143,,9",
    "202 555 0143;123",
    "0207 946 0958 / x 12",
    "\uff0b44 20 7946 0958",
    "\uff10\uff12\uff10 7946 0958",
    "\u0660\u0662\u0660\u0667\u0669\u0664\u0666\u0660\u0669\u0665\u0668",
    "\u0966\u096f\u096e\u096d\u096c\u096b\u096a\u0969\u0968\u0967",
    "020\t7946\t0958",
    "020 7946 0958\n",
    "\t020 7946 0958",
    "Tel: 020 7946 0958",
    "mobile +33 6 12 34 56 78",
    "+33 6 12 34 56 78 (work)",
    "++44 20 7946 0958",
    "+ +44 20 7946 0958",
    "44+20 7946 0958",
    "020-7946-0958-",
    "*020 7946 0958",
    "020~7946~0958",
    "[020] 7946 0958",
    "020_7946_0958",
    "\u00b2\u00b3\u00b9 555 0143",
    "0" * 29,
    "+4420794609581234567890123456",
    "+44 (0) 20 7946 0958",
    "+44 (0)20 7946 0958 ",
    "00 44 (0) 20 7946 0958",
    "+0044 20 7946 0958",
    "+011 44 20 7946 0958",
    "+00",
    "+0",
    "+999 123 4567",
    "999 123 4567",
    "12",
    "(12)",
    "1 2",
    "+12",
)


def _seeds() -> list[tuple[str, int, str]]:
    """(region, country code, national significant number) of the library's examples."""
    seeds = []
    for region in ALL_REGIONS:
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                nsn = phonenumbers.national_significant_number(example)
                seeds.append((region, example.country_code, nsn))
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            seeds.append(("001", code, phonenumbers.national_significant_number(example)))
    return seeds


def _mutate(rng: random.Random, nsn: str) -> str:
    digits = list(nsn)
    roll = rng.random()
    if roll < 0.45:
        for _ in range(rng.randint(1, 3)):
            digits[rng.randrange(len(digits))] = rng.choice("0123456789")
    elif roll < 0.55 and len(digits) > 1:
        del digits[rng.randrange(len(digits))]
    elif roll < 0.65:
        digits.insert(rng.randrange(len(digits) + 1), rng.choice("0123456789"))
    elif roll < 0.7:
        digits = digits[: rng.randint(0, len(digits))]
    elif roll < 0.75:
        digits += rng.choices("0123456789", k=rng.randint(1, 4))
    return "".join(digits)


def _separate(rng: random.Random, digits: str) -> str:
    """Digits split into random groups with the separators people type."""
    if not digits or rng.random() < 0.2:
        return digits
    out, i = [], 0
    while i < len(digits):
        size = rng.randint(1, 4)
        out.append(digits[i : i + size])
        i += size
    sep = rng.choice(SEPARATOR_MIX)
    if rng.random() < 0.3 and len(out) > 1:
        out[0] = f"({out[0]})"
    if rng.random() < 0.15:
        return "".join(g + rng.choice(SEPARATOR_MIX) for g in out).rstrip()
    return sep.join(out)


def _formatted(rng: random.Random, code: int, nsn: str) -> str:
    try:
        number = phonenumbers.parse(f"+{code}{nsn}", None)
    except phonenumbers.NumberParseException:
        return f"+{code} {nsn}"
    return phonenumbers.format_number(number, rng.choice(FORMATS))


def _handmade(rng: random.Random, code: int, nsn: str, region: str) -> str:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    idd = (meta.preferred_international_prefix or meta.international_prefix or "00") if meta else ""
    if not idd.isdigit():
        idd = "00"
    national = (meta.national_prefix or "") if meta else ""
    shape = rng.randrange(9)
    if shape == 0:
        return "+" + _separate(rng, f"{code}{nsn}")
    if shape == 1:
        return f"+{code} " + _separate(rng, nsn)
    if shape == 2:
        return (
            rng.choice(("00", "011", idd)) + rng.choice(("", " ")) + _separate(rng, f"{code}{nsn}")
        )
    if shape == 3:
        return _separate(rng, f"{code}{nsn}")
    if shape == 4:
        return _separate(rng, national + nsn)
    if shape == 5:
        return f"+{code} (0) " + _separate(rng, nsn)
    if shape == 6:
        return "+" + rng.choice(("0", "00", "011", "1", idd)) + _separate(rng, f"{code}{nsn}")
    if shape == 7:
        return (
            rng.choice(("", " ", "  ", "Tel: ", "\t"))
            + _separate(rng, nsn)
            + rng.choice(("", " ", "\r", "\n", "."))
        )
    return _separate(rng, nsn)


EXTENSIONS = (
    " ext 12",
    " ext. 123",
    " Ext.4567",
    " EXT 1",
    "ext9",
    " extn 12",
    " extension 55",
    " x123",
    "x12",
    " X 99",
    " x 123456789",
    " x 1234567890",
    " ext 1234567890123456",
    " ext: 12",
    " ext 12#",
    " #12",
    " 12#",
    ",,12",
    ",12",
    ";12",
    ";ext=12",
    " int 5",
    " xt 12",
    " ext 12 ",
    "\u00a0ext 12",
    "- ext 12",
    " / x12",
    " x",
    " ext",
    " ext \u0661\u0662",
)


def _with_extension(rng: random.Random, raw: str) -> str:
    return raw + rng.choice(EXTENSIONS)


def _random_digits(rng: random.Random) -> str:
    head = rng.choice(("", "", "", "+", "0", "00", "011", "1", "+0", "0800", "+1", "+44"))
    body = "".join(rng.choices("0123456789", k=rng.randint(0, 17)))
    return _separate(rng, head + body) if rng.random() < 0.7 else head + body


def _junk(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.5:
        return rng.choice(JUNK)
    if roll < 0.65:
        return "".join(
            rng.choices("0123456789 +-()abcxX#*~;,\t\u00a0\uff10\u0663", k=rng.randint(1, 30))
        )
    if roll < 0.8:
        return "+" + "".join(rng.choices("0123456789 ", k=rng.randint(25, 40)))
    base = "".join(rng.choices("0123456789", k=rng.randint(6, 12)))
    return base[: rng.randrange(len(base))] + rng.choice("abcXYZ#*;,~_") + base


def varied_inputs(count: int, seed: int) -> list[tuple[str, str]]:
    """(raw value, default region) pairs covering clean shapes, near misses and junk."""
    rng = random.Random(seed)
    seeds = _seeds()
    cases = []
    for _ in range(count):
        region, code, nsn = rng.choice(seeds)
        roll = rng.random()
        if roll < 0.45:
            default = region if region != "001" and rng.random() < 0.5 else rng.choice(ALL_REGIONS)
        elif roll < 0.9:
            default = rng.choice(MAIN_REGIONS)
        else:
            default = rng.choice(TRANSFORM_REGIONS)
        nsn = _mutate(rng, nsn) if rng.random() < 0.6 else nsn
        shape = rng.random()
        if shape < 0.35:
            raw = _formatted(rng, code, nsn)
        elif shape < 0.75:
            raw = _handmade(rng, code, nsn, default)
        elif shape < 0.9:
            raw = _random_digits(rng)
        else:
            raw = _junk(rng)
        if rng.random() < 0.05:
            raw = _with_extension(rng, raw)
        cases.append((raw, default))
    return cases


def _mismatches(cases: list[tuple[str, str]]) -> tuple[list[str], dict[str, int]]:
    by_region: dict[str, list[str]] = defaultdict(list)
    for raw, region in cases:
        by_region[region].append(raw)
    problems, fallbacks = [], {}
    for region, raws in sorted(by_region.items()):
        validator = BulkPhoneValidator(region)
        got = validator.e164_many(raws)
        fallbacks[region] = validator.fallbacks
        for raw, fast in zip(raws, got, strict=True):
            expected = reference_e164(raw, region)
            if fast != expected:
                problems.append(f"{raw!r} in {region}: fast {fast!r}, phonenumbers {expected!r}")
    return problems, fallbacks


def test_bulk_results_equal_phonenumbers_on_200k_varied_inputs() -> None:
    cases = varied_inputs(200_000, seed=20240611)
    assert len({region for _, region in cases}) >= 40
    problems, fallbacks = _mismatches(cases)
    assert not problems, f"{len(problems)} mismatches, first ones:\n" + "\n".join(problems[:25])
    # The fast tiers, not the library, must have answered most of them for this to mean much.
    assert sum(fallbacks.values()) < len(cases) // 10


def test_the_junk_list_is_judged_like_phonenumbers_in_every_main_region() -> None:
    raws = [*JUNK, *(f"{n}{e}" for n in ("020 7946 0958", "12", "1 2 3") for e in EXTENSIONS)]
    cases = [(raw, region) for raw in raws for region in (*MAIN_REGIONS, *TRANSFORM_REGIONS)]
    problems, _ = _mismatches(cases)
    assert not problems, "\n".join(problems)


def test_separators_are_punctuation_to_phonenumbers() -> None:
    punctuation = re.compile(f"[{phonenumbers.phonenumberutil._VALID_PUNCTUATION}]")
    assert all(punctuation.fullmatch(ch) for ch in SEPARATORS)
    assert not set(SEPARATORS) & set("xX#~,;*+")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(202) 555-0143", "US", "+12025550143"),
        ("1-202-555-0143", "US", "+12025550143"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("(416) 555-0143", "US", "+14165550143"),  # Canadian area code, valid as +1 anywhere
        ("+1 268 464 1234", "GB", "+12684641234"),  # Antigua, picked by leading digits 268
        ("(202) 555-014", "US", None),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0) 20 7946 0958", "FR", "+442079460958"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
        ("44 20 7946 0958", "GB", "+442079460958"),  # country code without '+'
        ("+0044 20 7946 0958", "GB", "+442079460958"),  # library retries without the '+'
        ("+0044 20 7946 0958", "US", None),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06 698 12345", "IT", "+390669812345"),  # Italian leading zero is kept
        ("+39 06 698 12345", "US", "+390669812345"),
        ("+39 06 698 12345", "IT", "+390669812345"),
        ("+800 1234 5678", "DE", "+80012345678"),  # non-geographic calling code
        ("Tel: 030 123456", "DE", "+4930123456"),
        # Mexico's old 044/045/01 and mobile '1' are gone from the metadata: no transform now.
        ("55 1234 5678", "MX", "+525512345678"),
        ("044 55 1234 5678", "MX", None),
        ("+52 1 55 1234 5678", "MX", None),
        ("+44 20 7946 0958 ext. 12", "GB", "+442079460958"),
        ("12", "GB", None),
        ("", "US", None),
        ("+", "US", None),
        ("0" * (MAX_RAW_LENGTH + 1), "US", None),
        ("+44 20 7946 0958" + " " * (MAX_RAW_LENGTH - 15), "GB", None),
    ],
)
def test_edge_cases(raw: str, region: str, expected: str | None) -> None:
    assert reference_e164(raw, region) == expected
    validator = BulkPhoneValidator(region)
    assert validator.e164(raw) == expected
    assert validator.e164_many([raw, raw]) == [expected, expected]


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("011 15 2345 6789", "AR"),  # mobile '15' rewritten to '9' by a transform rule
        ("0343 15 555 1212", "AR"),
        ("0 21 11 2345 6789", "BR"),  # carrier code 21, dropped by a transform rule
        ("464 1234", "AG"),  # seven-digit local number completed with area code 268
    ],
)
def test_transform_rules_are_left_to_phonenumbers(raw: str, region: str) -> None:
    validator = BulkPhoneValidator(region)
    assert validator.e164_many([raw]) == [reference_e164(raw, region)]
    assert validator.fallbacks == 1


@pytest.mark.parametrize("region", MAIN_REGIONS)
def test_clean_formats_never_need_phonenumbers_outside_transform_regions(region: str) -> None:
    rng = random.Random(7)
    raws = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE):
        example = phonenumbers.example_number_for_type(region, kind)
        for fmt in (PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL):
            raws.append(phonenumbers.format_number(example, fmt))
        raws.append(_separate(rng, phonenumbers.national_significant_number(example)))
    validator = BulkPhoneValidator(region)
    assert validator.e164_many(raws) == [reference_e164(raw, region) for raw in raws]
    if region not in TRANSFORM_REGIONS:
        assert validator.fallbacks == 0


def test_unknown_region_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown region"):
        BulkPhoneValidator("XX")


def test_awkward_values_in_a_batch_do_not_shift_the_answers_of_their_neighbours() -> None:
    clean = ["020 7946 0958", "+44 7400 123456", "07400 123456", "+1 202 555 0143"]
    awkward = [
        "020 7946\n0958",
        "!020 7946 0958",
        "020 7946 0958!",
        "+44 20 7946 0958" + " " * 20,
        "",
        "\n",
        "0" * 40,
    ]
    raws = [v for pair in zip(clean * 2, awkward, strict=False) for v in pair] + clean
    for region in ("GB", "US", "IN"):
        expected = [reference_e164(raw, region) for raw in raws]
        assert BulkPhoneValidator(region).e164_many(raws) == expected
        assert [BulkPhoneValidator(region).e164(raw) for raw in raws] == expected


def test_batches_longer_than_a_chunk_keep_their_order() -> None:
    raws = [
        f"020 7946 {n:04d}" if n % 3 else f"+33 6 12 34 {n % 100:02d} 78" for n in range(20_000)
    ]
    got = BulkPhoneValidator("GB").e164_many(raws)
    assert got == [reference_e164(raw, "GB") for raw in raws]
    assert BulkPhoneValidator("GB").e164_many([]) == []


# Values made of what the fast tiers read, so hypothesis explores the replayed logic itself.
FAST_SHAPES = st.text(alphabet="0123456789" * 3 + " +-()./x", max_size=30)


@settings(max_examples=400, deadline=None)
@given(raws=st.lists(FAST_SHAPES, max_size=20), region=st.sampled_from(MAIN_REGIONS))
def test_fast_shapes_agree_with_phonenumbers(raws: list[str], region: str) -> None:
    assert BulkPhoneValidator(region).e164_many(raws) == [reference_e164(r, region) for r in raws]


@settings(max_examples=300, deadline=None)
@given(
    head=st.sampled_from(("", "+", "00", "011", "0", "+0", "+00", "1", "44", "+44", "+1", "0044")),
    digits=st.text(alphabet="0123456789", min_size=0, max_size=16),
    region=st.sampled_from(MAIN_REGIONS),
)
def test_prefixed_digit_strings_agree_with_phonenumbers(
    head: str, digits: str, region: str
) -> None:
    raw = head + digits
    assert BulkPhoneValidator(region).e164_many([raw]) == [reference_e164(raw, region)]
