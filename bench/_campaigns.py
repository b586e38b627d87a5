"""What the benchmarks share: the minimal rows of a campaign (as tests/factories.py)."""

from __future__ import annotations

from outbound.campaigns.types import CampaignType
from outbound.db.engine import Database
from outbound.models import Campaign, Schedule, Strategy


def make_campaign(db: Database, name: str) -> int:
    """A stopped Agent campaign with its own strategy and schedule rows; returns its id."""
    with db.transaction() as session:
        strategy = Strategy(name=f"strategy-{name}", max_attempts=10)
        schedule = Schedule(name=f"schedule-{name}", time_zone="UTC")
        session.add_all([strategy, schedule])
        session.flush()
        campaign = Campaign(
            name=name,
            type=CampaignType.AGENT,
            strategy_id=strategy.id,
            schedule_id=schedule.id,
            dialer_target="sales-queue",
        )
        session.add(campaign)
        session.flush()
        return campaign.id
