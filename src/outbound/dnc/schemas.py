"""API shapes for the do-not-call lists."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field, StringConstraints

from outbound.api.schemas import MAX_BIG_ID, CampaignRefValue, NoNul, Strict, phone_schema
from outbound.models import DncEntry

MAX_BULK = 100_000

# Long enough for any raw number (28) to reach the service and be refused with a reason.
RawNumber = Annotated[str, StringConstraints(max_length=256)]
CampaignRef = Annotated[
    str,
    StringConstraints(min_length=1, max_length=140),
    Field(description="A campaign id, or crm:<crm_campaign_id>; absent for the global list"),
]
# In bodies the campaign is named as everywhere else: its id (a number, as in
# ``campaign_id`` of the answers and of webhooks) or ``crm:<crm_campaign_id>``.
BodyCampaign = Annotated[
    CampaignRefValue | None,
    Field(default=None, validation_alias=AliasChoices("campaign", "campaign_id")),
]
Note = Annotated[str, StringConstraints(max_length=255), NoNul]
# One number asked about or added alone: refused (422 with the reason) unless it can be read.
Number = Annotated[str, StringConstraints(max_length=256), phone_schema()]


class DncScope(StrEnum):
    GLOBAL = "global"
    CAMPAIGN = "campaign"


class DncCreate(Strict):
    number: Number
    campaign: BodyCampaign
    note: Note = ""


class DncBulkCreate(Strict):
    numbers: Annotated[list[RawNumber], Field(max_length=MAX_BULK)]
    campaign: BodyCampaign
    note: Note = ""


class DncListQuery(Strict):
    """Query string of the DNC listing; an unknown parameter is a 422."""

    campaign: Annotated[CampaignRef | None, Field(description="Only this campaign's list")] = None
    scope: Annotated[DncScope | None, Field(description="Only global or campaign lists")] = None
    q: Annotated[str | None, Field(min_length=1, max_length=28, description="Number start")] = None
    after: Annotated[int | None, Field(ge=0, le=MAX_BIG_ID, description="next_after of a page")] = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class DncCheckQuery(Strict):
    number: Number
    campaign: Annotated[CampaignRef | None, Field(description="Also this campaign's list")] = None


class DncOut(BaseModel):
    id: int
    number: str = Field(description="E.164")
    raw: str
    scope: DncScope
    campaign_id: int | None
    source: str
    note: str
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, entry: DncEntry) -> DncOut:
        return cls(
            id=entry.id,
            number=entry.number_e164,
            raw=entry.raw,
            scope=DncScope.GLOBAL if entry.campaign_id is None else DncScope.CAMPAIGN,
            campaign_id=entry.campaign_id,
            source=entry.source,
            note=entry.note,
            created_at=entry.created_at,
            created_by=entry.created_by,
        )


class DncRejected(BaseModel):
    index: int = Field(description="Position in the request's list, from 0")
    number: str
    reason: str


class DncBulkResult(BaseModel):
    added: int
    already_listed: int = Field(description="Already on this list, or repeated in the request")
    rejected: list[DncRejected]


class DncCheckResult(BaseModel):
    number: str = Field(description="The number checked, in E.164")
    listed: bool
    entries: list[DncOut]
