"""What the engine needs to know about each started campaign, loaded in a few queries.

Reloaded every few seconds, so an edit to a campaign, its strategy or its schedule reaches
the engine quickly without a query per contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from outbound.campaigns.types import CampaignType, ContactOrder, DialingMode, paced_by_agents
from outbound.engine.decisions import Plan, PlanAttempt
from outbound.models import Campaign, Schedule, Strategy, StrategyAttempt
from outbound.schedules.calendar import Calendar
from outbound.strategies.service import current_rules


@dataclass(frozen=True)
class CampaignRuntime:
    id: int
    name: str
    type: CampaignType
    target: str
    sms_template: str
    order: ContactOrder
    fresh_first: bool
    max_concurrent: int
    calls_per_second: float
    priority: int
    plan: Plan
    calendar: Calendar
    zone: str
    contact_local: bool
    dialing_mode: DialingMode = DialingMode.FIXED
    lines_per_agent: float = 1.0
    started_at: datetime | None = None

    @property
    def agent_paced(self) -> bool:
        """Dials only for ready agents: an Agent campaign in preview or progressive mode."""
        return paced_by_agents(self.type, self.dialing_mode)


def plan_of(strategy: Strategy) -> Plan:
    attempts: Sequence[StrategyAttempt] = sorted(strategy.attempts, key=lambda a: a.position)
    position_of = {a.id: a.position for a in attempts}
    return Plan(
        tuple(
            PlanAttempt(
                position=a.position,
                channel=a.channel,
                phone_slot=a.phone_slot,
                sms_mode=a.sms_mode,
                sms_expiry_minutes=a.sms_expiry_minutes,
                sms_template=a.sms_template,
                rules=current_rules(a, position_of),
            )
            for a in attempts
        ),
        max_attempts=strategy.max_attempts,
    )


def calendar_of(schedule: Schedule) -> Calendar:
    return Calendar.build(
        ((w.weekday, w.start_minute, w.end_minute) for w in schedule.windows),
        (b.day for b in schedule.blackouts),
    )


def load_running(
    session: Session, *, campaign_ids: Sequence[int] | None = None
) -> list[CampaignRuntime]:
    """Every started campaign (or the given ones), with its plan and calendar."""
    query = select(Campaign).order_by(Campaign.id)
    query = (
        query.where(Campaign.id.in_(campaign_ids))
        if campaign_ids
        else query.where(Campaign.running.is_(True))
    )
    campaigns = list(session.scalars(query))
    strategies = {
        s.id: s
        for s in session.scalars(
            select(Strategy)
            .where(Strategy.id.in_({c.strategy_id for c in campaigns}))
            .options(selectinload(Strategy.attempts).selectinload(StrategyAttempt.rules))
        )
    }
    schedules = {
        s.id: s
        for s in session.scalars(
            select(Schedule)
            .where(Schedule.id.in_({c.schedule_id for c in campaigns}))
            .options(selectinload(Schedule.windows), selectinload(Schedule.blackouts))
        )
    }
    # Campaigns often share a strategy and a schedule: build each plan and calendar once.
    plans = {strategy_id: plan_of(s) for strategy_id, s in strategies.items()}
    calendars = {schedule_id: calendar_of(s) for schedule_id, s in schedules.items()}
    return [
        CampaignRuntime(
            id=c.id,
            name=c.name,
            type=c.type,
            target=c.dialer_target,
            sms_template=c.sms_template,
            order=c.contact_order,
            fresh_first=c.fresh_first,
            max_concurrent=c.max_concurrent_calls,
            calls_per_second=c.max_calls_per_second,
            priority=c.priority,
            plan=plans[c.strategy_id],
            calendar=calendars[c.schedule_id],
            zone=schedules[c.schedule_id].time_zone,
            contact_local=schedules[c.schedule_id].contact_local_time,
            dialing_mode=c.dialing_mode,
            lines_per_agent=c.lines_per_agent,
            started_at=c.started_at,
        )
        for c in campaigns
    ]
