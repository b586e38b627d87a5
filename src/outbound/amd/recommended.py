"""The settings this project recommends, measured by bench/amd.py (see the README's AMD section).

Asterisk's defaults stay the defaults (users carry their tunings over); these are what the
campaign form offers to fill in.
"""

from __future__ import annotations

from outbound.amd.params import AmdParams

RECOMMENDED = AmdParams(silence_threshold=128, maximum_number_of_words=5)
