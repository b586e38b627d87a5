"""API shapes for agents, their states and the not-ready reasons."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from outbound.agents.states import AgentState
from outbound.api.schemas import JSON_INTEGER, MAX_ID, NoNul, Strict, not_null
from outbound.campaigns.dispositions import Disposition
from outbound.contacts.states import ContactState
from outbound.screenpop.schemas import PopParam, PopPhone, ScreenPop

# sip:user@host or sip:user@host:port (host a name or an IPv4 address), or an extension at
# the trunk: digits only.
_USER = r"[A-Za-z0-9._~+!$&'()*,;=%-]+"
_HOST = r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?"
_SIP_URI = re.compile(f"sip:(?P<user>{_USER})@(?P<host>{_HOST})(:(?P<port>[0-9]{{1,5}}))?")
_EXTENSION = re.compile(r"[0-9]{1,15}")
# The same rule for the document, the port's 1-65535 spelled out as alternatives.
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
SIP_PATTERN = f"^([0-9]{{1,15}}|sip:{_USER}@{_HOST}(:{_PORT})?)$"
SIP_HELP = "Where calls reach the agent: sip:user@host[:port], or an extension of 1-15 digits"


def check_sip_address(value: str) -> str:
    """The address kamailio routes the agent's calls to; refused with the reason otherwise."""
    if _EXTENSION.fullmatch(value):
        return value
    if not value.startswith("sip:"):
        raise ValueError(
            "a SIP address is sip:user@host[:port] (e.g. sip:alice@pbx.example.com) "
            "or an extension of 1-15 digits"
        )
    match = _SIP_URI.fullmatch(value)
    if match is None:
        raise ValueError(
            "not a SIP URI: write sip:user@host[:port], with no spaces or parameters "
            "(e.g. sip:alice@10.0.0.5:5060)"
        )
    port = match.group("port")
    if port is not None and not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port} is outside 1-65535")
    return value


SipAddress = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(check_sip_address),
    Field(description=SIP_HELP),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": SIP_PATTERN},
    ),
]
RefId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), JSON_INTEGER]
CampaignIds = Annotated[
    list[RefId], Field(max_length=1000, description="The Agent campaigns the agent serves")
]
ReasonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64), NoNul
]


class AgentCreate(Strict):
    user_id: RefId = Field(description="The user (role agent, supervisor or admin)")
    sip_address: SipAddress
    campaign_ids: CampaignIds = []


class AgentUpdate(Strict):
    """Only the fields given change; ``campaign_ids`` replaces the whole list."""

    # Either may be left out, neither may be null (the service says so).
    sip_address: SipAddress | None = Field(default=None, json_schema_extra=not_null)
    campaign_ids: CampaignIds | None = Field(default=None, json_schema_extra=not_null)


class AgentOut(BaseModel):
    id: int
    user_id: int
    username: str
    sip_address: str
    campaign_ids: list[int]
    active_campaign_ids: list[int] = Field(
        description="The assigned campaigns the agent works now (chosen at the desktop)"
    )
    state: AgentState
    state_since: datetime
    reason_id: int | None
    reason: str | None
    last_heartbeat_at: datetime | None


def _reason_with_not_ready(schema: dict[str, Any]) -> None:
    """The document's form of the rule: a reason goes with not_ready only."""
    schema["anyOf"] = [
        {"properties": {"state": {"const": AgentState.NOT_READY.value}}},
        {"properties": {"reason_id": {"type": "null"}}},
    ]


