"""REST routes for campaigns, addressed by id ("12") or by CRM id ("crm:ABC").

Any user reads; a supervisor starts and stops; an admin creates, changes and deletes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from outbound.api.deps import Admin, DbSession, Supervisor, Viewer, now_utc
from outbound.api.schemas import CampaignRefPath
from outbound.campaigns import service
from outbound.campaigns.schemas import CampaignCreate, CampaignOut, CampaignUpdate
from outbound.campaigns.types import CampaignType

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

CampaignRef = CampaignRefPath


@router.get("", response_model=list[CampaignOut])
def list_campaigns(
    _user: Viewer,
    session: DbSession,
    running: Annotated[bool | None, Query(description="Only running (or stopped) ones")] = None,
    type: Annotated[CampaignType | None, Query(description="Only this type")] = None,
) -> list[CampaignOut]:
    found = service.list_campaigns(session, running=running, kind=type)
    return [CampaignOut.model_validate(c) for c in found]


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignCreate, _admin: Admin, session: DbSession) -> CampaignOut:
    """Create a campaign; it starts out stopped."""
    return CampaignOut.model_validate(service.create_campaign(session, body, now=now_utc()))


@router.get("/{campaign}", response_model=CampaignOut)
def get_campaign(campaign: CampaignRef, _user: Viewer, session: DbSession) -> CampaignOut:
    return CampaignOut.model_validate(service.get_campaign(session, campaign))


@router.patch("/{campaign}", response_model=CampaignOut)
def update_campaign(
    campaign: CampaignRef, body: CampaignUpdate, _admin: Admin, session: DbSession
) -> CampaignOut:
    """Change the fields given. The type never changes; the strategy only while stopped."""
    found = service.get_campaign(session, campaign, for_update=True)
    return CampaignOut.model_validate(service.update_campaign(session, found, body, now=now_utc()))


@router.delete("/{campaign}", status_code=status.HTTP_204_NO_CONTENT)
def delete_campaign(campaign: CampaignRef, _admin: Admin, session: DbSession) -> Response:
    """Delete a stopped campaign together with its contacts and their history."""
    service.delete_campaign(session, service.get_campaign(session, campaign, for_update=True))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{campaign}/start", response_model=CampaignOut)
def start_campaign(campaign: CampaignRef, _user: Supervisor, session: DbSession) -> CampaignOut:
    """Start dialling inside the schedule; starting a running campaign changes nothing."""
    found = service.get_campaign(session, campaign, for_update=True)
    return CampaignOut.model_validate(service.start_campaign(session, found, now=now_utc()))


@router.post("/{campaign}/stop", response_model=CampaignOut)
def stop_campaign(campaign: CampaignRef, _user: Supervisor, session: DbSession) -> CampaignOut:
    """Send nothing new to the dialer; calls already handed over finish. Idempotent."""
    found = service.get_campaign(session, campaign, for_update=True)
    return CampaignOut.model_validate(service.stop_campaign(session, found, now=now_utc()))
