"""API shapes for campaigns.

Lengths and numeric bounds are checked here; the naming rules, the references to a strategy
and a schedule, and everything that depends on the campaign's state are the service's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from outbound.amd.schemas import AmdPatch, AmdSettings
from outbound.api.schemas import JSON_INTEGER, MAX_ID, NoNul, Strict
from outbound.campaigns.dispositions import DEFAULTS, Disposition, Dispositions
from outbound.campaigns.rules import CRM_ID_MAX, NAME_MAX, NAME_MIN
from outbound.campaigns.types import (
    AfterWrapUp,
    CallbackAfterGrace,
    CampaignType,
    ContactOrder,
    DialingMode,
)

# The service checks names and CRM ids so that it can say what is wrong; the patterns are
# published in the OpenAPI document for clients.
Name = Annotated[
    str,
    StringConstraints(max_length=NAME_MAX),
    WithJsonSchema(
        {
            "type": "string",
            "minLength": NAME_MIN,
            "maxLength": NAME_MAX,
            "pattern": "^[A-Za-z0-9_-]+$",
        }
    ),
]
CrmId = Annotated[
    str,
    StringConstraints(max_length=CRM_ID_MAX),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": CRM_ID_MAX, "pattern": "^[^\\s/]+$"}
    ),
]
Description = Annotated[str, StringConstraints(max_length=1000), NoNul]
DialerTarget = Annotated[str, StringConstraints(max_length=255), NoNul]
SmsTemplate = Annotated[str, StringConstraints(max_length=1600), NoNul]
AgentScript = Annotated[str, StringConstraints(max_length=20_000), NoNul]
# Numbers and booleans are taken as JSON sends them: "10" or 0 for true are refused, not guessed.
RefId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), JSON_INTEGER]
MaxConcurrent = Annotated[StrictInt, Field(ge=1, le=10_000), JSON_INTEGER]
CallsPerSecond = Annotated[float, Field(strict=True, ge=0.1, le=1000, allow_inf_nan=False)]
FieldName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
    Field(description="Key of the field in what the desktop records: a-z, 0-9, _"),
]
FieldLabel = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]
FieldOption = Annotated[str, StringConstraints(min_length=1, max_length=100), NoNul]


def _options_only_on_select(schema: dict[str, Any]) -> None:
    """The document's form of the validator below: a select has 1+ distinct options, the
    other types none."""
    schema["properties"]["options"]["uniqueItems"] = True
    others = [t for t in schema["properties"]["type"]["enum"] if t != "select"]
    schema["anyOf"] = [
        {
            "properties": {"type": {"const": "select"}, "options": {"minItems": 1}},
            "required": ["type", "options"],
        },
        {"properties": {"type": {"enum": others}, "options": {"maxItems": 0}}},
    ]


class FormField(Strict):
    """One field of the agent form; a ``select`` lists its options, other types none."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_options_only_on_select)

    name: FieldName
    label: FieldLabel
    type: Literal["text", "textarea", "number", "date", "checkbox", "select"] = "text"
    required: StrictBool = False
    options: Annotated[list[FieldOption], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _options_fit_the_type(self) -> FormField:
        if self.type == "select" and not self.options:
            raise ValueError("a select field needs at least one option")
        if self.type != "select" and self.options:
            raise ValueError("only a select field has options")
        if len(set(self.options)) != len(self.options):
            raise ValueError("each option at most once")
        return self


def _unique_names(fields: list[FormField]) -> list[FormField]:
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise ValueError("each field name at most once")
    return fields


AgentForm = Annotated[
    list[FormField],
    Field(max_length=50, description="Fields the agent fills in during the call"),
    AfterValidator(_unique_names),
]
Priority = Annotated[
    StrictInt, Field(ge=1, le=100, description="Share of dialer capacity (weight)"), JSON_INTEGER
]

LinesPerAgent = Annotated[
    float,
    Field(
        strict=True,
        ge=1.0,
        le=3.0,
        allow_inf_nan=False,
        description="Progressive/preview: calls dialled per ready agent (1.0-3.0)",
    ),
]
WrapUpSeconds = Annotated[
    StrictInt,
    Field(ge=0, le=3600, description="Longest wrap-up after a call, in seconds"),
    JSON_INTEGER,
]
CallbackGraceMinutes = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=10080,
        description="Personal callbacks: minutes after the callback is due during which only "
        "the agent who booked it gets it (0-10080)",
    ),
    JSON_INTEGER,
]
AbandonMessage = Annotated[
    str,
    StringConstraints(max_length=1024, pattern=r'^[^\s;,<>"\x00]*$'),
    Field(
        description="Progressive: the WAV (8 kHz mono 16-bit; absolute, or under the sip "
        "dialer's audio_dir) an answered customer hears when no agent is free: who is calling "
        "and how to opt out; empty: the dialer's default message"
    ),
]
OptOutDigit = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9*#]?$"),
    Field(
        description="The key (0-9, * or #) that, pressed during the abandon message, puts the "
        "number on the DNC list; empty: none"
    ),
]
DIALING_MODE_HELP = (
    "fixed (concurrency and rate only), preview or progressive (Agent campaigns: dial only for "
    "ready agents); predictive is reserved and refused for now"
)


