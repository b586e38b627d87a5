"""What an agent desktop gets for a call: the attempt, the contact, the campaign's script."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from outbound.campaigns.schemas import FormField
from outbound.campaigns.types import CampaignType
from outbound.contacts.states import ContactState
from outbound.models import PARAM_SLOTS, PHONE_SLOTS, Attempt, Campaign, Contact


class PopPhone(BaseModel):
    slot: int
    number: str = Field(description="As uploaded")
    e164: str | None


class PopParam(BaseModel):
    slot: int = Field(description="Business Parameter 1-12")
    value: str


class PopContact(BaseModel):
    id: int
    crm_contact_id: str | None
    state: ContactState
    phones: list[PopPhone]
    params: list[PopParam] = Field(description="The business parameters that have a value")


class PopCampaign(BaseModel):
    id: int
    name: str
    crm_campaign_id: str | None
    type: CampaignType
    dialer_target: str
    agent_script: str
    agent_form: list[FormField]


class PopAttempt(BaseModel):
    id: int
    number: int = Field(description="1st, 2nd, ... attempt of this contact")
    phone_number: str
    phone_slot: int
    sent_at: datetime
    ended_at: datetime | None
    outcome: str | None
    in_progress: bool = Field(description="No result yet: the call is still up or ringing")


class ScreenPop(BaseModel):
    attempt: PopAttempt
    contact: PopContact
    campaign: PopCampaign

    @classmethod
    def build(cls, attempt: Attempt, contact: Contact, campaign: Campaign) -> ScreenPop:
        phones = [
            PopPhone(slot=i, number=raw, e164=getattr(contact, f"phone{i}_e164"))
            for i in PHONE_SLOTS
            if (raw := getattr(contact, f"phone{i}")) is not None
        ]
        params = [
            PopParam(slot=i, value=value)
            for i in PARAM_SLOTS
            if (value := getattr(contact, f"param{i}")) is not None
        ]
        return cls(
            attempt=PopAttempt(
                id=attempt.id,
                number=attempt.number,
                phone_number=attempt.phone_number,
                phone_slot=attempt.phone_slot,
                sent_at=attempt.sent_at,
                ended_at=attempt.ended_at,
                outcome=attempt.outcome.value if attempt.outcome else None,
                in_progress=attempt.ended_at is None,
            ),
            contact=PopContact(
                id=contact.id,
                crm_contact_id=contact.crm_contact_id,
                state=contact.state,
                phones=phones,
                params=params,
            ),
            campaign=PopCampaign(
                id=campaign.id,
                name=campaign.name,
                crm_campaign_id=campaign.crm_campaign_id,
                type=campaign.type,
                dialer_target=campaign.dialer_target,
                agent_script=campaign.agent_script,
                agent_form=[FormField.model_validate(f) for f in campaign.agent_form],
            ),
        )
