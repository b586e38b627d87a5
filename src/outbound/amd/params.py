"""The classifier's parameters: Asterisk ``AMD()``'s names, meanings and defaults.

Users carry their ``amd.conf`` tunings over as they are: every duration is in milliseconds,
``silence_threshold`` is the mean absolute sample value (0-32767) under which a 20 ms frame
counts as silence.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

FRAME_MS = 20

# (lowest, highest) accepted for each parameter: wide enough for any sane tuning, narrow
# enough that a typo (an extra zero, seconds for milliseconds) is refused, not obeyed.
BOUNDS: dict[str, tuple[int, int]] = {
    "initial_silence": (100, 60_000),
    "greeting": (100, 60_000),
    "after_greeting_silence": (100, 60_000),
    "total_analysis_time": (500, 120_000),
    "min_word_length": (20, 5_000),
    "between_words_silence": (20, 5_000),
    "maximum_number_of_words": (1, 100),
    "silence_threshold": (1, 32_767),
    "maximum_word_length": (100, 60_000),
}
UNITS = {"maximum_number_of_words": "words", "silence_threshold": "mean absolute sample value"}


@dataclass(frozen=True, kw_only=True)
class AmdParams:
    initial_silence: int = 2500
    """Longest silence before the greeting; more is a MACHINE (INITIALSILENCE)."""
    greeting: int = 1500
    """Longest greeting (its voice time); more is a MACHINE (LONGGREETING)."""
    after_greeting_silence: int = 800
    """Silence after a greeting that makes it a HUMAN (HUMAN)."""
    total_analysis_time: int = 5000
    """Undecided after this long: NOTSURE (TOOLONG)."""
    min_word_length: int = 100
    """Shortest voice run that counts as a word."""
    between_words_silence: int = 50
    """Shortest silence that ends a word."""
    maximum_number_of_words: int = 2
    """This many words is a MACHINE (MAXWORDS)."""
    silence_threshold: int = 256
    """Mean absolute sample value under which a frame is silence."""
    maximum_word_length: int = 5000
    """Longest single word; more is a MACHINE (MAXWORDLENGTH)."""

    def __post_init__(self) -> None:
        problem = params_problem(self.as_dict())
        if problem is not None:
            raise ValueError(problem)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def replace(self, **changes: int) -> AmdParams:
        return AmdParams(**{**self.as_dict(), **changes})


def params_problem(values: dict[str, int]) -> str | None:
    """What is wrong with a set of parameters, said for a user; None when they can be used."""
    for name, value in values.items():
        low, high = BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} must be a whole number ({UNITS.get(name, 'ms')})"
        if not low <= value <= high:
            return f"{name} must be between {low} and {high} (got {value})"
    return None
