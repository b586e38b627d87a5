"""Campaign look-ups shared by every domain that addresses a campaign."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outbound.campaigns.types import CampaignType
from outbound.errors import NotFound
from outbound.models import Campaign

CRM_PREFIX = "crm:"


def get_by_ref(session: Session, ref: str, *, for_update: bool = False) -> Campaign:
    """A campaign by numeric id, or by CRM id written ``crm:<crm_campaign_id>``."""
    query = select(Campaign)
    if ref.startswith(CRM_PREFIX):
        query = query.where(Campaign.crm_campaign_id == ref[len(CRM_PREFIX) :])
    elif ref.isascii() and ref.isdigit() and len(ref) <= 18:
        query = query.where(Campaign.id == int(ref))
    else:
        raise NotFound(
            f"campaign {ref!r} not found: address a campaign by its id or as crm:<crm id>"
        )
    if for_update:
        query = query.with_for_update()
    campaign = session.scalar(query)
    if campaign is None:
        raise NotFound(f"campaign {ref!r} not found")
    return campaign


def get_by_name_or_ref(session: Session, ref: str) -> Campaign:
    """By name (any case) first, then by id or ``crm:<id>``: what people type at the command
    line, where names are what they know."""
    named = session.scalar(select(Campaign).where(func.lower(Campaign.name) == ref.lower()))
    if named is not None:
        return named
    try:
        return get_by_ref(session, ref)
    except NotFound:
        raise NotFound(
            f"campaign {ref!r} not found: give its name, its id or crm:<crm id>"
        ) from None


def names_using(
    session: Session,
    *,
    strategy_id: int | None = None,
    schedule_id: int | None = None,
    campaign_type: CampaignType | None = None,
    running: bool | None = None,
) -> list[str]:
    """Names of the campaigns that use a strategy or a schedule, for "in use" messages."""
    query = select(Campaign.name)
    if running is not None:
        query = query.where(Campaign.running.is_(running))
    if strategy_id is not None:
        query = query.where(Campaign.strategy_id == strategy_id)
    if schedule_id is not None:
        query = query.where(Campaign.schedule_id == schedule_id)
    if campaign_type is not None:
        query = query.where(Campaign.type == campaign_type)
    return list(session.scalars(query.order_by(Campaign.name)))
