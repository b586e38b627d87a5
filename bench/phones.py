"""Benchmark: BulkPhoneValidator.e164_many against the plain phonenumbers pipeline.

Builds a seeded, contact-file-like column of 1,000,000 phone values for one default region
(mostly its national format, some international, some near misses and junk), then times the
reference pipeline on a 100k sample and the bulk validator on the same sample and on the full
million, in one process, three runs each, and prints the medians and the speed-up.

    .venv/bin/python bench/phones.py [--region US] [--rows 1000000] [--sample 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from outbound.contacts.fastphone import BulkPhoneValidator, reference_e164

FOREIGN = ("US", "GB", "FR", "DE", "IN", "BR", "AU", "ES", "IT", "PL", "NG", "CN", "MX", "CA")
JUNK = (
    "",
    " ",
    "n/a",
    "N/A",
    "unknown",
    "-",
    "+",
    "0",
    "000000",
    "123",
    "see notes",
    "tbc",
    "0000000000000000000000000000000",
    "Tel: ",
    "1-800-FLOWERS",
)


def _valid_pool(region: str, size: int, rng: random.Random) -> list[PhoneNumber]:
    """Distinct valid numbers of a region, made by re-rolling the digits of its examples."""
    bases = []
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None:
            bases.append((kind, phonenumbers.national_significant_number(example)))
    weights = [6 if kind == PhoneNumberType.MOBILE else 3 for kind, _ in bases]
    pool: dict[str, PhoneNumber] = {}
    code = phonenumbers.country_code_for_region(region)
    for _ in range(size * 40):
        if len(pool) >= size:
            break
        _, nsn = rng.choices(bases, weights)[0]
        keep = rng.randint(2, 4)
        candidate = nsn[:keep] + "".join(rng.choices("0123456789", k=len(nsn) - keep))
        number = phonenumbers.parse(f"+{code}{candidate}", None)
        if phonenumbers.is_valid_number(number):
            pool[candidate] = number
    return list(pool.values())


def _reroll_tail(rng: random.Random, text: str, digits: int = 3) -> str:
    """Replace the last few digits of a formatted value, keeping its layout."""
    chars = list(text)
    for i in range(len(chars) - 1, -1, -1):
        if digits == 0:
            break
        if chars[i].isdigit():
            chars[i] = rng.choice("0123456789")
            digits -= 1
    return "".join(chars)


def _national_variant(rng: random.Random, national: str) -> str:
    roll = rng.random()
    if roll < 0.4:
        return "".join(ch for ch in national if ch.isdigit())
    if roll < 0.7:
        return national.replace(" ", "-").replace("(", "").replace(")", "")
    if roll < 0.85:
        return national.replace(" ", ".").replace("(", "").replace(")", "")
    return f" {national} "


def _junk(rng: random.Random, national: str) -> str:
    roll = rng.random()
    if roll < 0.6:
        return rng.choice(JUNK)
    if roll < 0.85:
        return f"{national} {rng.choice(('ext', 'x', 'ext.'))} {rng.randint(1, 999)}"
    return f"{national} ({rng.choice(('home', 'work', 'mobile', 'wife'))})"


def contact_column(region: str, rows: int, seed: int) -> list[str]:
    """A seeded column of raw phone values as they arrive in contact files."""
    rng = random.Random(seed)
    home = _valid_pool(region, 20_000, rng)
    abroad = [n for r in FOREIGN if r != region for n in _valid_pool(r, 500, rng)]
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    idd = meta.preferred_international_prefix or meta.international_prefix
    idd = idd if idd.isdigit() else "0021" if region == "BR" else "00"  # BR: 00 + carrier
    nat, intl, e164 = PhoneNumberFormat.NATIONAL, PhoneNumberFormat.INTERNATIONAL, 0
    home_texts = [
        (
            phonenumbers.format_number(n, nat),
            phonenumbers.format_number(n, intl),
            phonenumbers.format_number(n, e164),
        )
        for n in home
    ]
    abroad_texts = [
        (phonenumbers.format_number(n, intl), phonenumbers.format_number(n, e164)) for n in abroad
    ]
    out = []
    for _ in range(rows):
        roll = rng.random()
        national, international, plain = rng.choice(home_texts)
        if roll < 0.55:
            raw = national
        elif roll < 0.72:
            raw = _national_variant(rng, national)
        elif roll < 0.82:
            raw = rng.choice((international, plain))
        elif roll < 0.87:
            raw = rng.choice(rng.choice(abroad_texts))
        elif roll < 0.9:
            raw = f"{idd} {rng.choice(abroad_texts)[0][1:]}"
        elif roll < 0.95:
            cut = rng.randrange(len(plain))
            raw = plain[:cut] + plain[cut + 1 :] if rng.random() < 0.5 else plain + "7"
        else:
            raw = _junk(rng, national)
        out.append(_reroll_tail(rng, raw) if roll < 0.9 else raw)
    return out


def _seconds(run: Callable[..., object], *args: object) -> float:
    start = time.perf_counter()
    run(*args)
    return time.perf_counter() - start


def _reference(raws: Sequence[str], region: str) -> list[str | None]:
    return [reference_e164(raw, region) for raw in raws]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="US")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.perf_counter()
    column = contact_column(args.region, args.rows, args.seed)
    sample = column[: args.sample]
    took = time.perf_counter() - start
    print(f"generated {len(column):,} values for {args.region} in {took:.1f}s")

    start = time.perf_counter()
    BulkPhoneValidator(args.region).e164_many(sample[:2000])
    print(f"first use (compiling metadata as met): {time.perf_counter() - start:.2f}s")

    expected = _reference(sample, args.region)
    checker = BulkPhoneValidator(args.region)
    got = checker.e164_many(sample)
    wrong = [(raw, g, e) for raw, g, e in zip(sample, got, expected, strict=True) if g != e]
    print(f"sample agrees with phonenumbers: {len(sample) - len(wrong):,}/{len(sample):,}")
    for raw, g, e in wrong[:10]:
        print(f"  MISMATCH {raw!r}: fast {g!r}, phonenumbers {e!r}")
    print(f"valid share of the sample: {sum(e is not None for e in expected) / len(sample):.1%}")

    # Interleaved rounds, so a busy machine slows both sides alike; medians of 3.
    rounds: dict[str, list[float]] = {"reference": [], "sample": [], "full": []}
    for _ in range(3):
        rounds["reference"].append(_seconds(_reference, sample, args.region))
        rounds["sample"].append(_seconds(BulkPhoneValidator(args.region).e164_many, sample))
        rounds["full"].append(_seconds(BulkPhoneValidator(args.region).e164_many, column))
    ref_s, fast_sample_s, fast_full_s = (statistics.median(v) for v in rounds.values())
    counter = BulkPhoneValidator(args.region)
    counter.e164_many(column)

    ref_rate = len(sample) / ref_s
    sample_rate = len(sample) / fast_sample_s
    full_rate = len(column) / fast_full_s
    print(f"reference phonenumbers, {len(sample):,} values: {ref_rate:>12,.0f} numbers/s")
    print(f"e164_many, same {len(sample):,} values:      {sample_rate:>12,.0f} numbers/s")
    print(f"e164_many, all {len(column):,} values:    {full_rate:>12,.0f} numbers/s")
    share = counter.fallbacks / len(column)
    print(f"values handed to phonenumbers (fallback): {counter.fallbacks:,} = {share:.2%}")
    print(
        f"speed-up (median of 3): {sample_rate / ref_rate:.1f}x on the sample, "
        f"{full_rate / ref_rate:.1f}x on all {len(column):,}"
    )


if __name__ == "__main__":
    main()
