"""API shapes of a campaign forecast."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from outbound.api.schemas import Strict
from outbound.contacts.states import ContactState
from outbound.engine.forecast import Forecast


class ForecastIn(Strict):
    days: Annotated[int, Field(ge=1, le=366, description="Horizon in simulated days")] = 30
    # 2**53 - 1: every JSON parser reads it exactly (a larger one may round past the bound).
    seed: Annotated[int, Field(ge=0, le=2**53 - 1)] | None = Field(
        default=None, description="Seed of the simulator, for repeatable forecasts"
    )


class ForecastOut(BaseModel):
    campaign: str
    contacts: int = Field(description="Open (pending) contacts the forecast ran over")
    start: datetime
    horizon_days: int
    completed_at: datetime | None = Field(
        description="When the last contact would close; null: not within the horizon"
    )
    contact_rate: float = Field(description="Reached (connected or SMS replied) / contacts")
    reached: int
    attempts: int
    attempts_per_contact: float
    still_open: int
    states: dict[ContactState, int] = Field(description="Contacts per final state")
    simulated_seconds: float
    wall_seconds: float


def forecast_out(result: Forecast) -> ForecastOut:
    return ForecastOut(
        campaign=result.campaign,
        contacts=result.contacts,
        start=result.start,
        horizon_days=result.horizon.days,
        completed_at=result.completed_at,
        contact_rate=result.contact_rate,
        reached=result.reached,
        attempts=result.attempts,
        attempts_per_contact=result.attempts_per_contact,
        still_open=result.still_open,
        states=result.states,
        simulated_seconds=result.simulated.total_seconds(),
        wall_seconds=result.wall_seconds,
    )