class StateRequest(Strict):
    """``ready``, ``not_ready`` (with ``reason_id``) or ``logged_out``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_reason_with_not_ready)

    state: AgentState
    reason_id: RefId | None = Field(
        default=None, description="Required for not_ready, except when logging in"
    )


class ReasonCreate(Strict):
    name: ReasonName


class ReasonUpdate(Strict):
    name: ReasonName


class ReasonOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    system: bool


class StateChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    from_state: AgentState
    to_state: AgentState
    reason_id: int | None
    reason: str | None
    at: datetime
    by_user_id: int | None
    by: str


# -- the desktop and CTI API -----------------------------------------------------------------
class CampaignChoice(Strict):
    """The campaigns the agent works now: any of those assigned (none: takes no call)."""

    campaign_ids: CampaignIds


FormValues = Annotated[
    dict[
        Annotated[str, StringConstraints(max_length=40)],
        Annotated[str, StringConstraints(max_length=10_000), NoNul]
        | StrictInt
        | float
        | bool
        | None,
    ],
    Field(
        max_length=50,
        description="The agent form's values by field name (text, number, true/false, "
        "YYYY-MM-DD); checked against the campaign's agent_form",
    ),
]


class DispositionRequest(Strict):
    """How the agent ends the call: a disposition code of the call's campaign, the form."""

    disposition: Annotated[
        str,
        StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
        Field(description="A code from the campaign's dispositions"),
    ]
    form_values: FormValues = {}
    callback_at: AwareDatetime | None = Field(
        default=None,
        description="Only with a callback_requested disposition: when the customer asked to be "
        "called again (with its UTC offset); the next attempt is due then",
    )
    callback_personal: StrictBool = Field(
        default=True,
        description="With callback_at: the callback is personal (only this agent gets it until "
        "the campaign's callback_grace_minutes after it is due); false: any agent",
    )


class CallOut(BaseModel):
    """The agent's current call: the screen-pop, the dispositions to end it with, and where
    the wrap-up stands."""

    agent_state: AgentState
    since: datetime = Field(description="When the agent entered agent_state")
    wrap_up_seconds: int = Field(description="The campaign's wrap-up limit")
    wrap_up_ends_at: datetime | None = Field(description="While wrapping up: when it ends")
    disposition: str | None = Field(description="The code chosen; null until disposed")
    form_values: dict[str, Any] | None
    dispositions: list[Disposition]
    callback_at: datetime | None = Field(
        default=None,
        description="After a callback disposition: when the contact's next attempt is due",
    )
    contact_zones: list[str] = Field(
        description="The time zones the dialled number may be in (IANA names; the first is "
        "the desk's default for a callback time)"
    )
    screen_pop: ScreenPop


class CallbackRequest(Strict):
    """A callback a CRM books for a pending contact."""

    at: AwareDatetime = Field(
        description="When to call (with its UTC offset); the contact's next attempt is due then"
    )
    agent_id: RefId | None = Field(
        default=None,
        description="Personal: only this agent (who must serve the campaign) gets the call "
        "until the campaign's callback_grace_minutes after it is due; null: any agent",
    )


class CallbackOut(BaseModel):
    contact_id: int
    campaign_id: int
    callback_at: datetime | None = Field(description="The booked time; null once cancelled")
    agent_id: int | None = Field(description="The agent of a personal callback")
    state: ContactState
    next_attempt_at: datetime | None


class MyCallbackOut(BaseModel):
    """One of the agent's personal callbacks to come."""

    contact_id: int
    campaign_id: int
    campaign: str
    crm_contact_id: str | None
    phone: str
    callback_at: datetime
    zone: str = Field(description="The contact's time zone (its number's), else UTC")
    local_time: str = Field(description="callback_at on the contact's clock: YYYY-MM-DD HH:MM")


class SkipRequest(Strict):
    """Pass the previewed contact: a disposition (its outcome follows the strategy)."""

    disposition: Annotated[
        str,
        StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$"),
        Field(description="A code from the campaign's dispositions"),
    ]
    callback_at: AwareDatetime | None = Field(
        default=None, description="Only with a callback_requested disposition: when to call"
    )


class PreviewOut(BaseModel):
    """The contact shown to the agent before the call."""

    campaign_id: int
    campaign: str
    agent_script: str
    contact_id: int
    crm_contact_id: str | None
    phones: list[PopPhone]
    params: list[PopParam]
    number_to_call: str = Field(description="The number the call will dial (E.164)")
    attempt_number: int = Field(description="The attempt a call would be (1st, 2nd, ...)")
    last_outcome: str | None
    callback_at: datetime | None = Field(description="A callback booked for this time")
    personal: bool = Field(description="The callback is this agent's own")
    zone: str = Field(description="The number's time zone (else UTC)")
    dispositions: list[Disposition] = Field(description="What a skip may be recorded as")
    shown_until: datetime = Field(description="Given back to the others after this")
    dial_requested_at: datetime | None = Field(description="When the agent chose to call")
