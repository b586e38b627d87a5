"""REST route for campaign forecasts: small campaigns, run while the request waits.

Larger campaigns are forecast with ``outbound simulate``, which runs the same code.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from outbound.api.deps import DbSession, Supervisor, get_database, now_utc
from outbound.api.schemas import CampaignRefPath
from outbound.campaigns.repository import get_by_ref
from outbound.db.engine import Database
from outbound.engine.forecast import forecast
from outbound.engine.schemas import ForecastIn, ForecastOut, forecast_out

router = APIRouter(prefix="/campaigns", tags=["forecasts"])

# Open contacts the API forecasts while the request waits (a few seconds at most).
MAX_SYNC_CONTACTS = 5000

CampaignRef = CampaignRefPath


@router.post("/{campaign}/forecast", response_model=ForecastOut)
def forecast_campaign(
    campaign: CampaignRef,
    _user: Supervisor,
    session: DbSession,
    db: Annotated[Database, Depends(get_database)],
    body: Annotated[ForecastIn | None, Body()] = None,
) -> ForecastOut:
    """Run the campaign's strategy and schedule over its open contacts on the simulator and a
    virtual clock, in a scratch database: projected completion, contact rate, attempts per
    contact. The live data is only read. At most 5,000 open contacts (409 beyond)."""
    options = body or ForecastIn()
    found = get_by_ref(session, campaign)
    result = forecast(
        db,
        found.id,
        now=now_utc(),
        days=options.days,
        seed=options.seed,
        max_contacts=MAX_SYNC_CONTACTS,
    )
    return forecast_out(result)
