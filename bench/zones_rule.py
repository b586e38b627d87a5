"""Check: the zone rule over many valid numbers, and the speed of the zone lookup.

Generates valid numbers of every number type (mobiles included) of every region phonenumbers
knows, by re-rolling the trailing digits of its example numbers (tests/zone_oracle.py), and
checks each against the rule of DESIGN.md engine invariant 3: ``zones_for`` covers every zone
of phonenumbers' public ``time_zones_for_number(parse(number))``, narrowed to the number's
country where the calling code is shared, a zone with the same offsets all year counting as
covered. Prints how many numbers break it (must be 0). Then times ``zones_for`` without its
per-number cache (each dispatcher pass meets numbers it has not seen) against
``parse`` + ``time_zones_for_number`` on the same numbers, in this process, three runs each,
and prints the medians and their ratio.

    .venv/bin/python bench/zones_rule.py [--per-type 120] [--seed 12]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import phonenumbers
from phonenumbers.timezone import time_zones_for_number

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests package: the oracle

from tests.zone_oracle import uncovered, valid_numbers

from outbound.contacts.zones import zones_for


def _median_us(run: Callable[[Sequence[str]], object], numbers: Sequence[str]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        run(numbers)
        times.append(time.perf_counter() - started)
    return statistics.median(times) / len(numbers) * 1e6


def _ours(numbers: Sequence[str]) -> None:
    lookup = zones_for.__wrapped__  # no per-number cache: every number is new to it
    for number in numbers:
        lookup(number)


def _library(numbers: Sequence[str]) -> None:
    for number in numbers:
        time_zones_for_number(phonenumbers.parse(number))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=120, help="numbers per region and type")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    numbers = list(valid_numbers(regions, args.per_type, args.seed))
    parsed = [phonenumbers.parse(n) for n in numbers]
    countries = Counter(phonenumbers.region_code_for_number(p) for p in parsed)
    kinds = Counter(phonenumbers.number_type(p) for p in parsed)
    mobiles = kinds[phonenumbers.PhoneNumberType.MOBILE]
    print(f"{len(numbers)} valid numbers of {len(countries)} countries, {mobiles} mobiles")
    print("by type:", {phonenumbers.PhoneNumberType.to_string(k): v for k, v in kinds.items()})
    broken = {n: missing for n in numbers if (missing := uncovered(n, zones_for(n)))}
    for number, missing in list(broken.items())[:20]:
        print(f"  breaks the rule: {number} misses {missing} (has {zones_for(number)})")
    ours = _median_us(_ours, numbers)
    library = _median_us(_library, numbers)
    print(f"zones_for uncached: {ours:.2f} µs/number; parse+time_zones_for_number: {library:.2f}")
    print(
        f"zones: {len(numbers)} numbers, {len(countries)} countries, {len(broken)} break the "
        f"rule; lookup {ours:.2f} µs/number, ratio {ours / library:.3f} vs "
        f"parse+time_zones_for_number"
    )
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
