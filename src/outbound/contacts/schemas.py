"""API shapes for contacts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    computed_field,
)

from outbound.api.schemas import MAX_BIG_ID, NoNul, Strict, phone_schema
from outbound.contacts.phones import MAX_RAW_LENGTH
from outbound.contacts.states import LABELS, ContactState
from outbound.models import Attempt, Campaign, Contact, SmsReply
from outbound.strategies.outcomes import Channel, Outcome

Phone = Annotated[str, StringConstraints(max_length=MAX_RAW_LENGTH), phone_schema()]
OptionalPhone = Annotated[
    str, StringConstraints(max_length=MAX_RAW_LENGTH), phone_schema(optional=True)
]
# ``?state=a,b``: known state names separated by commas (spaces and empty names ignored).
_STATE = "|".join(s.value for s in ContactState)
STATE_LIST_PATTERN = rf"^\s*(?:(?:{_STATE})\s*)?(?:,\s*(?:(?:{_STATE})\s*)?)*$"
StateNames = Annotated[
    str,
    StringConstraints(max_length=200),
    WithJsonSchema({"type": "string", "maxLength": 200, "pattern": STATE_LIST_PATTERN}),
]
Param = Annotated[str, StringConstraints(max_length=255), NoNul]


class ContactListQuery(Strict):
    """Query string of a campaign's contact list; an unknown parameter is a 422."""

    state: Annotated[
        list[StateNames],
        Field(max_length=20, description="Only these states: repeat it or separate by commas"),
    ] = []
    q: Annotated[
        str | None, Field(min_length=1, max_length=MAX_RAW_LENGTH, description="Start of Phone 1")
    ] = None
    after: Annotated[int | None, Field(ge=0, le=MAX_BIG_ID, description="next_after of a page")] = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class ContactCreate(Strict):
    """One contact; an empty Phone 2 to 5 or parameter is the same as leaving it out."""

    phone1: Phone
    phone2: OptionalPhone | None = None
    phone3: OptionalPhone | None = None
    phone4: OptionalPhone | None = None
    phone5: OptionalPhone | None = None
    param1: Param | None = None
    param2: Param | None = None
    param3: Param | None = None
    param4: Param | None = None
    param5: Param | None = None
    param6: Param | None = None
    param7: Param | None = None
    param8: Param | None = None
    param9: Param | None = None
    param10: Param | None = None
    param11: Param | None = None
    param12: Param | None = None
    crm_contact_id: Annotated[str, StringConstraints(max_length=128), NoNul] | None = None


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    campaign_id: int
    crm_contact_id: str | None
    import_seq: int
    import_job_id: int | None
    phone1: str
    phone2: str | None
    phone3: str | None
    phone4: str | None
    phone5: str | None
    phone1_e164: str
    phone2_e164: str | None
    phone3_e164: str | None
    phone4_e164: str | None
    phone5_e164: str | None
    param1: str | None
    param2: str | None
    param3: str | None
    param4: str | None
    param5: str | None
    param6: str | None
    param7: str | None
    param8: str | None
    param9: str | None
    param10: str | None
    param11: str | None
    param12: str | None
    state: ContactState
    request_time: datetime | None = Field(description="When the last attempt was made")
    number_to_call: str | None
    next_attempt_at: datetime | None
    next_position: int
    attempt_count: int
    last_outcome: str | None
    closed_at: datetime | None
    callback_at: datetime | None = Field(description="A callback booked for this time")
    callback_agent_id: int | None = Field(description="The agent of a personal callback")
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state_label(self) -> str:
        """The state as the product shows it (REQUIREMENTS §5)."""
        return LABELS[self.state]


class ContactAdded(ContactOut):
    dnc_numbers: list[str] = Field(
        default_factory=list,
        description="Its numbers found on a do-not-call list; if any, it was closed as DNC Listed",
    )

    @classmethod
    def build(cls, contact: Contact, dnc_numbers: list[str]) -> ContactAdded:
        fields = ContactOut.model_validate(contact).model_dump(exclude={"state_label"})
        return cls(**fields, dnc_numbers=dnc_numbers)


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int = Field(
        description="1 for the first attempt of the contact, 2 for the next, and so on"
    )
    strategy_position: int
    channel: Channel
    phone_slot: int
    phone_number: str
    sent_at: datetime
    answered_at: datetime | None = Field(
        default=None,
        description="When the call was answered: its outcome is recorded then, its end follows",
    )
    ended_at: datetime | None
    outcome: Outcome | None
    raw_result: str | None


class SmsReplyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt_id: int | None = Field(description="The SMS attempt it answers")
    phone_number: str
    text: str
    received_at: datetime
    opt_out: bool = Field(description="An opt-out: the number went on the global DNC list")
    late: bool = Field(
        description="Came when the contact no longer waited for it (after the SMS expiry, or "
        "after an earlier reply): kept, but it changed nothing but the DNC list"
    )


class ContactDetail(ContactOut):
    dialer_target: str = Field(description="The campaign's dialer target (dialer campaign)")
    attempts: list[AttemptOut]
    sms_replies: list[SmsReplyOut] = Field(description="What the customer sent back, oldest first")

    @classmethod
    def build(
        cls,
        contact: Contact,
        campaign: Campaign,
        attempts: list[Attempt],
        replies: Sequence[SmsReply] = (),
    ) -> ContactDetail:
        fields = ContactOut.model_validate(contact).model_dump(exclude={"state_label"})
        return cls(
            **fields,
            dialer_target=campaign.dialer_target,
            attempts=[AttemptOut.model_validate(a) for a in attempts],
            sms_replies=[SmsReplyOut.model_validate(r) for r in replies],
        )
