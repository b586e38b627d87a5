"""REST routes for reports and "why is it idle?"; every user may read them.

The status of every campaign lives at ``/campaign-status``, not under ``/campaigns/``, where
it would shadow a campaign named "status".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from outbound.api.deps import DbSession, Supervisor, Viewer, now_utc
from outbound.api.schemas import BigIdPath, CampaignRefPath
from outbound.contacts.schemas import AttemptOut
from outbound.reports import service
from outbound.reports.agents import agent_report, agents_out
from outbound.reports.schemas import (
    AgentReportQuery,
    AgentsReportOut,
    ReportOut,
    ReportQuery,
    StatusOut,
    TimelineBucketOut,
    TimelineQuery,
)

router = APIRouter(tags=["reports"])

CampaignRef = CampaignRefPath


@router.get("/campaign-status", response_model=list[StatusOut])
def all_statuses(_user: Viewer, session: DbSession) -> list[StatusOut]:
    """Every campaign's status: whether it dials now, and if not, why and until when."""
    now = now_utc()
    return [StatusOut.build(s, now=now) for s in service.all_statuses(session, now=now)]


@router.get("/campaigns/{campaign}/status", response_model=StatusOut)
def campaign_status(campaign: CampaignRef, _user: Viewer, session: DbSession) -> StatusOut:
    """Whether the campaign dials right now; if not, the first reason and when it ends.

    Reasons, in the order they are checked: stopped, no_contacts, all_closed,
    outside_window, capacity_full, no_contact_due, channel_down (no engine worker alive, or
    every contact due needs a channel that takes nothing now: the dialer, the SMS gateway).
    """
    now = now_utc()
    return StatusOut.build(service.campaign_status(session, campaign, now=now), now=now)


@router.get("/campaigns/{campaign}/report", response_model=ReportOut)
def campaign_report(
    campaign: CampaignRef,
    params: Annotated[ReportQuery, Query()],
    _user: Viewer,
    session: DbSession,
) -> ReportOut:
    """Live counts of contacts per state and of attempts per outcome."""
    found = service.campaign_report(session, campaign, since=params.since, now=now_utc())
    return ReportOut.build(found)


@router.get("/campaigns/{campaign}/report/timeline", response_model=list[TimelineBucketOut])
def campaign_timeline(
    campaign: CampaignRef,
    params: Annotated[TimelineQuery, Query()],
    _user: Viewer,
    session: DbSession,
) -> list[TimelineBucketOut]:
    """Attempt outcomes per UTC hour or day they were sent in, oldest first.

    At most a month of hours or a year of days at once; empty buckets are included.
    """
    buckets = service.campaign_timeline(
        session,
        campaign,
        bucket=params.bucket,
        since=params.since,
        until=params.until,
        now=now_utc(),
    )
    return [TimelineBucketOut.build(b) for b in buckets]


@router.get("/contacts/{contact_id}/attempts", response_model=list[AttemptOut])
def contact_attempts(contact_id: BigIdPath, _user: Viewer, session: DbSession) -> list[AttemptOut]:
    """A contact's attempts, first to last, with their outcomes."""
    return [AttemptOut.model_validate(a) for a in service.contact_attempts(session, contact_id)]


@router.get("/reports/agents", response_model=AgentsReportOut)
def agents_report(
    params: Annotated[AgentReportQuery, Query()], _user: Supervisor, session: DbSession
) -> AgentsReportOut:
    """Per agent over [since, until): calls handled, talk, wrap-up, ready, not-ready,
    reserved and logged-in time (seconds), and occupancy = (talk + wrap-up) / logged-in
    time; computed from the agents' state history. A period that ends before it starts is
    empty (all zero)."""
    until = params.until or now_utc()
    since = params.since or until - timedelta(hours=24)
    return agents_out(agent_report(session, since=since, until=until), since, until)
