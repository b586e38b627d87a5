"""API shapes for reports and campaign status."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field

from outbound.api.schemas import Strict
from outbound.contacts.states import LABELS
from outbound.reports.idle import IdleReason
from outbound.reports.service import Report, Status, TimelineBucket
from outbound.reports.timeline import Bucket


class ReportQuery(Strict):
    since: AwareDatetime | None = Field(
        None, description="Count only attempts sent at or after this instant (with a zone)"
    )


class TimelineQuery(Strict):
    bucket: Bucket = Field(Bucket.HOUR, description="UTC hours or UTC days")
    since: AwareDatetime | None = Field(
        None,
        description="Start, rounded down to its bucket; default: 24 hours (hour) or 30 days "
        "(day) before until",
    )
    until: AwareDatetime | None = Field(None, description="End (exclusive); default: now")


class StatusOut(BaseModel):
    campaign_id: int
    name: str
    running: bool
    dialling: bool = Field(description="Whether the engine may start attempts right now")
    reason: IdleReason | None = Field(
        description="Why nothing is being dialled now; null while dialling"
    )
    detail: str = Field(description="The reason, or what is going on, as a sentence")
    until: datetime | None = Field(
        description="When the reason ends, if known (next window opening, next contact due)"
    )
    in_flight: int = Field(description="Attempts with a channel, waiting for their result")
    max_concurrent: int
    pending_due: int = Field(description="Pending contacts whose attempt time has come")
    next_due_at: datetime | None = Field(
        description="Earliest time an open contact needs the engine (attempt or SMS expiry)"
    )
    checked_at: datetime

    @classmethod
    def build(cls, status: Status, *, now: datetime) -> StatusOut:
        return cls(
            campaign_id=status.campaign_id,
            name=status.name,
            running=status.running,
            dialling=status.verdict.dialling,
            reason=status.verdict.reason,
            detail=status.verdict.detail,
            until=status.verdict.until,
            in_flight=status.in_flight,
            max_concurrent=status.max_concurrent,
            pending_due=status.pending_due,
            next_due_at=status.next_due_at,
            checked_at=now,
        )


class AbandonRateOut(BaseModel):
    window: str = Field(description="1h, 24h or 30d, ending now")
    abandons: int
    live_answers: int
    rate: float | None = Field(description="abandons / live_answers; null with no live answer")


class MachinesOut(BaseModel):
    count: int = Field(description="Attempts ended as answering_machine (since `since`)")
    detected: int = Field(description="Of them, found by detection on live calls")
    median_detection_ms: int | None = Field(
        description="Median time detection took on the last 200 calls listened to (ms of "
        "audio from the answer to the verdict): how long answered calls wait for it"
    )
    estimated_humans_as_machines: float = Field(
        description="ESTIMATE of people taken for machines (and hung up on or left a "
        "message): detected x humans_as_machine_rate. Ofcom asks that they be counted "
        "with the abandoned calls"
    )
    humans_as_machine_rate: float = Field(
        description="Share of people taken for machines measured by bench/amd.py"
    )
    rate_basis: str = Field(description="Which measurement the rate comes from")


class ReportOut(BaseModel):
    campaign_id: int
    since: datetime | None
    counts_by_state: dict[str, int] = Field(description="Contacts per state, every state listed")
    state_labels: dict[str, str] = Field(description="Each state as the product shows it")
    counts_by_outcome: dict[str, int] = Field(
        description="Attempts per outcome (since `since`); in_progress: no result yet, "
        "no_result: ended without one (dangling)"
    )
    attempts_total: int
    contacts_total: int
    open: int
    closed: int
    attempts_per_contact: float | None = Field(
        description="Average attempts per closed contact; null before any closes"
    )
    connect_rate: float | None = Field(description="Connected contacts / closed contacts")
    in_flight: int
    abandon_rates: list[AbandonRateOut] = Field(
        description="Abandoned customers (answered, no agent free) / live answers over the "
        "last 1h, 24h and 30d (whatever `since` says)"
    )
    handed_to_agents: int = Field(description="Answered customers handed to an agent (since)")
    average_speed_of_connection: float | None = Field(
        description="Seconds from a customer's answer to its hand-over to the agent, on "
        "average (since); null before any hand-over"
    )
    machines: MachinesOut = Field(
        description="Answering machines, and the estimate of people taken for machines "
        "(read with the abandon rates)"
    )

    @classmethod
    def build(cls, report: Report) -> ReportOut:
        return cls(
            campaign_id=report.campaign_id,
            since=report.since,
            counts_by_state={s.value: n for s, n in report.counts_by_state.items()},
            state_labels={s.value: LABELS[s] for s in report.counts_by_state},
            counts_by_outcome=report.counts_by_outcome,
            attempts_total=report.attempts_total,
            contacts_total=report.contacts_total,
            open=report.open,
            closed=report.closed,
            attempts_per_contact=report.attempts_per_contact,
            connect_rate=report.connect_rate,
            in_flight=report.in_flight,
            abandon_rates=[
                AbandonRateOut(
                    window=r.window, abandons=r.abandons, live_answers=r.live_answers, rate=r.rate
                )
                for r in report.abandon_rates
            ],
            machines=MachinesOut(
                count=report.machines.count,
                detected=report.machines.detected,
                median_detection_ms=report.machines.median_detection_ms,
                estimated_humans_as_machines=report.machines.estimated_humans,
                humans_as_machine_rate=report.machines.humans_as_machine_rate,
                rate_basis=report.machines.rate_basis,
            ),
            handed_to_agents=report.connection.handed,
            average_speed_of_connection=report.connection.average_seconds,
        )


class TimelineBucketOut(BaseModel):
    start: datetime = Field(description="Start of the UTC hour or day")
    outcomes: dict[str, int] = Field(description="Attempts sent in it, per outcome")
    total: int

    @classmethod
    def build(cls, bucket: TimelineBucket) -> TimelineBucketOut:
        return cls(
            start=bucket.start, outcomes=bucket.outcomes, total=sum(bucket.outcomes.values())
        )


def _written_date_time(value: object) -> object:
    """An instant written as RFC 3339 (``2026-12-07T09:00:00Z``), never a bare number
    (which pydantic would read as seconds since 1970)."""
    if not isinstance(value, str) or not re.match(r"^\s*\d{4}-\d{2}-\d{2}", value):
        raise ValueError("give a date-time with its zone, e.g. 2026-12-07T09:00:00Z")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_written_date_time)]


class AgentReportQuery(Strict):
    since: Instant | None = Field(
        None, description="Start of the period (with a zone); default: 24 hours before until"
    )
    until: Instant | None = Field(None, description="End (exclusive); default: now")


class AgentReportOut(BaseModel):
    agent_id: int
    username: str
    calls_handled: int = Field(description="Calls the agent took (moves into talking)")
    talk_seconds: float
    wrap_up_seconds: float
    ready_seconds: float
    not_ready_seconds: float
    reserved_seconds: float
    logged_in_seconds: float = Field(description="Time in any state but logged out")
    occupancy: float | None = Field(
        description="(talk + wrap-up) / logged-in time, 0-1; null when never logged in"
    )


class AgentsReportOut(BaseModel):
    since: datetime
    until: datetime
    agents: list[AgentReportOut]
