"""What the engine needs to know about each started campaign, loaded in a few queries.

Reloaded every few seconds, so an edit to a campaign, its strategy or its schedule reaches
the engine quickly without a query per contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from outbound.amd.schemas import AmdSettings
from outbound.amd.schemas import stored as stored_amd
from outbound.campaigns.types import (
    CallbackAfterGrace,
    CampaignType,
    ContactOrder,
    DialingMode,
    paced_by_agents,
)
from outbound.engine.decisions import Plan, PlanAttempt
from outbound.models import Campaign, Schedule, Strategy, StrategyAttempt
from outbound.schedules.calendar import Calendar
from outbound.strategies.service import current_rules

# Before every due time: personal callbacks held "until" it are held for good.
EVER = datetime(1970, 1, 1, tzinfo=UTC)


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
    abandon_message: str = ""
    opt_out_digit: str = ""
    # Answering-machine detection settings when the campaign has it on (voice calls).
    amd: AmdSettings | None = field(default=None, hash=False, compare=False)
    callback_grace: timedelta = timedelta(minutes=15)
    callback_wait: bool = False  # a personal callback waits for its agent after the grace

    @property
    def previews(self) -> bool:
        """Preview: dials only the contacts agents chose to call."""
        return self.agent_paced and self.dialing_mode is DialingMode.PREVIEW

    def held_until(self, now: datetime) -> datetime | None:
        """Personal callbacks due after this are left to their agent; None: none is held
        (a campaign that reserves no agent has no personal callbacks)."""
        if not self.agent_paced:
            return None
        return EVER if self.callback_wait else now - self.callback_grace

    @property
    def agent_paced(self) -> bool:
        """Dials only for ready agents: an Agent campaign in preview or progressive mode."""
        return paced_by_agents(self.type, self.dialing_mode)

    @property
    def reserves_agents(self) -> bool:
        """Progressive: each call is dialled for an agent reserved for it."""
        return self.agent_paced and self.dialing_mode is DialingMode.PROGRESSIVE


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
            abandon_message=c.abandon_message,
            opt_out_digit=c.opt_out_digit,
            amd=_amd_of(c.amd),
            callback_grace=timedelta(minutes=c.callback_grace_minutes),
            callback_wait=c.callback_after_grace is CallbackAfterGrace.WAIT,
        )
        for c in campaigns
    ]


def _amd_of(value: dict[str, Any] | None) -> AmdSettings | None:
    settings = stored_amd(value)
    return settings if settings.enabled else None