AFTER_GRACE_HELP = (
    "A personal callback whose agent was not ready within the grace time: any_agent (any "
    "agent of the campaign gets it) or wait (only that agent, whenever ready)"
)


class CampaignCreate(Strict):
    name: Name = Field(description="4-64 characters: letters, digits, '_' and '-'")
    type: CampaignType = Field(description="Fixed once the campaign exists")
    crm_campaign_id: CrmId | None = Field(
        default=None, description="The CRM's own id; address the campaign as crm:<id>"
    )
    description: Description = ""
    strategy_id: RefId | None = Field(
        default=None, description="Required for voice campaigns; SMS ones default to Default"
    )
    schedule_id: RefId | None = Field(default=None, description="Defaults to the Default schedule")
    dialer_target: DialerTarget = Field(
        default="", description="Agent queue, IVR route or message to play"
    )
    sms_template: SmsTemplate = ""
    agent_script: AgentScript = ""
    agent_form: AgentForm = []
    dispositions: Dispositions = Field(default_factory=lambda: list(DEFAULTS))
    contact_order: ContactOrder = ContactOrder.FIFO
    fresh_first: StrictBool = Field(default=False, description="First attempts before retries")
    max_concurrent_calls: MaxConcurrent = 10
    max_calls_per_second: CallsPerSecond = 5.0
    priority: Priority = 1
    dialing_mode: DialingMode = Field(default=DialingMode.FIXED, description=DIALING_MODE_HELP)
    lines_per_agent: LinesPerAgent = 1.0
    wrap_up_seconds: WrapUpSeconds = 60
    after_wrap_up: AfterWrapUp = Field(
        default=AfterWrapUp.READY, description="Where an agent goes when wrap-up ends"
    )
    amd: AmdSettings = Field(
        default_factory=AmdSettings, description="Answering-machine detection (off by default)"
    )
    abandon_message: AbandonMessage = ""
    opt_out_digit: OptOutDigit = "9"
    callback_grace_minutes: CallbackGraceMinutes = 15
    callback_after_grace: CallbackAfterGrace = Field(
        default=CallbackAfterGrace.ANY_AGENT, description=AFTER_GRACE_HELP
    )


class CampaignUpdate(Strict):
    """Only the fields given change; ``crm_campaign_id: null`` removes the CRM id."""

    name: Name | None = None
    type: CampaignType | None = Field(default=None, description="May only repeat the current type")
    crm_campaign_id: CrmId | None = None
    description: Description | None = None
    strategy_id: RefId | None = Field(
        default=None, description="Only while the campaign is stopped"
    )
    schedule_id: RefId | None = None
    dialer_target: DialerTarget | None = None
    sms_template: SmsTemplate | None = None
    agent_script: AgentScript | None = None
    agent_form: AgentForm | None = None
    dispositions: Dispositions | None = Field(default=None, description="Replaces the list")
    contact_order: ContactOrder | None = None
    fresh_first: StrictBool | None = None
    max_concurrent_calls: MaxConcurrent | None = None
    max_calls_per_second: CallsPerSecond | None = None
    priority: Priority | None = None
    dialing_mode: DialingMode | None = Field(default=None, description=DIALING_MODE_HELP)
    lines_per_agent: LinesPerAgent | None = None
    wrap_up_seconds: WrapUpSeconds | None = None
    after_wrap_up: AfterWrapUp | None = None
    amd: AmdPatch | None = Field(
        default=None, description="Answering-machine detection: the fields given change"
    )
    abandon_message: AbandonMessage | None = None
    opt_out_digit: OptOutDigit | None = None
    callback_grace_minutes: CallbackGraceMinutes | None = None
    callback_after_grace: CallbackAfterGrace | None = Field(
        default=None, description=AFTER_GRACE_HELP
    )


class CampaignOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    type: CampaignType
    crm_campaign_id: str | None
    description: str
    running: bool
    started_at: datetime | None
    stopped_at: datetime | None
    strategy_id: int
    schedule_id: int
    dialer_target: str
    sms_template: str
    agent_script: str
    agent_form: list[FormField]
    dispositions: list[Disposition]
    contact_order: ContactOrder
    fresh_first: bool
    max_concurrent_calls: int
    max_calls_per_second: float
    priority: int
    dialing_mode: DialingMode
    lines_per_agent: float
    wrap_up_seconds: int
    after_wrap_up: AfterWrapUp
    amd: AmdSettings
    abandon_message: str
    opt_out_digit: str
    callback_grace_minutes: int
    callback_after_grace: CallbackAfterGrace
    created_at: datetime
    updated_at: datetime
