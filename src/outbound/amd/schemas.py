"""A campaign's answering-machine detection settings: on or off, the classifier's parameters
(Asterisk's names, defaults and units) and what to do with a machine and with NOTSURE.

Stored as one JSON object on the campaign (``campaigns.amd``) and shown as such by the API.
What depends on the campaign (its type, its message) is checked by the campaign service.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StringConstraints

from outbound.amd.params import BOUNDS, AmdParams
from outbound.api.schemas import JSON_INTEGER, NoNul, Strict, not_null

DEFAULTS = AmdParams()


class MachineTreatment(StrEnum):
    HANG_UP = "hang_up"  # outcome answering_machine; the strategy decides the retry
    LEAVE_MESSAGE = "leave_message"  # wait for the beep / end of greeting, play, hang up
    TO_AGENT = "pass_to_agent"  # handle it as a human's call all the same


class NotSureAs(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


def _bounded(name: str, description: str) -> Any:
    """A parameter's bounds (``params.BOUNDS``) and what it means, for the document."""
    low, high = BOUNDS[name]
    return Field(ge=low, le=high, description=description)


InitialSilence = Annotated[
    StrictInt,
    _bounded("initial_silence", "Longest silence before the greeting (ms); more: MACHINE"),
    JSON_INTEGER,
]
Greeting = Annotated[
    StrictInt,
    _bounded("greeting", "Longest greeting, its voice time (ms); more: MACHINE"),
    JSON_INTEGER,
]
AfterGreetingSilence = Annotated[
    StrictInt,
    _bounded("after_greeting_silence", "Silence after the greeting that makes a HUMAN (ms)"),
    JSON_INTEGER,
]
TotalAnalysisTime = Annotated[
    StrictInt,
    _bounded("total_analysis_time", "Undecided after this long (ms): NOTSURE"),
    JSON_INTEGER,
]
MinWordLength = Annotated[
    StrictInt,
    _bounded("min_word_length", "Shortest voice that counts as a word (ms)"),
    JSON_INTEGER,
]
BetweenWordsSilence = Annotated[
    StrictInt,
    _bounded("between_words_silence", "Shortest silence that ends a word (ms)"),
    JSON_INTEGER,
]
MaximumNumberOfWords = Annotated[
    StrictInt, _bounded("maximum_number_of_words", "This many words: MACHINE"), JSON_INTEGER
]
SilenceThreshold = Annotated[
    StrictInt,
    _bounded(
        "silence_threshold", "Mean absolute sample value (0-32767) under which a frame is silence"
    ),
    JSON_INTEGER,
]
MaximumWordLength = Annotated[
    StrictInt,
    _bounded("maximum_word_length", "Longest single word (ms); more: MACHINE"),
    JSON_INTEGER,
]
MachineMessage = Annotated[
    str,
    StringConstraints(max_length=255),
    NoNul,
    Field(
        description="Audio file left on a machine (leave_message); empty: an Automated "
        "campaign's own message (dialer_target)"
    ),
]


class AmdSettings(Strict):
    """Every field has a default: ``{}`` is detection off with Asterisk's defaults."""

    enabled: StrictBool = Field(default=False, description="Detect machines on answered calls")
    machine_treatment: MachineTreatment = Field(
        default=MachineTreatment.HANG_UP,
        description="hang_up (outcome answering_machine), leave_message (after the greeting "
        "or its beep), pass_to_agent (as a human's call)",
    )
    notsure_as: NotSureAs = Field(default=NotSureAs.HUMAN, description="How NOTSURE is treated")
    machine_message: MachineMessage = ""
    initial_silence: InitialSilence = DEFAULTS.initial_silence
    greeting: Greeting = DEFAULTS.greeting
    after_greeting_silence: AfterGreetingSilence = DEFAULTS.after_greeting_silence
    total_analysis_time: TotalAnalysisTime = DEFAULTS.total_analysis_time
    min_word_length: MinWordLength = DEFAULTS.min_word_length
    between_words_silence: BetweenWordsSilence = DEFAULTS.between_words_silence
    maximum_number_of_words: MaximumNumberOfWords = DEFAULTS.maximum_number_of_words
    silence_threshold: SilenceThreshold = DEFAULTS.silence_threshold
    maximum_word_length: MaximumWordLength = DEFAULTS.maximum_word_length

    def params(self) -> AmdParams:
        return AmdParams(**{name: getattr(self, name) for name in BOUNDS})


class AmdPatch(Strict):
    """A PATCH changes the fields it names and keeps the others (none may be null)."""

    enabled: StrictBool | None = Field(default=None, json_schema_extra=not_null)
    machine_treatment: MachineTreatment | None = Field(default=None, json_schema_extra=not_null)
    notsure_as: NotSureAs | None = Field(default=None, json_schema_extra=not_null)
    machine_message: MachineMessage | None = Field(default=None, json_schema_extra=not_null)
    initial_silence: InitialSilence | None = Field(default=None, json_schema_extra=not_null)
    greeting: Greeting | None = Field(default=None, json_schema_extra=not_null)
    after_greeting_silence: AfterGreetingSilence | None = Field(
        default=None, json_schema_extra=not_null
    )
    total_analysis_time: TotalAnalysisTime | None = Field(default=None, json_schema_extra=not_null)
    min_word_length: MinWordLength | None = Field(default=None, json_schema_extra=not_null)
    between_words_silence: BetweenWordsSilence | None = Field(
        default=None, json_schema_extra=not_null
    )
    maximum_number_of_words: MaximumNumberOfWords | None = Field(
        default=None, json_schema_extra=not_null
    )
    silence_threshold: SilenceThreshold | None = Field(default=None, json_schema_extra=not_null)
    maximum_word_length: MaximumWordLength | None = Field(default=None, json_schema_extra=not_null)

    def null_field(self) -> str | None:
        """A field sent as null, which a PATCH cannot mean (leave it out to keep it)."""
        return next((n for n in sorted(self.model_fields_set) if getattr(self, n) is None), None)

    def applied_to(self, current: AmdSettings) -> AmdSettings:
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        return current.model_copy(update=changes)


def stored(value: dict[str, Any] | None) -> AmdSettings:
    """A campaign's stored settings (a row from before detection existed reads as off)."""
    return AmdSettings.model_validate(value or {})
