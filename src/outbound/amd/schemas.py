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
from outbound.api.schemas import NoNul, Strict, not_null

DEFAULTS = AmdParams()


class MachineTreatment(StrEnum):
    HANG_UP = "hang_up"  # outcome answering_machine; the strategy decides the retry
    LEAVE_MESSAGE = "leave_message"  # wait for the beep / end of greeting, play, hang up
    TO_AGENT = "pass_to_agent"  # handle it as a human's call all the same


class NotSureAs(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


InitialSilence = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["initial_silence"][0],
        le=BOUNDS["initial_silence"][1],
        description="Longest silence before the greeting (ms); more: MACHINE",
    ),
]
Greeting = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["greeting"][0],
        le=BOUNDS["greeting"][1],
        description="Longest greeting, its voice time (ms); more: MACHINE",
    ),
]
AfterGreetingSilence = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["after_greeting_silence"][0],
        le=BOUNDS["after_greeting_silence"][1],
        description="Silence after the greeting that makes a HUMAN (ms)",
    ),
]
TotalAnalysisTime = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["total_analysis_time"][0],
        le=BOUNDS["total_analysis_time"][1],
        description="Undecided after this long (ms): NOTSURE",
    ),
]
MinWordLength = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["min_word_length"][0],
        le=BOUNDS["min_word_length"][1],
        description="Shortest voice that counts as a word (ms)",
    ),
]
BetweenWordsSilence = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["between_words_silence"][0],
        le=BOUNDS["between_words_silence"][1],
        description="Shortest silence that ends a word (ms)",
    ),
]
MaximumNumberOfWords = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["maximum_number_of_words"][0],
        le=BOUNDS["maximum_number_of_words"][1],
        description="This many words: MACHINE",
    ),
]
SilenceThreshold = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["silence_threshold"][0],
        le=BOUNDS["silence_threshold"][1],
        description="Mean absolute sample value (0-32767) under which a frame is silence",
    ),
]
MaximumWordLength = Annotated[
    StrictInt,
    Field(
        ge=BOUNDS["maximum_word_length"][0],
        le=BOUNDS["maximum_word_length"][1],
        description="Longest single word (ms); more: MACHINE",
    ),
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
