"""The settings this project recommends, measured by bench/amd.py (see the README's AMD section).

Asterisk's defaults stay the defaults (users carry their tunings over); these are what the
campaign form offers to fill in.
"""

from __future__ import annotations

from outbound.amd.params import AmdParams

RECOMMENDED = AmdParams(silence_threshold=128, maximum_number_of_words=5)

# Humans taken for machines, the worst of bench/amd.py's runs (seeds 16-18; README): what the
# reports apply to a campaign's machines to estimate the people it hung up on (Ofcom asks
# for that estimate next to the abandon rate).
HUMANS_AS_MACHINE_RECOMMENDED = 0.007
HUMANS_AS_MACHINE_DEFAULTS = 0.70


def humans_as_machine_rate(params: AmdParams) -> tuple[float, str]:
    """The measured share of people a campaign's settings take for machines, and for which
    settings it was measured."""
    if params == RECOMMENDED:
        return HUMANS_AS_MACHINE_RECOMMENDED, "bench/amd.py, recommended settings"
    if params == AmdParams():
        return HUMANS_AS_MACHINE_DEFAULTS, "bench/amd.py, Asterisk's defaults"
    return (
        HUMANS_AS_MACHINE_DEFAULTS,
        "bench/amd.py, Asterisk's defaults (settings tuned: unmeasured)",
    )
